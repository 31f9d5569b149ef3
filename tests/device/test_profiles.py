"""Tests of device/profiles.py: presets, JSON round trips and validation that names the key."""

import json

import pytest

from device import profiles
from device.errors import ProfileError
from device.read_noise import effective_read_noise


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
    assert changed == {"read_time", "adc_bits", "tile_rows", "tile_cols"}  # its quieter read follows from read_time
    quiet, loud = (effective_read_noise(p.mtj, p.crossbar) for p in (precise, default))
    assert quiet == pytest.approx(loud / 4, rel=1e-12) and precise.crossbar.read_time == 16 * default.crossbar.read_time
    assert (precise.mtj, precise.variation, precise.rng, precise.technology) == (
        default.mtj,
        default.variation,
        default.rng,
        default.technology,
    )


# Effective per-cell read noise of every preset before the read noise was derived (the free knob's
# values); docs/physics.md lists them next to the derived ones.
READ_NOISE_BEFORE = {
    "ideal": 0.0,
    "vcma-default": 0.01,
    "vcma-uncalibrated": 0.01,
    "vcma-xor": 0.01,
    "vcma-lowbit": 0.01,
    "vcma-noisy": 0.03,
    "vcma-precise": 0.0025,
    "vcma-thermal": 0.01,
}


def test_every_preset_keeps_its_read_noise_within_a_permille():
    assert set(READ_NOISE_BEFORE) == set(profiles.PROFILES)
    for name, before in READ_NOISE_BEFORE.items():
        p = profiles.get_profile(name)
        assert effective_read_noise(p.mtj, p.crossbar) == pytest.approx(before, rel=1e-3, abs=0.0), name
        assert (p.crossbar.read_noise is None) == (name != "ideal"), name  # derived everywhere but in 'ideal'


def test_read_noise_is_derived_override_or_null_in_json():
    base = profiles.get_profile("vcma-default")
    assert json.loads(base.to_json())["crossbar"]["read_noise"] is None
    slower = profiles.with_overrides(base, {"crossbar": {"read_time": 4e-9}})
    assert effective_read_noise(slower.mtj, slower.crossbar) == pytest.approx(0.005, rel=1e-3)
    fixed = profiles.with_overrides(base, {"crossbar": {"read_noise": 0.0025}})  # an override, kept for ablations
    assert fixed.crossbar.read_noise == 0.0025 and fixed.hash != base.hash
    back = profiles.profile_from_dict({"name": "x", "crossbar": {"read_noise": None}})
    assert back.crossbar.read_noise is None
    with pytest.raises(ProfileError, match=r"crossbar\.read_noise"):
        profiles.profile_from_dict({"name": "x", "crossbar": {"read_noise": "low"}})
    with pytest.raises(ProfileError, match="read_noise_factor.*>= 1.*read_time"):
        profiles.with_overrides(base, {"crossbar": {"read_noise_factor": 0.5}})


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"rng": {"relax_time": 5e-9}},
            r"rng\.relax_time = 5e-09 s is shorter than 8 zero-bias relaxation times.*raise rng\.relax_time",
        ),
        (
            {"rng": {"read_time": 1e-13}},
            r"rng\.read_time = 1e-13 s .* misreads .*raise rng\.read_time or rng\.read_voltage",
        ),
        ({"rng": {"read_voltage": 1e-4}}, r"rng\.read_voltage = 0\.0001 V misreads"),
    ],
)
def test_couplings_across_sections_name_the_knob_to_turn(overrides, message):
    with pytest.raises(ProfileError, match=message):
        profiles.with_overrides(profiles.get_profile("vcma-default"), overrides)


def test_rng_reads_of_the_presets_are_exact_enough():
    for p in profiles.list_profiles():
        assert profiles.rng_read_error_probability(p) < 1e-20, p.name
    # by hand at a 40 ps read (still allowed: P ≈ 4e-8): G_P = 1/5 kΩ, G_AP = 1/(5 kΩ·2.24/1.04) at 0.1 V (F16);
    # σ = sqrt(F·(4kTG + 2qGV)/(2t)) of the noisier (P) read, P = Φ(−(I_P − I_AP)/2/σ)
    import math

    p = profiles.with_overrides(profiles.get_profile("vcma-default"), {"rng": {"read_time": 4e-11}})
    g_p, g_ap = 1 / 5e3, 1 / (5e3 * 2.24 / 1.04)
    sigma = max(
        math.sqrt(8.23 * (4 * 1.380649e-23 * 300 * g + 2 * 1.602176634e-19 * g * 0.1) / 8e-11) for g in (g_p, g_ap)
    )
    expected = 0.5 * math.erfc(0.5 * (g_p - g_ap) * 0.1 / sigma / math.sqrt(2))
    assert 1e-8 < expected < 1e-7
    assert profiles.rng_read_error_probability(p) == pytest.approx(expected, rel=1e-9)


def test_resolve_is_the_preset_with_its_overrides_applied():
    base = profiles.get_profile("vcma-default")
    assert profiles.resolve("vcma-default") is base and profiles.resolve("vcma-default", {}) is base
    resolved = profiles.resolve("vcma-default", {"rng": {"dac_bits": 8}})
    assert resolved == profiles.with_overrides(base, {"rng": {"dac_bits": 8}}) and resolved.hash != base.hash
    with pytest.raises(ProfileError, match="unknown profile 'vcma-best'; known profiles: ideal, vcma-default"):
        profiles.resolve("vcma-best", {"rng": {"dac_bits": 8}})


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"rng": {"dac_bits": 99}}, "rng.dac_bits"),
        ({"crossbar": {"adc_bits": 6}, "rng": {"nope": 1}}, "rng.nope"),
        ({"crossbar": {"adc_bits": "eight"}}, "crossbar.adc_bits"),
        ({"magic": {"x": 1}}, "magic"),
        ({"rng": 5}, "rng"),
        ({"name": {"x": 1}}, "name"),
        ({"rng": {"relax_time": 5e-9}}, "rng.relax_time"),  # a coupling, broken by this key alone
        ({"rng": {"pulse_voltage": 10**400}}, "rng.pulse_voltage"),  # OverflowError, not a ProfileError
        ({"rng": {"dac_bits": 8}}, None),  # nothing fails
        # each passes alone (8 relaxation times: 23.9 ns at α = 0.03, 28.7 ns at α = 0.025), not together
        ({"rng": {"relax_time": 25e-9}, "mtj": {"damping": 0.025}}, None),
    ],
)
def test_failing_override_names_the_first_key_that_fails_on_its_own(overrides, field):
    base = profiles.get_profile("vcma-default")
    assert profiles.failing_override(base, overrides) == field
    if field is None and overrides != {"rng": {"dac_bits": 8}}:
        with pytest.raises(ProfileError, match="rng.relax_time"):
            profiles.with_overrides(base, overrides)


def test_the_parameter_classes_are_the_ones_their_old_modules_name():
    # the dataclasses moved to numba-free modules; device.mtj, .rng, .crossbar, .cost, .gaussian re-export them
    from device import cost, crossbar, gaussian, mtj, rng

    p = profiles.get_profile("vcma-default")
    assert type(p.mtj) is mtj.MTJParameters and type(p.variation) is mtj.VariationParameters
    assert type(p.rng) is rng.RNGParameters and type(p.crossbar) is crossbar.CrossbarParameters
    assert type(p.technology) is cost.TechnologyParameters and type(p.rng.gaussian) is gaussian.GaussianMethod
    assert profiles.get_profile("ideal").variation is mtj.NO_VARIATION
