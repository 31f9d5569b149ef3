"""Tests of device/chip_store.py: a saved and loaded chip computes exactly what the original does."""

import dataclasses
import json
import os

import numpy as np
import pytest

from device import chip_store, profiles
from device.chip import Chip
from device.errors import InputError, SpindiffError

LAYERS = {"conv.in": (27, 16), "block.0": (144, 24), "head": (40, 7)}


def _chip(profile_name: str, seed: int = 3, calibrate: bool = True) -> Chip:
    chip = Chip(profiles.get_profile(profile_name), seed, compute_dtype=np.float32)
    data = np.random.default_rng(seed)
    for name, shape in LAYERS.items():
        chip.program_layer(name, data.standard_normal(shape) / np.sqrt(shape[0]))
    if calibrate:  # calibrated ADC ranges and gains are part of the chip and must survive the trip
        for matrix in chip.layers.values():
            x = data.standard_normal((32, matrix.in_features))
            matrix.calibrate_adc(x)
            matrix.calibrate_output_gain(
                x, x @ data.standard_normal((matrix.in_features, matrix.out_features)), np.random.default_rng(1)
            )
    chip.gaussian((3, 5))  # a used random source: counters and stream mid-way
    return chip


@pytest.fixture(params=["vcma-default", "ideal"])
def saved(request, tmp_path):
    chip = _chip(request.param)
    path = tmp_path / "chips" / "chip.npz"
    chip_store.save_chip(chip, path)
    return chip, path, profiles.get_profile(request.param)


def test_round_trip_matmuls_draw_for_draw(saved):
    chip, path, profile = saved
    loaded = chip_store.load_chip(path, profile)
    assert list(loaded.layers) == list(chip.layers)
    x = np.random.default_rng(9).standard_normal((4, 144))
    for name, matrix in chip.layers.items():
        other = loaded.layers[name]
        for key in ("g_pos", "g_neg", "col_scale", "adc_range", "output_gain"):
            np.testing.assert_array_equal(getattr(other, key), getattr(matrix, key))
        assert other.write_stats == matrix.write_stats
        assert other.compute_dtype == matrix.compute_dtype
        xi = x[:, : matrix.in_features]
        want = chip.matmul(name, xi, np.random.default_rng(5))
        got = loaded.matmul(name, xi, np.random.default_rng(5))
        np.testing.assert_array_equal(got, want)
    assert loaded.ledger == chip.ledger  # the matmuls above were charged alike
    assert loaded.footprint() == chip.footprint()
    assert (loaded.chip_seed, loaded.compute_dtype, loaded.profile) == (
        chip.chip_seed,
        chip.compute_dtype,
        chip.profile,
    )


def test_round_trip_random_source_continues_and_reseeds_identically(saved):
    chip, path, profile = saved
    loaded = chip_store.load_chip(path, profile)
    np.testing.assert_array_equal(loaded.gaussian((7, 11)), chip.gaussian((7, 11)))  # continues mid-stream
    for seed in (0, 12345):
        chip.rng.reseed(seed)
        loaded.rng.reseed(seed)
        np.testing.assert_array_equal(loaded.gaussian(5000), chip.gaussian(5000))
        np.testing.assert_array_equal(loaded.rng.bits(640), chip.rng.bits(640))
    assert loaded.rng.counters == chip.rng.counters
    assert loaded.rng.summary() == chip.rng.summary()
    assert loaded.ledger == chip.ledger
    assert loaded.report()["energy_total_j"] == chip.report()["energy_total_j"]


def test_calibration_result_survives(tmp_path):
    chip = _chip("vcma-default", calibrate=False)
    chip_store.save_chip(chip, tmp_path / "c.npz")
    loaded = chip_store.load_chip(tmp_path / "c.npz", chip.profile)
    for key in ("codes", "knob_values", "last_measured_fraction"):
        np.testing.assert_array_equal(getattr(loaded.rng.calibration, key), getattr(chip.rng.calibration, key))
    assert (loaded.rng.calibration.cycles, loaded.rng.calibration.ones) == (
        chip.rng.calibration.cycles,
        chip.rng.calibration.ones,
    )
    for a, b in zip(loaded.rng.population, chip.rng.population):
        np.testing.assert_array_equal(a, b)
    assert loaded.rng.knob == chip.rng.knob == "bias_field"


def test_uncalibrated_source_and_empty_chip_round_trip(tmp_path):
    profile = profiles.get_profile("vcma-uncalibrated")
    chip = Chip(profile, 1)
    chip_store.save_chip(chip, tmp_path / "c.npz")
    loaded = chip_store.load_chip(tmp_path / "c.npz", profile)
    assert loaded.layers == {} and loaded.rng.calibration is None
    np.testing.assert_array_equal(loaded.gaussian(100), chip.gaussian(100))


def test_loaded_chip_can_program_more_layers_like_the_original(saved):
    chip, path, profile = saved
    loaded = chip_store.load_chip(path, profile)
    w = np.random.default_rng(4).standard_normal((20, 5))
    np.testing.assert_array_equal(loaded.program_layer("extra", w).g_pos, chip.program_layer("extra", w).g_pos)
    with pytest.raises(InputError, match="'head' is already programmed"):
        loaded.program_layer("head", w)


def test_wrong_profile_hash_names_both(saved):
    chip, path, profile = saved
    other = profiles.get_profile("vcma-noisy" if profile.name == "ideal" else "ideal")
    with pytest.raises(chip_store.ChipFileError, match=f"{profile.hash}.*{other.hash}") as info:
        chip_store.load_chip(path, other)
    assert profile.name in str(info.value) and other.name in str(info.value)
    tweaked = dataclasses.replace(profile, crossbar=dataclasses.replace(profile.crossbar, read_time=2e-9))
    with pytest.raises(chip_store.ChipFileError, match="hash"):  # any changed parameter is another design
        chip_store.load_chip(path, tweaked)


def _rewrite_metadata(path, change) -> None:
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays["metadata"].tobytes())
    change(meta)
    arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_other_format_version_names_both(saved):
    _, path, profile = saved
    _rewrite_metadata(path, lambda m: m.update(format_version=99))
    with pytest.raises(chip_store.ChipFileError, match=f"format version 99.*version {chip_store.FORMAT_VERSION}"):
        chip_store.load_chip(path, profile)


def test_truncated_file_raises(saved):
    _, path, profile = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(chip_store.ChipFileError, match="unreadable or truncated"):
        chip_store.load_chip(path, profile)


def test_missing_file_and_foreign_npz_raise(tmp_path):
    profile = profiles.get_profile("ideal")
    with pytest.raises(chip_store.ChipFileError, match="no chip file"):
        chip_store.load_chip(tmp_path / "absent.npz", profile)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(chip_store.ChipFileError, match="no metadata entry"):
        chip_store.load_chip(tmp_path / "other.npz", profile)


def test_missing_entry_raises_naming_it(saved):
    _, path, profile = saved
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "layer1.adc_range"}
    np.savez(path, **arrays)
    with pytest.raises(chip_store.ChipFileError, match="layer1.adc_range"):
        chip_store.load_chip(path, profile)


def test_errors_are_spindiff_errors():
    assert issubclass(chip_store.ChipFileError, SpindiffError)


def test_save_is_atomic_a_failed_write_keeps_the_old_file(saved, monkeypatch):
    chip, path, profile = saved
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(chip_store.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        chip_store.save_chip(chip, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == [path.name]  # no temporary file left behind


def test_save_rejects_a_non_chip(tmp_path):
    with pytest.raises(InputError, match="needs a device.chip.Chip, got dict"):
        chip_store.save_chip({}, tmp_path / "c.npz")


def test_inputs_are_not_mutated_by_saving(saved, tmp_path):
    chip, _, _ = saved
    g = chip.layers["head"].g_pos.copy()
    chip_store.save_chip(chip, tmp_path / "again.npz")
    np.testing.assert_array_equal(chip.layers["head"].g_pos, g)
