"""diffusion/studies/paired_study.py on a tiny run: the JSON it writes and the grid (2 images, 1 step, 3 seed sets).

The generation is real; the score is replaced by the images' mean pixel (the FID of 2 images costs
minutes of sqrtm and is tested with diffusion.metrics.fid_kid), since what is checked here is the study's
pairing and bookkeeping.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from diffusion.studies import paired_study


def _mean_pixel_score(images, reference, kid_subsets=50):
    return {"n": int(images.shape[0]), "fid": float(images.mean()), "kid_mean": 0.0, "kid_std": 0.0}


def test_paired_study_writes_both_spreads_and_the_grid(tmp_path, monkeypatch):
    import diffusion.studies.offline_eval

    monkeypatch.setattr(diffusion.studies.offline_eval, "score", _mean_pixel_score)
    out, grid = tmp_path / "paired.json", tmp_path / "grid.png"
    argv = [
        "--profile",
        "ideal",
        "--emulation",
        "exact",
        "--n",
        "2",
        "--batch",
        "2",
        "--sets",
        "3",
        "--steps",
        "1",
        "--out",
        str(out),
        "--grid",
        str(grid),
    ]
    assert paired_study.main(argv) == 0
    summary = json.loads(out.read_text())
    assert summary["n"] == 2 and summary["seeds"] == [0, 100_000, 200_000] and summary["noise"] == "torch"
    # ideal computes exactly the software network on the same noise: every paired difference is 0
    np.testing.assert_allclose(summary["paired_differences"], 0.0, atol=1e-9)
    assert summary["unpaired_std"] > 0 and len(summary["rows"]) == 6
    assert all(row["n"] == 2 and "kid_std" in row for row in summary["rows"])
    assert Image.open(grid).size[0] > 0


def test_paired_study_needs_three_sets(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        paired_study.main(["--sets", "2", "--out", str(tmp_path / "x.json")])
    assert info.value.code == 2 and "--sets must be at least 3 for a spread, got 2" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
