"""The one place that sets Numba compilation flags for every kernel in device/ (house rule 4).

`fastmath` stays off: the emulator's kernels must match their plain-numpy twins in the tests bit
for bit where the maths is deterministic, and fast-math reassociation would break that. `cache`
writes compiled kernels next to the sources so a second process starts fast; the Celery children
each compile or load from that cache after fork.
"""

from __future__ import annotations

import numba

#: Flags for serial kernels.
JIT_OPTIONS: dict = {"cache": True, "fastmath": False, "nogil": True}

#: Flags for kernels that run `numba.prange` loops over independent devices or trials.
PARALLEL_JIT_OPTIONS: dict = {**JIT_OPTIONS, "parallel": True}


def njit(func=None, **overrides):
    """`numba.njit` with the project flags; use as ``@njit`` or ``@njit(parallel=True)``."""
    options = {**JIT_OPTIONS, **overrides}
    if func is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(func)
