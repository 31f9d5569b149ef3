"""Tests of diffusion/studies/figures/fid_energy.py: FID against energy per image from the FID table."""

import pytest

from diffusion.metrics import large_n_fids
from diffusion.studies.figures import fid_energy

REF = {"dataset": "fashion-mnist", "split": "test", "n": 10000}
SHA = "ab" * 32


def _table(tmp_path):
    path = tmp_path / "table.json"

    def add(profile, fid, seed, batch, energy=None, n=500):
        row = {"profile": profile, "n": n, "steps": 10, "sampler": "ddpm", "seed": seed, "batch": batch, "fid": fid}
        large_n_fids.record({**row, "energy_per_image_j": energy}, SHA, 0.0, REF, path)

    add("software", 60.0, 0, 50)
    add("software", 62.0, 500, 25)
    add("software", 59.0, 0, 100)
    add("vcma-default", 90.0, 0, 50, 8.8e-5)
    add("vcma-default", 92.0, 500, 25, 8.8e-5)
    add("vcma-default/statistical", 91.0, 0, 50, 8.8e-5)
    add("vcma-precise", 66.0, 0, 50, 1.1e-3)
    add("vcma-lowbit", 270.0, 0, 64, n=128)  # another N: never drawn beside the N = 500 points
    return path


def test_rows_hold_each_chip_against_software_on_the_same_seed_sets(tmp_path):
    path = _table(tmp_path)
    entries = large_n_fids.load(path)
    assert fid_energy.default_setting(entries) == ("ddpm", 10, 500)
    rows = {r["label"]: r for r in fid_energy.rows_at(entries, "ddpm", 10, 500, path)}
    assert set(rows) == {"software", "vcma-default", "vcma-default/statistical", "vcma-precise"}
    default = rows["vcma-default"]
    assert default["fid"] == pytest.approx(91.0) and default["sets"] == 2
    assert default["energy_per_image_j"] == pytest.approx(8.8e-5)
    # paired: software's mean over seed sets (0, 50) and (500, 25) only, not its third set
    assert (default["software_fid"], default["software_basis"]) == (pytest.approx(61.0), "paired: same seeds and noise")
    assert rows["vcma-precise"]["software_fid"] == pytest.approx(60.0)
    assert rows["software"]["fid"] == pytest.approx(60.333, abs=1e-3) and rows["software"]["sd"] == pytest.approx(
        1.528, abs=1e-3
    )


def test_the_figure_draws_one_point_per_chip_and_software_as_a_line(tmp_path):
    path = _table(tmp_path)
    rows = fid_energy.rows_at(large_n_fids.load(path), "ddpm", 10, 500, path)
    drawing = fid_energy.figure(rows, "ddpm", 10, 500, {SHA[:16]: "default"})
    assert drawing.startswith("<svg") and "FID@500 vs energy per image" in drawing
    assert drawing.count("<circle") == 2  # vcma-default (exact; its statistical twin is the same chip) and vcma-precise
    assert "software, default (GPU; FID 60.3)" in drawing and "stroke-dasharray" in drawing
    text = fid_energy.table(rows, "ddpm", 10, 500, {SHA[:16]: "default"})
    assert "| default | vcma-default | exact | 500 | 0, 50; 500, 25 | 91.00 |" in text
    assert "+49.2 % (paired: same seeds and noise)" in text and "| 88.0 |" in text


def test_main_writes_both_files_and_a_table_without_chip_entries_is_refused(tmp_path):
    path = _table(tmp_path)
    fid_energy.main(["--table", str(path), "--out", str(tmp_path / "out")])
    assert (tmp_path / "out" / "fid_vs_energy.svg").is_file() and (tmp_path / "out" / "fid_vs_energy.md").is_file()
    empty = tmp_path / "empty.json"
    large_n_fids.write([], empty)
    with pytest.raises(SystemExit, match="no chip entries"):
        fid_energy.main(["--table", str(empty), "--out", str(tmp_path / "out")])
