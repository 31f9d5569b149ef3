"""Tests of device/profiles.py: presets, JSON round trips and validation that names the key."""

import json

import pytest

from device import profiles
from device.errors import ProfileError


def test_required_presets_exist_and_say_their_regime():
    names = set(profiles.PROFILES)
    assert {"ideal", "vcma-default", "vcma-uncalibrated"} <= names
    assert "hard-axis" in profiles.get_profile("vcma-default").description
    assert "thermal" in profiles.get_profile("vcma-thermal").description


@pytest.mark.parametrize("name", list(profiles.PROFILES))
def test_json_round_trip_is_exact(name):
    profile = profiles.get_profile(name)
    again = profiles.profile_from_json(profile.to_json())
    assert again == profile
    assert again.hash == profile.hash


def test_hash_changes_with_any_value():
    base = profiles.get_profile("vcma-default")
    changed = profiles.with_overrides(base, {"rng": {"dac_bits": 8}})
    assert changed.rng.dac_bits == 8 and changed.hash != base.hash
    assert profiles.with_overrides(base, {"mtj": {"tmr": 1.2}}).hash == base.hash


def test_partial_json_takes_defaults():
    profile = profiles.profile_from_dict({"name": "mine", "rng": {"n_devices": 64}})
    assert profile.rng.n_devices == 64
    assert profile.mtj == profiles.get_profile("vcma-default").mtj


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "rng": {"n_device": 4}}, "rng.n_device"),
        ({"name": "x", "mtj": {"tmr": -1.0}}, "tmr"),
        ({"name": "x", "mtj": {"tmr": "big"}}, "mtj.tmr"),
        ({"name": "x", "mtj": {"temperature": float("nan")}}, "mtj.temperature"),
        ({"name": "x", "rng": {"dac_bits": 2.5}}, "rng.dac_bits"),
        ({"name": "x", "rng": {"calibration": True}}, "rng.calibration"),
        ({"name": "x", "variation": []}, "variation"),
        ({"rng": {}}, "name"),
        ({"name": "Bad Name!"}, "name"),
    ],
)
def test_bad_profiles_are_rejected_naming_the_key(data, message):
    with pytest.raises(ProfileError, match=message.replace(".", r"\.")):
        profiles.profile_from_dict(data)


def test_not_json_and_not_an_object():
    with pytest.raises(ProfileError, match="JSON"):
        profiles.profile_from_json("{nope")
    with pytest.raises(ProfileError, match="object"):
        profiles.profile_from_json(json.dumps([1, 2]))


def test_overrides_may_not_rename_and_unknown_profiles_list_the_known_ones():
    with pytest.raises(ProfileError, match="rename"):
        profiles.with_overrides(profiles.get_profile("ideal"), {"name": "other"})
    with pytest.raises(ProfileError, match="vcma-default"):
        profiles.get_profile("vcma-best")


def test_precise_preset_changes_only_the_read_path_adcs_and_tile_size():
    default, precise = profiles.get_profile("vcma-default"), profiles.get_profile("vcma-precise")
    changed = {k for k, v in precise.crossbar.__dict__.items() if getattr(default.crossbar, k) != v}
    assert changed == {"read_time", "read_noise", "adc_bits", "tile_rows", "tile_cols"}
    assert precise.crossbar.read_noise < default.crossbar.read_noise and precise.crossbar.read_time > default.crossbar.read_time
    assert (precise.mtj, precise.variation, precise.rng, precise.technology) == (default.mtj, default.variation, default.rng, default.technology)
