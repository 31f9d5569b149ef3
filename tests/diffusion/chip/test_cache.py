"""Tests of diffusion/chip/cache.py: a chip loaded from disk computes what the programmed one did;
unusable entries are rebuilt, the budget is kept, and the key changes with everything it names."""

import numpy as np
import pytest
import torch

from device import profiles
from device.errors import InputError
from diffusion.chip import backend as CB
from diffusion.chip import cache
from tests.diffusion.chip.test_backend import Toy, small


@pytest.fixture(scope="module")
def toy():
    torch.manual_seed(0)
    return Toy().eval()


def _statistical_in_loop():
    return profiles.with_overrides(
        small("vcma-default"), {"crossbar": {"emulation": "statistical", "in_loop_calibration": True}}
    )


@pytest.mark.parametrize("emulation", ["exact", "statistical"])
def test_a_loaded_chip_computes_what_the_programmed_one_did(toy, tmp_path, emulation):
    profile = profiles.with_overrides(_statistical_in_loop(), {"crossbar": {"emulation": emulation}})
    x = torch.randn(4, 1, 28, 28)
    built = CB.ChipNetwork(toy, profile, chip_seed=4, calibration_inputs=(torch.randn(8, 1, 28, 28),))
    cache.save(built, "entry", tmp_path)
    restored = cache.load("entry", tmp_path, profile)
    assert restored is not None
    loaded = CB.ChipNetwork(toy, profile, chip_seed=4, restored=restored)
    assert set(loaded.trims) == set(built.trims) and set(loaded.statistical) == set(built.statistical)
    built.reseed(11)
    loaded.reseed(11)
    np.testing.assert_array_equal(built(x).numpy(), loaded(x).numpy())
    assert built.chip.ledger.counts("inference") == loaded.chip.ledger.counts("inference")
    np.testing.assert_array_equal(built.chip.gaussian((3, 5)), loaded.chip.gaussian((3, 5)))


def test_missing_foreign_or_truncated_entries_are_not_trusted(toy, tmp_path):
    profile = small("vcma-default")
    assert cache.load("nothing", tmp_path, profile) is None
    built = CB.ChipNetwork(toy, profile, chip_seed=1, calibration_inputs=(torch.randn(4, 1, 28, 28),))
    cache.save(built, "entry", tmp_path)
    assert cache.load("entry", tmp_path, small("vcma-lowbit")) is None  # another design: rebuilt
    network_file = tmp_path / "entry.network.npz"
    network_file.write_bytes(network_file.read_bytes()[:100])
    assert cache.load("entry", tmp_path, profile) is None


def test_the_budget_evicts_the_least_recently_used_entries(toy, tmp_path, monkeypatch):
    profile = small("ideal")
    built = CB.ChipNetwork(toy, profile, chip_seed=1)
    monkeypatch.setenv(cache.ENV_MAX_MB, "0")
    cache.save(built, "old", tmp_path)
    cache.save(built, "new", tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == ["new.chip.npz", "new.network.npz"]


def test_key_names_model_profile_seed_batch_and_code():
    a = cache.key("ab" * 32, small("vcma-default"), 0, 16)
    assert a != cache.key("cd" * 32, small("vcma-default"), 0, 16)
    assert a != cache.key("ab" * 32, small("vcma-lowbit"), 0, 16)
    assert a != cache.key("ab" * 32, small("vcma-default"), 1, 16)
    assert a != cache.key("ab" * 32, small("vcma-default"), 0, 8)
    assert a.endswith(cache.source_hash()[:16])


def test_directory_and_budget_settings(monkeypatch):
    monkeypatch.setenv(cache.ENV_DIR, "off")
    assert cache.cache_dir() is None
    monkeypatch.setenv(cache.ENV_DIR, "~/x")
    assert str(cache.cache_dir()).endswith("/x")
    monkeypatch.setenv(cache.ENV_MAX_MB, "lots")
    with pytest.raises(InputError, match="SPINDIFF_CHIP_CACHE_MB"):
        cache.max_bytes()
