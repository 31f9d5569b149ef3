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


def best_time(fn, repeats: int) -> float:
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
        mtj_times.append(best_time(lambda: source.gaussian(n_samples), 1))
        numpy_times.append(best_time(lambda: generator.standard_normal(n_samples, dtype=np.float32), 1))
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


def bench_crossbar(
    profile_names: list[str] | None = None, size: int = 512, batch: int = 64, repeats: int = 5, seed: int = 0
) -> dict:
    """Accuracy and speed of the emulated crossbar on a random ``size``×``size`` layer.

    W ~ N(0, 1/size), x ~ N(0, 1) of shape (``batch``, ``size``). For each profile the layer is
    programmed (chip seed ``seed``), its ADC ranges are calibrated on a separate batch of 64 inputs
    (as the chip does with calibration data), and the relative error ‖y − x@W‖/‖x@W‖ of `matmul` is
    measured on the test batch. Times are the best of ``repeats``, taken alternately with numpy's
    float64 ``x @ W`` of the same shapes in the same run; the ratio is crossbar time / numpy time.
    """
    from device.crossbar_programming import program

    names = profile_names or [p.name for p in profiles.list_profiles() if p.name != "vcma-uncalibrated"]
    data = np.random.default_rng(seed)
    weights = data.standard_normal((size, size)) / np.sqrt(size)
    x = data.standard_normal((batch, size))
    x_calibration = data.standard_normal((64, size))
    reference = x @ weights
    rows = []
    for name in names:
        profile = profiles.get_profile(name)
        started = time.perf_counter()
        matrix = program(weights, profile.mtj, profile.variation, profile.crossbar, profile.technology, seed)
        program_s = time.perf_counter() - started
        matrix.calibrate_adc(x_calibration)
        noise = np.random.default_rng(seed + 1)
        y = matrix.matmul(x, noise)  # also compiles the kernels before timing
        chip_times, numpy_times = [], []
        for _ in range(repeats):
            chip_times.append(best_time(lambda matrix=matrix, noise=noise: matrix.matmul(x, noise), 1))
            numpy_times.append(best_time(lambda: x @ weights, 1))
        rows.append(
            {
                "profile": name,
                "relative_error": float(np.linalg.norm(y - reference) / np.linalg.norm(reference)),
                "weight_bits": profile.crossbar.weight_bits,
                "input_bits": profile.crossbar.input_bits,
                "adc_bits": profile.crossbar.adc_bits,
                "residual_write_errors": matrix.write_stats.residual_errors,
                "tiles": matrix.n_tiles,
                "program_seconds": program_s,
                "matmul_seconds": min(chip_times),
                "numpy_seconds": min(numpy_times),
                "ratio_crossbar_over_numpy": min(chip_times) / min(numpy_times),
            }
        )
    return {
        "benchmark": "crossbar",
        "layer": [size, size],
        "batch": batch,
        "repeats": repeats,
        "adc_range": "calibrated per tile on 64 held-out inputs (99.99th percentile)",
        "profiles": rows,
    }
