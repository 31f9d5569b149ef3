"""Tests of device/ledger.py: per-phase counters, RNG mapping, merge/copy/diff, validation."""

import dataclasses
import math

import numpy as np
import pytest

from device import ledger as ledger_module
from device import mtj, rng
from device.errors import InputError
from device.ledger import Ledger


def approx(expected, rel=1e-9):
    return pytest.approx(expected, rel=rel, abs=0.0)


MTJ = mtj.MTJParameters()


# --- ledger ----------------------------------------------------------------------------------------


def test_ledger_adds_and_accumulates_per_phase():
    ledger = Ledger()
    ledger.add("inference", adc_conversions=10, array_read_energy_j=1.5e-12, macs=np.int64(7))
    ledger.add("inference", adc_conversions=5, array_read_energy_j=0.5e-12)
    counts = ledger.counts("inference")
    assert counts["adc_conversions"] == 15 and counts["macs"] == 7
    assert counts["array_read_energy_j"] == approx(2e-12)
    assert type(counts["macs"]) is int and type(counts["array_read_energy_j"]) is float
    assert ledger.counts("programming")["adc_conversions"] == 0
    counts["adc_conversions"] = 999  # a copy
    assert ledger.counts("inference")["adc_conversions"] == 15


def test_add_rng_maps_rng_counter_fields():
    ledger = Ledger()
    delta = {
        "cycles": 640,
        "reset_pulses": 300,
        "output_bits": 640,
        "gaussian_samples": 40,
        "calibration_cycles": 1000,
        "calibration_reset_pulses": 480,
    }
    ledger.add_rng("inference", delta)
    c = ledger.counts("inference")
    assert (c["rng_cycles"], c["rng_reset_pulses"], c["rng_output_bits"]) == (640, 300, 640)
    assert (c["gaussian_samples"], c["rng_calibration_cycles"], c["rng_calibration_reset_pulses"]) == (40, 1000, 480)
    assert set(ledger_module.RNG_COUNTER_MAP) == set(rng.RNGCounters().as_dict())


def test_ledger_records_a_real_random_source():
    params = rng.RNGParameters(source="ideal", calibration="none", n_devices=64)
    source = rng.MTJRandomSource(MTJ, mtj.NO_VARIATION, params, chip_seed=1)
    before = dataclasses.replace(source.counters)
    source.gaussian(100)
    ledger = Ledger()
    ledger.add_rng("inference", ledger_module.rng_counters_delta(source.counters, before))
    c = ledger.counts("inference")
    assert c["gaussian_samples"] == 100
    assert c["rng_output_bits"] == 64 * math.ceil(100 * 16 / 64)
    assert c["rng_cycles"] == 64 * 64 and 0 < c["rng_reset_pulses"] < c["rng_cycles"]


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda ledger: ledger.add("inference", adc_conversion=1), "adc_conversion"),
        (lambda ledger: ledger.add("training", adc_conversions=1), "training"),
        (lambda ledger: ledger.add("inference", adc_conversions=-1), "adc_conversions"),
        (lambda ledger: ledger.add("inference", array_read_energy_j=-1e-12), "array_read_energy_j"),
        (lambda ledger: ledger.add("inference", mvm_latency_s=math.nan), "mvm_latency_s"),
        (lambda ledger: ledger.add("inference", macs=2.5), "macs"),
        (lambda ledger: ledger.add("inference", macs=True), "macs"),
        (lambda ledger: ledger.add_rng("inference", {"cycle": 3}), "cycle"),
        (lambda ledger: ledger.add_rng("inference", {"cycles": -3}), "rng_cycles"),
        (lambda ledger: ledger.counts("bogus"), "bogus"),
    ],
)
def test_ledger_validation_names_the_offending_key(call, word):
    ledger = Ledger()
    with pytest.raises(InputError, match=word):
        call(ledger)


def test_failed_add_changes_nothing():
    ledger = Ledger()
    with pytest.raises(InputError, match="shift_adds must be >= 0, got -1"):
        ledger.add("inference", adc_conversions=5, shift_adds=-1)
    assert ledger == Ledger()


def test_merge_copy_and_diff():
    a, b = Ledger(), Ledger()
    a.add("inference", adc_conversions=3, array_read_energy_j=1e-12)
    b.add("inference", adc_conversions=4, array_read_energy_j=2e-12)
    b.add("programming", write_pulses=9)
    snapshot = a.copy()
    assert snapshot == a and snapshot is not a
    a.merge(b)
    assert a.counts("inference")["adc_conversions"] == 7
    assert a.counts("programming")["write_pulses"] == 9
    assert snapshot.counts("inference")["adc_conversions"] == 3  # the copy is independent
    snapshot.add("inference", adc_conversions=100)
    assert a.counts("inference")["adc_conversions"] == 7
    delta = Ledger.diff(a, a.copy())
    assert delta == Ledger()
    delta = Ledger.diff(a, b)
    assert delta.counts("inference")["adc_conversions"] == 3
    assert delta.counts("inference")["array_read_energy_j"] == approx(1e-12)
    assert delta.counts("programming")["write_pulses"] == 0


def test_diff_rejects_a_later_before():
    a, b = Ledger(), Ledger()
    b.add("programming", write_pulses=1)
    with pytest.raises(InputError, match="programming.write_pulses"):
        Ledger.diff(a, b)
    with pytest.raises(InputError, match="can only merge a Ledger, got dict"):
        Ledger().merge({"inference": {}})
