"""Tests of device/read_noise.py: the derived read noise against a hand calculation, its coupling to
read time, energy and latency, overrides and the validation messages."""

import dataclasses
import math

import numpy as np
import pytest

from device import crossbar_programming, mtj, profiles
from device import read_noise as R
from device.cost import ChipFootprint, Ledger, TechnologyParameters, cost_report
from device.crossbar import CrossbarParameters
from device.errors import ParameterError
from tests.device import naive_crossbar as naive

MTJ = mtj.MTJParameters()
CB = CrossbarParameters()


def test_default_read_by_hand():
    # 5 kΩ parallel cell at 0.1 V: I = 20 µA; Δf = 1/(2 ns) = 0.5 GHz; T = 300 K
    k_b, q = 1.380649e-23, 1.602176634e-19
    thermal = 4 * k_b * 300 * 2e-4 * 0.5e9  # 1.657e-15 A²
    shot = 2 * q * 20e-6 * 0.5e9  # 3.204e-15 A²
    white = math.sqrt(thermal + shot) / 20e-6  # 0.3486 %
    assert white == pytest.approx(0.003486, rel=1e-3)
    assert R.relative_read_noise(2e-4, 0.1, 1e-9, 300.0, 1.0) == pytest.approx(white, rel=1e-12)
    assert R.derived_read_noise(MTJ, CB) == pytest.approx(math.sqrt(8.23) * white, rel=1e-12)
    assert R.derived_read_noise(MTJ, CB) == pytest.approx(0.01, rel=2e-4)  # the previous free knob's value
    assert naive.read_noise(MTJ, CB) == pytest.approx(
        R.derived_read_noise(MTJ, CB), rel=1e-12
    )  # the twin's own formula


def test_scaling_laws():
    base = R.derived_read_noise(MTJ, CB)
    assert R.derived_read_noise(MTJ, dataclasses.replace(CB, read_time=4e-9)) == pytest.approx(base / 2, rel=1e-12)
    assert R.derived_read_noise(MTJ, dataclasses.replace(CB, read_noise_factor=4 * 8.23)) == pytest.approx(
        2 * base, rel=1e-12
    )
    hot = R.derived_read_noise(dataclasses.replace(MTJ, temperature=400.0), CB)
    assert hot > base  # thermal part ∝ T
    # thermal noise relative to I falls as 1/V, shot as 1/√V: doubling V_read lowers σ between √2 and 2
    higher = R.derived_read_noise(MTJ, dataclasses.replace(CB, read_voltage=0.2))
    assert base / 2 < higher < base / math.sqrt(2)
    # the inverse: the read time a target noise needs
    g = R.operating_conductance(MTJ, 0.1)
    assert g == pytest.approx(2e-4, rel=1e-12)
    assert R.read_time_for(base / 4, g, 0.1, 300.0, 8.23) == pytest.approx(16e-9, rel=1e-12)
    assert R.noise_bandwidth(1e-9) == pytest.approx(5e8, rel=1e-15)


def test_resolve_and_override():
    resolved = R.resolve(MTJ, CB)
    assert resolved.read_noise == R.derived_read_noise(MTJ, CB) and CB.read_noise is None
    fixed = dataclasses.replace(CB, read_noise=0.05)
    assert R.resolve(MTJ, fixed) is fixed and R.effective_read_noise(MTJ, fixed) == 0.05
    summary = R.read_noise_summary(MTJ, fixed)
    assert summary["source"] == "override" and "read_time" in summary["warning"] and "0.05" in summary["warning"]
    assert "warning" not in R.read_noise_summary(MTJ, CB) and R.read_noise_summary(MTJ, CB)["source"] == "derived"
    quiet = R.read_noise_summary(MTJ, dataclasses.replace(CB, read_noise=0.0025))["warning"]
    assert "read_time = 1.6e-08 s" in quiet  # the read that would really give 0.25 %


def test_a_programmed_matrix_carries_the_derived_number():
    cb = dataclasses.replace(CB, tile_rows=16, tile_cols=16, weight_bits=3, input_bits=6, adc_bits=6)
    w = np.random.default_rng(0).standard_normal((20, 5))
    matrix = crossbar_programming.program(w, MTJ, mtj.VariationParameters(), cb, TechnologyParameters(), 1)
    assert matrix.cb.read_noise == pytest.approx(R.derived_read_noise(MTJ, cb), rel=1e-15)
    assert matrix.g_squared is not None


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"read_noise_factor": 0.9}, r"read_noise_factor must be >= 1 .*raise read_time"),
        ({"read_noise_factor": math.nan}, r"read_noise_factor must be a finite number"),
        ({"read_noise": -0.01}, r"read_noise must be >= 0"),
        ({"read_noise": math.inf}, r"read_noise must be a finite number or None \(derived\)"),
        ({"read_noise": "low"}, r"read_noise must be a finite number"),
    ],
)
def test_validation_names_the_knob(changes, message):
    with pytest.raises(ParameterError, match=message):
        dataclasses.replace(CB, **changes)


def _cost_of_reads(read_time: float) -> dict:
    """Energy and latency report of 32 matmuls of a 64×32 layer read for ``read_time``."""
    cb = dataclasses.replace(CB, tile_rows=32, tile_cols=32, read_time=read_time)
    tech = TechnologyParameters()
    w = np.random.default_rng(2).standard_normal((64, 32))
    matrix = crossbar_programming.program(w, MTJ, mtj.VariationParameters(), cb, tech, 3)
    ledger = Ledger()
    matrix.matmul(np.random.default_rng(4).standard_normal((32, 64)), np.random.default_rng(5), ledger=ledger)
    p = profiles.get_profile("vcma-default")
    counts = matrix.footprint_counts()
    fp = ChipFootprint(
        tile_rows=32,
        tile_cols=32,
        n_rng_devices=1,
        adc_bits=cb.adc_bits,
        weight_bits=cb.weight_bits,
        input_cycles=cb.input_cycles,
        **counts,
    )
    report = cost_report(ledger, fp, tech, p.rng, MTJ, crossbar=cb)
    return {
        "noise": matrix.cb.read_noise,
        "read_j": report["energy_j"]["array_read"],
        "latency": report["latency_s"]["mvm"],
        "assumed": report["assumptions"]["read_noise"],
    }


def test_quieter_reads_cost_read_time_energy_and_latency():
    loud, quiet = _cost_of_reads(1e-9), _cost_of_reads(4e-9)
    assert quiet["noise"] == pytest.approx(loud["noise"] / 2, rel=1e-12)  # half the noise ...
    assert quiet["read_j"] == pytest.approx(4 * loud["read_j"], rel=1e-9)  # ... for 4× the read energy (F1 ∝ t_read)
    # latency per MVM = t_read + 8 conversions at 1 GS/s: 9 ns → 12 ns
    assert quiet["latency"] / loud["latency"] == pytest.approx((4e-9 + 8e-9) / (1e-9 + 8e-9), rel=1e-9)
    assert quiet["assumed"]["effective"] == quiet["noise"] and quiet["assumed"]["source"] == "derived"
    # the old free knob bought the same noise for nothing; now it is flagged
    free = R.read_noise_summary(MTJ, dataclasses.replace(CB, read_noise=quiet["noise"]))
    assert "override" in free["warning"] and "read_time = 4e-09 s" in free["warning"]
