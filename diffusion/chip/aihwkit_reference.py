"""IBM aihwkit's analog inference tile on the crossbar benchmark's layer, for a side-by-side number.

Optional: aihwkit 1.2.0 ships only as an sdist with a C++ core; `make aihwkit` builds it CPU-only
into the project venv (about 7 minutes on 2 cores). It lives in diffusion/ because it needs torch,
which device/ must never import. aihwkit has no binary-MTJ device model, so "comparable settings"
means: the same layer, inputs and batch as `device.benchmarks.bench_crossbar`, 8-bit input and
output converters, output noise equal to the MTJ profile's ADC noise, weights mapped so max|W|
hits g_max (omega = 1, as spindiff scales per column), and aihwkit's PCM programming-noise model
standing in for device-to-device spread. The report lists each matched and unmatched setting.
"""

from __future__ import annotations

import time

import numpy as np
import torch


def bench_aihwkit(size: int = 512, batch: int = 64, repeats: int = 5, seed: int = 0) -> dict:
    """Relative error and time of aihwkit's `AnalogLinear` (InferenceTile) on the benchmark layer."""
    from aihwkit.inference import PCMLikeNoiseModel
    from aihwkit.nn import AnalogLinear
    from aihwkit.simulator.configs import InferenceRPUConfig

    data = np.random.default_rng(seed)
    weights = data.standard_normal((size, size)) / np.sqrt(size)  # the same draws as bench_crossbar
    x = data.standard_normal((batch, size))
    torch.manual_seed(seed)
    config = InferenceRPUConfig()
    config.mapping.weight_scaling_omega = 1.0
    config.forward.inp_res = 1 / (2**8 - 2)
    config.forward.out_res = 1 / (2**8 - 2)
    config.forward.out_noise = 0.002 * config.forward.out_bound
    config.noise_model = PCMLikeNoiseModel(g_max=25.0)
    layer = AnalogLinear(size, size, bias=False, rpu_config=config)
    layer.set_weights(torch.tensor(weights.T, dtype=torch.float32))
    layer.eval()
    layer.program_analog_weights()
    xt = torch.tensor(x, dtype=torch.float32)
    reference = x @ weights
    with torch.no_grad():
        y = layer(xt).double().numpy()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            layer(xt)
            times.append(time.perf_counter() - started)
        numpy_times = []
        for _ in range(repeats):
            started = time.perf_counter()
            x @ weights
            numpy_times.append(time.perf_counter() - started)
    return {
        "available": True,
        "tile": "aihwkit.nn.AnalogLinear / InferenceTile (CPU)",
        "relative_error": float(np.linalg.norm(y - reference) / np.linalg.norm(reference)),
        "matmul_seconds": min(times),
        "numpy_seconds": min(numpy_times),
        "ratio_aihwkit_over_numpy": min(times) / min(numpy_times),
        "matched": {
            "layer, inputs, batch": "identical draws",
            "input DAC": "8 bit (inp_res = 1/254)",
            "output ADC": "8 bit (out_res = 1/254)",
            "output noise": f"out_noise = {config.forward.out_noise:.3f} (0.002 of the ±{config.forward.out_bound} output range, as adc_noise)",
            "weight mapping": "omega = 1: max|W| → g_max",
        },
        "not_matched": {
            "device": "aihwkit has no binary MTJ cell: analog PCM-like conductances, no bit slicing",
            "programming noise": "PCMLikeNoiseModel(g_max=25) instead of MTJ R_P/TMR spread",
            "IR drop and read noise": "off (aihwkit defaults for InferenceRPUConfig)",
        },
    }
