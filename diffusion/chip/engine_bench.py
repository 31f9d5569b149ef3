"""The torch execution engines on the crossbar benchmark's layer: exact (`TorchCrossbar`) and statistical.

`device.benchmarks.bench_crossbar` times the numpy reference path of one programmed layer; this adds,
on the same layer, inputs and calibration (the same seeded draws), the two torch engines of the chip
backend, so `spindiff bench crossbar` lists every way spindiff can read a layer next to aihwkit's
InferenceTile. Times are the best of ``repeats`` alternated with numpy's float64 ``x @ W``.
"""

from __future__ import annotations

import numpy as np
import torch

from device import profiles
from device.benchmarks import best_time
from device.crossbar_programming import program
from device.statistical import derive
from diffusion.chip.crossbar_statistical import StatisticalCrossbar
from diffusion.chip.crossbar_torch import TorchCrossbar


def bench_engines(
    profile_names: list[str], size: int = 512, batch: int = 64, repeats: int = 5, seed: int = 0
) -> list[dict]:
    """One row per profile: relative error and time of the exact and the statistical torch engine (float32, CPU)."""
    data = np.random.default_rng(seed)
    weights = data.standard_normal((size, size)) / np.sqrt(size)  # the draws of bench_crossbar
    x = data.standard_normal((batch, size))
    x_calibration = data.standard_normal((64, size))
    reference = x @ weights
    rows = []
    for name in profile_names:
        profile = profiles.get_profile(name)
        matrix = program(weights, profile.mtj, profile.variation, profile.crossbar, profile.technology, seed)
        matrix.calibrate_adc(x_calibration)
        exact = TorchCrossbar(matrix)
        statistical = StatisticalCrossbar(derive(matrix, x_calibration, seed=seed))
        xt = torch.tensor(x, dtype=torch.float32)
        generator = torch.Generator().manual_seed(seed + 1)
        row = {"profile": name}
        for label, engine in (("exact_torch", exact), ("statistical", statistical)):
            y = engine.matmul(xt, generator).double().numpy()
            seconds, numpy_seconds = [], []
            for _ in range(repeats):
                seconds.append(
                    best_time(lambda engine=engine, xt=xt, generator=generator: engine.matmul(xt, generator), 1)
                )
                numpy_seconds.append(best_time(lambda: x @ weights, 1))
            row[f"{label}_relative_error"] = float(np.linalg.norm(y - reference) / np.linalg.norm(reference))
            row[f"{label}_seconds"] = min(seconds)
            row[f"{label}_ratio_over_numpy"] = min(seconds) / min(numpy_seconds)
        rows.append(row)
    return rows
