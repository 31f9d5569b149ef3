"""An emulated chip: programmed crossbar layers, the MTJ random source, and one ledger for both.

`Chip` is what the diffusion backend (diffusion/) builds once per (model, profile, chip seed) and
reuses across requests: programming and RNG calibration are charged to the ledger's
``"programming"`` phase, every later matmul, Gaussian draw and digital op to ``"inference"``.
`example_workload` runs a stated stand-in network on it, so `spindiff cost` can report before a
trained model exists.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from device import crossbar, crossbar_programming, profiles
from device.cost import ChipFootprint, cost_report
from device.errors import InputError
from device.ledger import Ledger, rng_counters_delta
from device.seed_salts import Salt


class Chip:
    """Layers are added with `program_layer`; noise comes from `gaussian`; costs from `report`."""

    def __init__(self, profile: profiles.HardwareProfile, chip_seed: int, compute_dtype=np.float64) -> None:
        self.profile = profile
        self.chip_seed = chip_seed
        self.compute_dtype = compute_dtype
        self.ledger = Ledger()
        self.layers: dict[str, crossbar.ProgrammedMatrix] = {}
        self.rng = profiles.make_random_source(profile, chip_seed)
        self.ledger.add_rng("programming", rng_counters_delta(self.rng.counters, {}))
        self._rng_seen = self.rng.counters.as_dict()

    @classmethod
    def restore(
        cls,
        profile: profiles.HardwareProfile,
        chip_seed: int,
        compute_dtype,
        ledger: Ledger,
        layers: dict,
        rng,
        rng_seen: dict,
    ) -> Chip:
        """A chip from its parts, without programming or calibrating (`device.chip_store.load_chip`)."""
        chip = cls.__new__(cls)
        chip.profile = profile
        chip.chip_seed = chip_seed
        chip.compute_dtype = compute_dtype
        chip.ledger = ledger
        chip.layers = dict(layers)
        chip.rng = rng
        chip._rng_seen = dict(rng_seen)
        return chip

    def program_layer(self, name: str, weights) -> crossbar.ProgrammedMatrix:
        """Write ``weights`` (K × N, y = x @ W) into tiles; the seed is derived from the chip seed and name."""
        if name in self.layers:
            raise InputError(f"layer {name!r} is already programmed on this chip")
        layer_seed = (self.chip_seed << 32) + zlib.crc32(name.encode())  # distinct per layer and chip
        p = self.profile
        matrix = crossbar_programming.program(
            weights,
            p.mtj,
            p.variation,
            p.crossbar,
            p.technology,
            layer_seed,
            ledger=self.ledger,
            compute_dtype=self.compute_dtype,
        )
        self.layers[name] = matrix
        return matrix

    def matmul(self, name: str, x, noise: np.random.Generator) -> np.ndarray:
        """``x @ W`` of layer ``name`` on the crossbars, charged to the inference phase."""
        try:
            layer = self.layers[name]
        except KeyError:
            raise InputError(
                f"no layer {name!r} on this chip; programmed: {', '.join(self.layers) or 'none'}"
            ) from None
        return layer.matmul(x, noise, ledger=self.ledger)

    def gaussian(self, shape, dtype=np.float32) -> np.ndarray:
        """N(0, 1) noise from the MTJ random source, charged to the inference phase."""
        samples = self.rng.gaussian(shape, dtype=dtype)
        self._sync_rng("inference")
        return samples

    def count_digital(self, ops: int, latency_s: float = 0.0) -> None:
        """Charge ``ops`` digital operations done outside the arrays (norms, activations, updates)."""
        self.ledger.add("inference", digital_ops=int(ops), digital_latency_s=float(latency_s))

    def _sync_rng(self, phase: str) -> None:
        now = self.rng.counters.as_dict()
        self.ledger.add_rng(phase, rng_counters_delta(now, self._rng_seen))
        self._rng_seen = now

    def footprint(self) -> ChipFootprint:
        counts = {"n_tiles": 0, "n_cells": 0, "n_adcs": 0, "n_row_drivers": 0}
        for layer in self.layers.values():
            for key, value in layer.footprint_counts().items():
                counts[key] += value
        cb = self.profile.crossbar
        return ChipFootprint(
            tile_rows=cb.tile_rows,
            tile_cols=cb.tile_cols,
            n_rng_devices=self.profile.rng.n_devices,
            adc_bits=cb.adc_bits,
            weight_bits=cb.weight_bits,
            input_cycles=cb.input_cycles,
            **counts,
        )

    def report(
        self, ledger: Ledger | None = None, phase: str = "inference", images: int = 1, steps=None, workload=None
    ) -> dict:
        """`device.cost.cost_report` of ``ledger`` (default: everything this chip has counted)."""
        p = self.profile
        return cost_report(
            ledger if ledger is not None else self.ledger,
            self.footprint(),
            p.technology,
            p.rng,
            p.mtj,
            phase=phase,
            images=images,
            steps=steps,
            workload=workload,
            crossbar=p.crossbar,
            rng_line_field=self.rng.line_field(),
        )


EXAMPLE_LAYERS = ((784, 512), (512, 512), (512, 784))


def example_workload(profile: profiles.HardwareProfile, images: int = 1, steps: int = 50, seed: int = 0) -> dict:
    """Cost report of a stated stand-in denoiser: a 784-512-512-784 ReLU MLP run ``steps`` times.

    Each step draws one 28×28 image of MTJ Gaussian noise per image and pushes it through the three
    crossbar layers (random weights N(0, 1/fan_in); accuracy is not the point here, the action
    counts are). Digital work per step: ReLU and residual update, 3 ops per activation.
    """
    if not (isinstance(images, int) and images >= 1 and isinstance(steps, int) and steps >= 1):
        raise InputError(f"images and steps must be positive integers, got images={images!r}, steps={steps!r}")
    chip = Chip(profile, seed)
    data = np.random.default_rng([seed, Salt.EXAMPLE_WORKLOAD_DATA])
    for k, (fan_in, fan_out) in enumerate(EXAMPLE_LAYERS):
        chip.program_layer(f"dense{k}", data.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in))
    calibration = data.standard_normal((64, EXAMPLE_LAYERS[0][0]))
    for matrix in chip.layers.values():
        matrix.calibrate_adc(calibration)
        calibration = np.maximum(matrix.matmul(calibration, data), 0.0)
    before = chip.ledger.copy()
    noise = np.random.default_rng([seed, Salt.EXAMPLE_WORKLOAD_NOISE])
    x = chip.gaussian((images, EXAMPLE_LAYERS[0][0])).astype(np.float64)
    for _ in range(steps):
        h = x
        for name in chip.layers:
            h = np.maximum(chip.matmul(name, h, noise), 0.0)
            chip.count_digital(3 * h.size)
        x = x - 0.01 * h + 0.01 * chip.gaussian(x.shape)
        chip.count_digital(4 * x.size)
    per_request = Ledger.diff(chip.ledger, before)
    workload = {
        "network": "example MLP 784-512-512-784 (stand-in until the diffusion model exists)",
        "layers": [list(s) for s in EXAMPLE_LAYERS],
    }
    report = chip.report(per_request, images=images, steps=steps, workload=workload)
    report["programming"] = chip.report(chip.ledger, phase="programming", workload=workload)["energy_total_j"]
    return report
