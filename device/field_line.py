"""The energy of a magnetic field made on chip by a current in a strip line.

Two fields of the chip come from currents: the crossbar's write field (`CrossbarParameters.
write_field`, towards the target state during each programming pulse) and the random-bit devices'
bias field (`RNGParameters.bias_field` plus each device's calibrated field-DAC value, the
``bias_field`` knob, during each write pulse). A device's own stray field comes from the stack and
costs nothing.

Field of a strip line: a strip of width w carrying I is, close to its surface (distance ≪ w), a
current sheet of density K = I/w, whose field is H = K/2 (Ampère's law; e.g. Jackson, Classical
Electrodynamics, 3rd ed., §5.3, the infinite current sheet). So

    I = 2·w·|H|.

Energy: the line's driver draws I from the supply V_dd for the pulse, E = V_dd·I·t (the line's own
I²·R·t is part of it, the rest drops in the driver). The pulse is gated: the current flows only
while the device's VCMA pulse is on (assumption; a DC bias line would cost far more).

The width and the supply are stated assumptions (`device.cost.TechnologyParameters`:
``field_line_width_m`` 100 nm, about the free layer's width, so the cell sits within its near
field; ``field_line_supply_v`` 0.8 V, the 22 nm logic supply). One line pulse per device pulse: the
bias field is set per device, and a programming pulse writes one cell.
"""

from __future__ import annotations

import numpy as np

from device.errors import InputError


def line_current(field, width_m: float) -> np.ndarray | float:
    """Current that makes ``field`` (A/m, either sign) at the surface of a strip ``width_m`` wide, A: I = 2·w·|H|."""
    if not width_m > 0:
        raise InputError(f"field-line width must be > 0 m, got {width_m!r}")
    return 2.0 * width_m * np.abs(field)


def pulse_energy(field, duration_s: float, width_m: float, supply_v: float) -> np.ndarray | float:
    """J drawn from the supply for one gated field pulse: E = V_dd·(2·w·|H|)·t."""
    if not duration_s >= 0 or not supply_v >= 0:
        raise InputError(f"pulse duration and supply must be >= 0, got {duration_s!r} s and {supply_v!r} V")
    return supply_v * line_current(field, width_m) * duration_s
