"""Tests of diffusion/studies/figures/sweep_pareto.py: a sweep's FID against energy with its front, for the docs."""

import json

import pytest

from diffusion.studies.figures import sweep_pareto


def _view():
    def point(index, bits, fid, energy, status="succeeded"):
        results = {"n": 200, "fid": fid, "kid_mean": 0.05, "kid_std": 0.004, "energy_per_image_j": energy}
        return {"index": index, "values": {"crossbar.adc_bits": bits}, "status": status, "results": results}

    return {
        "request": {
            "profile": "vcma-default",
            "emulation": "statistical",
            "sampler": "ddpm",
            "steps": 10,
            "seed": 0,
            "num_images": 200,
            "noise": "torch",
        },
        "points": [
            point(0, 4, 150.0, 4e-5),
            point(1, 6, 100.0, 6e-5),
            point(2, 8, 95.0, 9e-5),
            point(3, 10, 120.0, 2e-4, "failed"),
        ],
        "pareto": [0, 1, 2],
    }


def test_rows_keep_succeeded_points_by_energy_and_mark_the_front():
    rows = sweep_pareto.rows(_view())
    assert [r["index"] for r in rows] == [0, 1, 2] and all(r["pareto"] for r in rows)


def test_figure_and_table(tmp_path):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(_view()))
    sweep_pareto.main(["--sweep", str(path), "--out", str(tmp_path), "--name", "s"])
    drawing = (tmp_path / "s.svg").read_text()
    assert (
        "FID@200 vs energy per image; points labelled (adc_bits)" in drawing
        and drawing.count("<circle") == 3
        and "Pareto front" in drawing
    )
    assert "(6)" in drawing
    text = (tmp_path / "s.md").read_text()
    assert "| 1 | adc_bits 6 | 200 | 100.0 | 0.0500 ± 0.0040 | 60.0 | yes |" in text and "| 3 |" not in text


def test_a_sweep_without_results_is_refused():
    view = {**_view(), "points": []}
    with pytest.raises(SystemExit, match="no succeeded point"):
        sweep_pareto.figure(view)
