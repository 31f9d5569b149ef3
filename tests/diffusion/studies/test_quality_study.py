"""Tests of diffusion/studies/quality_study.py and of the docs scripts that draw its figures and panels."""

import json

import numpy as np
import pytest

from device import profiles
from diffusion.studies import quality_study


def test_every_study_variant_builds_a_valid_profile():
    labels = [v.label for v in quality_study.VARIANTS]
    assert len(labels) == len(set(labels))
    for v in quality_study.VARIANTS:
        profile = v.profile()
        if v.base == "software":
            assert profile == "software"
            continue
        assert isinstance(profile, profiles.HardwareProfile)
        if v.overrides:
            assert profile.hash != profiles.get_profile(v.base).hash, v.label
    assert quality_study.variant("adc-4").profile().crossbar.adc_bits == 4
    assert quality_study.variant("sigma-20").profile().variation.tmr_rel == 0.20
    assert quality_study.variant("open-loop").profile().crossbar.weight_mapping == "sign_magnitude"
    assert quality_study.variant("software-eps-0.04").profile() == "software"  # software with an injected ε error
    with pytest.raises(KeyError, match="unknown variant"):
        quality_study.variant("nope")


def test_study_figures_render_from_rows(tmp_path):
    from diffusion.studies.figures import quality as module

    def row(label, group, fid, x=None, eps=0.1):
        v = quality_study.variant(label)
        return {
            "label": label,
            "group": group,
            "x": x,
            "base": v.base,
            "overrides": v.overrides,
            "fid": fid,
            "kid_mean": 0.01,
            "kid_std": 0.001,
            "images_per_second": 1.0,
            "energy_per_image_j": 1e-4,
            "epsilon_error": None if label == "software" else {"mean": eps},
            "model_sha256": "ab" * 32,
            "n": 200,
            "sampler": "ddpm",
            "steps": 10,
        }

    rows = [
        row("software", "baseline", 50.0),
        row("vcma-default", "preset", 53.0),
        row("adc-4", "adc_bits", 90.0, 4, 0.4),
        row("adc-6", "adc_bits", 60.0, 6, 0.2),
        row("sigma-0", "sigma", 52.0, 0.0),
        row("sigma-20", "sigma", 70.0, 0.2),
    ]
    results = tmp_path / "rows.jsonl"
    results.write_text("\n".join(json.dumps(r) for r in rows))
    eps_rows = [
        {
            "label": label,
            "base": "vcma-default",
            "overrides": quality_study.variant(label).overrides,
            "epsilon_error": {"mean": mean, "per_timestep": {"50": 2 * mean, "950": mean / 2}},
        }
        for label, mean in (("no-ir-drop", 0.04), ("vcma-default", 0.08))
    ]
    (tmp_path / "eps.jsonl").write_text("\n".join(json.dumps(r) for r in eps_rows))
    headline = [
        row("software", "baseline", 60.0),
        row("vcma-default", "preset", 80.0),
        row("rng-only", "rng", 62.0),
        {**row("software-eps-0.04", "injected", 63.0, 0.04), "epsilon_error": None},
    ]
    (tmp_path / "head.jsonl").write_text("\n".join(json.dumps(r) for r in headline))
    module.main(
        [
            "--results",
            str(results),
            "--out",
            str(tmp_path),
            "--epsilon",
            str(tmp_path / "eps.jsonl"),
            "--headline",
            str(tmp_path / "head.jsonl"),
        ]
    )
    figure = (tmp_path / "fid_vs_epsilon_error.svg").read_text()
    assert ">vcma-default</text>" in figure and ">rng-only</text>" in figure  # chip points, labelled
    assert figure.count("<path") == 1 and "software FID + 10 %" in figure  # the injected-error curve
    assert "| software-eps-0.04 | injected |" in (tmp_path / "headline.md").read_text()
    ablation = (tmp_path / "epsilon_ablation.md").read_text().splitlines()
    assert ablation[2].startswith("| vcma-default |") and "| no-ir-drop |" in ablation[3] and "-50 %" in ablation[3]
    svg = (tmp_path / "fid_vs_adc_bits_and_sigma.svg").read_text()
    assert svg.startswith("<svg") and "software FID 50.0" in svg and svg.count("<circle") == 2 * (3 + 3)
    table = (tmp_path / "quality_study.md").read_text()
    assert "| adc-4 | adc_bits |" in table and "+80.0 %" in table
    assert quality_study.load_rows(results)[1]["label"] == "vcma-default"


def _study_images(images_dir, label, n, steps):
    (kept,) = images_dir.glob(f"{label}-*-ddpm{steps}-n{n}-seed0-b2.npz")
    with np.load(kept) as data:
        return data["images"], kept


def test_only_presets_as_shipped_go_into_the_fid_table_each_under_its_emulation_mode():
    assert quality_study.table_label(quality_study.variant("software")) == "software"
    assert quality_study.table_label(quality_study.variant("vcma-default")) == "vcma-default"
    assert quality_study.table_label(quality_study.variant("vcma-default-statistical")) == "vcma-default/statistical"
    assert quality_study.table_label(quality_study.variant("adc-4")) is None  # a modified preset
    assert quality_study.table_label(quality_study.variant("software-eps-0.04")) is None  # an injected ε error


def test_noise_torch_pairs_every_variant_on_one_stream_and_keeps_its_own_files():
    import argparse

    chip, software = quality_study.variant("vcma-default"), quality_study.variant("software")
    protocol = argparse.Namespace(noise="protocol", sampler="ddpm", steps=10, n=500, seed=0, batch=50)
    paired = argparse.Namespace(**{**vars(protocol), "noise": "torch"})
    assert (quality_study.variant_noise(chip, protocol), quality_study.variant_noise(software, protocol)) == (
        "mtj",
        "torch",
    )
    assert (quality_study.variant_noise(chip, paired), quality_study.variant_noise(software, paired)) == (
        "torch",
        "torch",
    )
    assert quality_study._key("vcma-default", "ab" * 32, protocol) != quality_study._key(
        "vcma-default", "ab" * 32, paired
    )
    row = {
        "label": "vcma-default",
        "n": 500,
        "sampler": "ddpm",
        "steps": 10,
        "model_sha256": "ab" * 32,
        "seed": 0,
        "batch": 50,
    }
    assert quality_study._done([row], chip, protocol, "ab" * 32)  # a row from before --noise: the protocol's
    assert not quality_study._done([row], chip, paired, "ab" * 32)
    assert quality_study._done([{**row, "noise": "torch"}], chip, paired, "ab" * 32)


def test_study_writes_one_file_per_batch_resumes_and_runs_in_parallel(tmp_path):
    """--jobs spreads batches over processes; a stopped study regenerates only its missing batches."""
    common = ["--n", "5", "--batch", "2", "--steps", "2", "--only", "software", "--generate-only"]
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert quality_study.main([*common, "--images-dir", str(serial), "--results", str(tmp_path / "a.jsonl")]) == 0
    assert (
        quality_study.main(
            [*common, "--jobs", "2", "--images-dir", str(parallel), "--results", str(tmp_path / "b.jsonl")]
        )
        == 0
    )
    one, kept = _study_images(serial, "software", 5, 2)
    two, _ = _study_images(parallel, "software", 5, 2)
    assert one.shape == (5, 28, 28)
    # torch's float sums may round differently on 1 and 2 threads: at most a last-bit pixel flips
    assert np.abs(one.astype(int) - two.astype(int)).max() <= 1
    batches = sorted(p.name for p in kept.with_suffix(".batches").iterdir())
    assert batches == ["000000.npz", "000002.npz", "000004.npz"]  # seeds 0, 2, 4: batch k uses seed + first index

    # a study stopped after two batches: the third is made on resume, the others are not touched
    kept.unlink()
    batch_dir = kept.with_suffix(".batches")
    (batch_dir / "000004.npz").unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in batch_dir.iterdir()}
    assert quality_study.main([*common, "--images-dir", str(serial), "--results", str(tmp_path / "a.jsonl")]) == 0
    again, _ = _study_images(serial, "software", 5, 2)
    np.testing.assert_array_equal(again, one)
    assert {name: (batch_dir / name).stat().st_mtime_ns for name in stamps} == stamps


def test_study_rejects_zero_jobs(capsys):
    with pytest.raises(SystemExit):
        quality_study.main(["--jobs", "0"])
    assert "--jobs must be at least 1" in capsys.readouterr().err


def test_fid_spread_script_names_a_subset_the_file_cannot_fill(tmp_path):
    from diffusion.studies import fid_spread as module

    images = tmp_path / "few.npz"
    np.savez(images, images=np.zeros((6, 28, 28), dtype=np.uint8))
    with pytest.raises(SystemExit, match="subset 1 needs images up to 8, the file has 6"):
        module.main(["--images", str(images), "--n", "4", "--subsets", "1"])


def test_sample_panels_script_lays_out_one_labelled_panel_per_variant(tmp_path):
    from PIL import Image

    from diffusion.studies.figures import sample_panels as module

    for label, value in (("software", 0), ("vcma-default", 255)):
        np.savez(
            tmp_path / f"{label}-abc-ddpm10-n500-seed0-b50.npz", images=np.full((8, 28, 28), value, dtype=np.uint8)
        )
    out = tmp_path / "sheet.png"
    module.main(["--images", str(tmp_path), "--labels", "software,vcma-default", "--count", "7", "--out", str(out)])
    sheet = np.asarray(Image.open(out))
    one = module.panel(np.zeros((7, 28, 28), dtype=np.uint8), "x")
    assert sheet.shape == (one.height, 2 * one.width)  # 7 images → 2 rows of 6 columns, two panels
    first_tile = sheet[module.TITLE + 1, module.PAD + 1], sheet[module.TITLE + 1, one.width + module.PAD + 1]
    assert first_tile == (0, 255)
    with pytest.raises(SystemExit, match="no images for 'in-loop'"):
        module.main(["--images", str(tmp_path), "--labels", "in-loop", "--out", str(out)])


def test_slices_are_scored_from_one_inception_pass_and_the_features_are_kept(tmp_path, monkeypatch):
    """--slices M scores [k·M, (k+1)·M) from the run's own features; a later run reuses the kept features."""
    from diffusion.metrics import inception
    from diffusion.studies import offline_eval

    passes = []

    def fake_features(images):
        passes.append(len(images))
        return np.repeat(images.reshape(len(images), -1).astype(np.float64).mean(axis=1, keepdims=True), 4, axis=1)

    def fake_score(features, reference, kid_subsets=50):
        return {"n": int(features.shape[0]), "fid": float(features[:, 0].sum()), "kid_mean": 0.0, "kid_std": 0.0}

    monkeypatch.setattr(inception, "features", fake_features)
    monkeypatch.setattr(offline_eval, "score_features", fake_score)
    results, images_dir = tmp_path / "rows.jsonl", tmp_path / "images"
    argv = ["--n", "6", "--batch", "3", "--steps", "2", "--only", "software", "--noise", "torch"]
    argv += ["--images-dir", str(images_dir), "--results", str(results), "--slices", "3"]
    assert quality_study.main(argv) == 0
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["n"], r["seed"], r.get("slice_of")) for r in rows] == [
        (6, 0, None),
        (3, 0, "images 0-2 of the N = 6 run with seed 0"),
        (3, 3, "images 3-5 of the N = 6 run with seed 0"),  # batch k is seeded k·3: the run of seed 3
    ]
    assert passes == [6]  # one Inception pass for the run and both slices
    assert rows[1]["fid"] + rows[2]["fid"] == pytest.approx(rows[0]["fid"])
    (kept,) = images_dir.glob("software-*-ddpm2-n6-seed0-b3-torchnoise.npz")
    with np.load(kept) as data:
        images = data["images"]
    per_image = images.reshape(6, -1).astype(np.float64).mean(axis=1)
    assert rows[1]["fid"] == pytest.approx(per_image[:3].sum())  # the first slice is the first three images
    assert rows[1]["mean_pixel"] == pytest.approx(per_image[:3].mean()) and rows[0]["pixel_std"] == pytest.approx(
        images.std()
    )
    with np.load(kept.with_suffix(".features.npz")) as data:
        assert data["features"].shape == (6, 4) and str(data["inception_sha256"]) == inception.WEIGHTS_SHA256

    # the run is done (its full-N row exists); and a slice is the run of its own N and first seed
    assert quality_study.main(argv) == 0 and len(results.read_text().splitlines()) == 3
    alone = ["--n", "3", "--batch", "3", "--steps", "2", "--only", "software", "--noise", "torch", "--seed", "3"]
    assert quality_study.main([*alone, "--images-dir", str(images_dir), "--results", str(results)]) == 0
    assert len(results.read_text().splitlines()) == 3  # skipped: already measured as the second slice
    assert not list(images_dir.glob("software-*-ddpm2-n3-seed3-b3-torchnoise*"))  # nothing generated
    results.unlink()
    assert quality_study.main(argv) == 0 and passes == [6]  # rescored from the kept features


@pytest.mark.parametrize("n, slices, batch", [(10, 4, 2), (10, 10, 5), (12, 6, 4)])
def test_slices_must_divide_n_into_whole_batches(capsys, n, slices, batch):
    with pytest.raises(SystemExit):
        quality_study.main(["--n", str(n), "--slices", str(slices), "--batch", str(batch)])
    assert "--slices must divide --n into two or more slices and be a multiple of --batch" in capsys.readouterr().err


def test_epsilon_only_measures_the_chip_it_is_given(tmp_path, monkeypatch):
    from diffusion.studies import offline_eval

    seen = []

    def fake_epsilon_error(bundle, profile, batch, seed, chip_seed=0):
        seen.append((profile.name, batch, seed, chip_seed))
        return {"per_timestep": {50: 0.1}, "mean": 0.1, "offset_per_timestep": {50: 0.02}}

    monkeypatch.setattr(offline_eval, "epsilon_error", fake_epsilon_error)
    results = tmp_path / "eps.jsonl"
    argv = ["--epsilon-only", "--only", "software,vcma-default", "--chip-seed", "2", "--results", str(results)]
    assert quality_study.main(argv) == 0
    assert seen == [("vcma-default", 16, 0, 2)]  # software has no chip
    (row,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert row["chip_seed"] == 2 and row["epsilon_error"]["offset_per_timestep"] == {"50": 0.02}
