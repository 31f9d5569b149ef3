"""The named random streams: one salt per purpose, for every seeded generator of the emulator and the chip backend.

A seeded generator is ``np.random.default_rng([seed, salt])`` (or, for torch, a seed drawn from
``np.random.SeedSequence([seed, salt])``): numpy's SeedSequence hashes the pair, so streams of one
seed with different salts are independent, and one salt feeds exactly one purpose. The values are
part of every stored result's reproducibility: a changed salt changes every number its stream
feeds (chips, noise, calibration subsets), so a salt is never renumbered or reused.

| salt | stream | used in |
|---|---|---|
| 1 | fab variation of the random-bit devices (chip seed) | `device.rng.MTJRandomSource` |
| 2 | the random-bit calibration loop's switching draws (chip seed) | `device.rng.MTJRandomSource` |
| 3 | the random-bit devices' per-device xoshiro256** streams (noise seed) | `device.rng.MTJRandomSource` |
| 5 | the example workload's weights and calibration inputs | `device.chip.example_workload` |
| 6 | the example workload's read noise | `device.chip.example_workload` |
| 11 | crossbar write errors, one stream per cell row (layer seed) | `device.crossbar_programming` |
| 22 | a request's analog read/ADC noise on the chip (request seed) | `diffusion.chip.backend` |
| 23 | the output-gain calibration reads' noise (chip seed) | `diffusion.chip.backend` |
| 24 | the in-loop calibration pass's noise (chip seed) | `diffusion.chip.backend` |
| 25 | the calibration rows the statistical models are fitted on (chip seed) | `diffusion.chip.backend` |
| 26 | the calibration rows the output gains are fitted on (chip seed) | `diffusion.chip.backend` |
| 31 | the rows of the statistical model's IR-drop residual diagnostic | `device.statistical.derive` |
| 41 | the injected ε error of the software-ε studies (request seed) | `diffusion.studies` |
"""

from __future__ import annotations

from enum import IntEnum, unique


@unique
class Salt(IntEnum):
    """Salts of the seeded streams (module docstring): ``np.random.default_rng([seed, Salt.X])``."""

    MTJ_POPULATION = 1
    RNG_CALIBRATION = 2
    RNG_DEVICE_STREAMS = 3
    EXAMPLE_WORKLOAD_DATA = 5
    EXAMPLE_WORKLOAD_NOISE = 6
    CROSSBAR_WRITES = 11
    CHIP_ANALOG_NOISE = 22
    GAIN_CALIBRATION_NOISE = 23
    IN_LOOP_CALIBRATION_NOISE = 24
    STATISTICAL_FIT_ROWS = 25
    GAIN_FIT_ROWS = 26
    IR_RESIDUAL_ROWS = 31
    INJECTED_EPSILON_ERROR = 41
