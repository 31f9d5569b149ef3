"""Tests of device/seed_salts.py: the salts are unique, frozen, and the docstring's table lists each one."""

from __future__ import annotations

import re

from device import seed_salts
from device.seed_salts import Salt

#: The values every stored result was made with; renumbering one changes chips and noise.
FROZEN = {
    "MTJ_POPULATION": 1,
    "RNG_CALIBRATION": 2,
    "RNG_DEVICE_STREAMS": 3,
    "EXAMPLE_WORKLOAD_DATA": 5,
    "EXAMPLE_WORKLOAD_NOISE": 6,
    "CROSSBAR_WRITES": 11,
    "CHIP_ANALOG_NOISE": 22,
    "GAIN_CALIBRATION_NOISE": 23,
    "IN_LOOP_CALIBRATION_NOISE": 24,
    "STATISTICAL_FIT_ROWS": 25,
    "GAIN_FIT_ROWS": 26,
    "IR_RESIDUAL_ROWS": 31,
    "INJECTED_EPSILON_ERROR": 41,
}


def test_salts_are_frozen_and_documented():
    assert {s.name: s.value for s in Salt} == FROZEN
    documented = {int(v) for v in re.findall(r"^\| (\d+) \|", seed_salts.__doc__, flags=re.MULTILINE)}
    assert documented == set(FROZEN.values())
