"""Speed benchmarks that compare side by side in one run (never timed tests: machines are noisy).

Each benchmark times the emulator and its software counterpart alternately, ``repeats`` times,
and reports the best time of each and their ratio, so a burst of load from another process hurts
both sides alike.
"""

from __future__ import annotations

import os
import time

import numpy as np

from device import profiles


def _best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def bench_rng(profile_name: str = "vcma-default", n_samples: int = 4_000_000, repeats: int = 5) -> dict:
    """Emulated-MTJ Gaussian samples/s against numpy ``default_rng().standard_normal`` samples/s.

    Both produce float32 arrays of ``n_samples``; the MTJ source includes drawing every device bit
    and the bits → Gaussian conversion. Calibration (done once per chip) is timed separately.
    """
    profile = profiles.get_profile(profile_name)
    started = time.perf_counter()
    source = profiles.make_random_source(profile, chip_seed=0)
    calibration_s = time.perf_counter() - started
    source.gaussian(1024)  # compile / warm the kernels outside the timing
    generator = np.random.default_rng(0)
    mtj_times, numpy_times = [], []
    for _ in range(repeats):
        mtj_times.append(_best_time(lambda: source.gaussian(n_samples), 1))
        numpy_times.append(_best_time(lambda: generator.standard_normal(n_samples, dtype=np.float32), 1))
    mtj_s, numpy_s = min(mtj_times), min(numpy_times)
    return {
        "benchmark": "rng",
        "profile": profile.name,
        "samples": n_samples,
        "repeats": repeats,
        "threads": int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)),
        "mtj_samples_per_second": n_samples / mtj_s,
        "numpy_samples_per_second": n_samples / numpy_s,
        "ratio_mtj_over_numpy": numpy_s / mtj_s,
        "device_bits_per_sample": source.bits_per_sample,
        "calibration_seconds": calibration_s,
        "note": "numpy is single-threaded; the MTJ kernels use all numba threads",
    }
