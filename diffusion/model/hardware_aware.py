"""Hardware-aware training: the chip's statistical model in the forward pass, gradients to float weights.

Noise-injection training (Joshi et al., Nat. Commun. 11, 2473 (2020); Rasch et al., Nat. Commun.
14, 5282 (2023)): while the network trains, every crossbar layer computes its output the way the
chip would, with fresh random errors each step, so the weights move to where those errors cost
the loss least; the straight-through estimator carries the gradient past the rounding. Here the
errors are the ones `device.statistical` derives from a programmed and calibrated chip
(`diffusion.chip.crossbar_statistical` applies the same model at inference):

    y = x_q @ (W + δW) − (μ − 1)·(x_q @ W_ir) + σ(x) ⊙ ξ,
    δW_jn ~ N(0, (w_n·c_n)²),   σ² = s²·a_n·c_n² + ‖x_q‖²·r_n·c_n²,   ξ ~ N(0, 1),

per layer, where, measured once on the chip the starting weights W₀ were programmed onto:

* ``weight_rel`` w_n — the RMS over the rows of the realised weights' error W_eff − W₀ (cell
  variation, write residuals, the 2^s weight slices, the IR drop at the mean input folded in, the
  output-gain trim), per output, in units of that output's largest weight c_n = maxⱼ |W_jn|. A
  fresh draw per step, as the errors differ from chip to chip: training on one chip's own W_eff
  would fit the network to the chip it is then measured on.
* ``w_ir`` — the IR drop's slope in the row's input magnitude μ = Σ|x_q|/s/m̄ (a fixed map, as on
  the chip, where it is deterministic);
* ``read_rel`` r_n and ``adc_rel`` a_n — the read-noise variance per unit squared input (averaged
  over the rows, as the statistical convolution does) and the ADC noise + quantisation variance per
  unit squared input scale s = max |x| (the DAC's scale of the row or patch), both in units of c_n²;
* ``levels`` — the DAC's 2^(bits−1) − 1 levels: x_q = round(x/s·L)·s/L in the forward pass, x in
  the backward pass (straight-through).

Scaling the errors by c_n keeps them the chip's as the weights move: the crossbar maps each
output's largest weight to the full conductance range (`device.crossbar`), so its errors scale
with c_n and its noise variances with c_n². The bias stays digital and exact. The trims and ADC
ranges are recalibrated when the fine-tuned network is programmed, as for any model. In the
backward pass the IR term and the noise are a constant offset (the IR slope moves an output by
about 1 %; the gradient reaches the weights through the main product, which the perturbed output
enters).

`measure_layer_noise` measures the statistics (a `diffusion.chip.backend.ChipNetwork` in
statistical mode on `diffusion.generation.generate.calibration_inputs`); `make_hardware_aware` swaps a
network's Conv2d/Linear layers for `NoisyConv2d`/`NoisyLinear`, which are the same layers (the
same state dict) with the noisy forward pass in training mode and the plain one in eval mode, so
the trained weights export as an ordinary model. The noise is drawn from torch's global generator,
which the training checkpoint stores: a fine-tuning run resumes bit for bit like any other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from device.errors import ParameterError
from diffusion.chip.crossbar_statistical import _patch_scale, _pixel_scale

#: File of a run directory that holds the measured statistics (`save_layer_noise`).
NOISE_FILE = "hardware_noise.pt"


@dataclass(frozen=True)
class HardwareAwareConfig:
    """Which chip's errors a hardware-aware run trains under; part of `diffusion.model.train.TrainConfig`.

    Attributes:
        profile: hardware profile name (`device.profiles`), e.g. ``vcma-default``; it is measured in
            statistical emulation whatever its ``crossbar.emulation``.
        chip_seed: the chip the statistics are measured on (its cells, its calibration batch).
        calibration_batch: noisy images the chip is calibrated on (as a generation request's).
        noise_scale: multiplies every injected error's standard deviation (1: the chip's own).
    """

    profile: str = "vcma-default"
    chip_seed: int = 0
    calibration_batch: int = 16
    noise_scale: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.profile, str) or not self.profile:
            raise ParameterError(f"HardwareAwareConfig.profile must be a profile name, got {self.profile!r}")
        for name in ("chip_seed", "calibration_batch"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (1 if name == "calibration_batch" else 0)
            ):
                raise ParameterError(
                    f"HardwareAwareConfig.{name} must be a {'positive' if name == 'calibration_batch' else 'non-negative'} integer, got {value!r}"
                )
        if (
            isinstance(self.noise_scale, bool)
            or not isinstance(self.noise_scale, (int, float))
            or not 0 <= self.noise_scale <= 10
        ):
            raise ParameterError(
                f"HardwareAwareConfig.noise_scale must be a number in [0, 10], got {self.noise_scale!r}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> HardwareAwareConfig:
        if not isinstance(data, dict):
            raise ParameterError(f"hardware_aware must be an object, got {type(data).__name__}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ParameterError(f"HardwareAwareConfig has no field(s) {unknown}")
        return cls(**data)


@dataclass(frozen=True)
class LayerNoise:
    """One layer's measured error statistics (module docstring); tensors float32 on the CPU.

    Attributes:
        weight_rel: (N,) RMS weight error per output in units of its largest weight.
        read_rel: (N,) read-noise variance per unit squared input, in units of c_n².
        adc_rel: (N,) ADC variance per unit squared input scale, in units of c_n².
        w_ir: (K, N) the IR drop's slope in μ, in the layer's weight units (zero: no IR drop).
        mean_magnitude: m̄, the calibration rows' mean Σ|x_q|/s.
        levels: DAC levels 2^(bits−1) − 1 (0: no input quantisation).
    """

    weight_rel: torch.Tensor
    read_rel: torch.Tensor
    adc_rel: torch.Tensor
    w_ir: torch.Tensor
    mean_magnitude: float
    levels: int

    def to_dict(self) -> dict:
        return {
            "weight_rel": self.weight_rel,
            "read_rel": self.read_rel,
            "adc_rel": self.adc_rel,
            "w_ir": self.w_ir,
            "mean_magnitude": float(self.mean_magnitude),
            "levels": int(self.levels),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LayerNoise:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


def layer_noise(model, weights: np.ndarray) -> LayerNoise:
    """`LayerNoise` of one layer from its `device.statistical.StatisticalModel` and its programmed weights (K, N)."""
    w0 = np.asarray(weights, dtype=np.float64)
    column = np.abs(w0).max(axis=0)
    column = np.where(column > 0, column, 1.0)
    error = np.sqrt(np.mean((model.w_eff - w0) ** 2, axis=0))

    def f32(array) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32)

    return LayerNoise(
        weight_rel=f32(error / column),
        read_rel=f32(model.read_var.mean(axis=0) / column**2),
        adc_rel=f32(model.adc_var / column**2),
        w_ir=f32(model.w_ir),
        mean_magnitude=float(model.mean_magnitude),
        levels=int(model.dac_levels),
    )


def measure_layer_noise(
    model: nn.Module, alphas_cumprod: np.ndarray, config: HardwareAwareConfig
) -> dict[str, LayerNoise]:
    """Program ``model`` onto ``config``'s chip (statistical emulation), calibrate it, and measure every layer.

    The chip is built as a generation request builds it (`diffusion.generation.generate.calibration_inputs`
    seeded by the chip seed), so the statistics are those of the chip the service would run.
    Torch's global generator and thread count are left as they were.
    """
    threads = torch.get_num_threads()
    try:
        from device.profiles import get_profile, with_overrides
        from diffusion.chip.backend import ChipNetwork
        from diffusion.generation.generate import calibration_inputs

        profile = with_overrides(get_profile(config.profile), {"crossbar": {"emulation": "statistical"}})
        with torch.random.fork_rng(devices=[]):
            inputs = calibration_inputs(model.eval(), alphas_cumprod, config.chip_seed, config.calibration_batch)
            network = ChipNetwork(model, profile, config.chip_seed, calibration_inputs=inputs, device="cpu")
    finally:
        torch.set_num_threads(threads)  # Numba's OpenMP layer resets the shared OpenMP thread count
    return {name: layer_noise(engine.model, network.weights[name]) for name, engine in network.statistical.items()}


def save_layer_noise(path: str | Path, noise: dict[str, LayerNoise], config: HardwareAwareConfig) -> None:
    torch.save({"config": config.to_dict(), "layers": {name: n.to_dict() for name, n in noise.items()}}, Path(path))


def load_layer_noise(path: str | Path, config: HardwareAwareConfig) -> dict[str, LayerNoise]:
    """Statistics saved by `save_layer_noise`; ParameterError when they were measured for another config."""
    data = torch.load(Path(path), map_location="cpu", weights_only=True)
    if data.get("config") != config.to_dict():
        raise ParameterError(f"{path} was measured for {data.get('config')}, not {config.to_dict()}")
    return {name: LayerNoise.from_dict(layer) for name, layer in data["layers"].items()}


class _Noisy:
    """What `NoisyConv2d` and `NoisyLinear` share: the statistics as non-persistent buffers."""

    def _set_noise(self, noise: LayerNoise, scale: float) -> None:
        for name in ("weight_rel", "read_rel", "adc_rel", "w_ir"):
            self.register_buffer(name, getattr(noise, name).clone(), persistent=False)
        self.mean_magnitude, self.levels, self.noise_scale = noise.mean_magnitude, noise.levels, float(scale)
        self.has_ir = bool(torch.any(noise.w_ir != 0))

    def _column_scale(self, weight: torch.Tensor) -> torch.Tensor:
        """c_n = maxⱼ |W_jn| of the current weights (N,), detached; zero → 1."""
        column = weight.detach().abs().reshape(weight.shape[0], -1).amax(dim=1)
        return torch.where(column > 0, column, torch.ones_like(column))

    def _noisy_weight(self, weight: torch.Tensor, column: torch.Tensor) -> torch.Tensor:
        sigma = (self.noise_scale * self.weight_rel * column).reshape(-1, *([1] * (weight.dim() - 1)))
        return weight + sigma * torch.randn_like(weight)

    def _quantise(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """The DAC's rounding in the forward pass, the identity in the backward pass."""
        if not self.levels:
            return x
        rounded = torch.round(x.detach() / scale * self.levels) * (scale / self.levels)
        return x + (rounded - x.detach())


class NoisyConv2d(_Noisy, nn.Conv2d):
    """`nn.Conv2d` whose training-mode forward is the chip's (module docstring); eval mode is plain."""

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, noise: LayerNoise, scale: float = 1.0) -> NoisyConv2d:
        if conv.groups != 1 or conv.dilation != (1, 1) or any(k % 2 == 0 for k in conv.kernel_size):
            raise ParameterError(f"hardware-aware convolutions need groups 1, dilation 1 and odd kernels, got {conv}")
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            bias=conv.bias is not None,
        )
        layer.load_state_dict(conv.state_dict())
        layer._set_noise(noise, scale)
        return layer.to(conv.weight.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        kh, kw = self.kernel_size
        geometry = dict(stride=self.stride, padding=self.padding)
        column = self._column_scale(self.weight)
        channel_max = x.detach().abs().amax(dim=1, keepdim=True)
        x_q = self._quantise(x, _pixel_scale(channel_max, kh, kw))
        y = F.conv2d(x_q, self._noisy_weight(self.weight, column), self.bias, **geometry)
        with torch.no_grad():  # the IR term and the noise: a constant offset in the backward pass
            scale = _patch_scale(channel_max, self)
            pool = dict(kernel_size=(kh, kw), stride=self.stride, padding=self.padding)
            squares = kh * kw * F.avg_pool2d((x_q * x_q).sum(dim=1, keepdim=True), **pool)
            variance = scale * scale * self.adc_rel.reshape(1, -1, 1, 1) + squares * self.read_rel.reshape(1, -1, 1, 1)
            error = variance.sqrt_().mul_((self.noise_scale * column).reshape(1, -1, 1, 1)).mul_(torch.randn_like(y))
            if self.has_ir:
                magnitude = kh * kw * F.avg_pool2d(x_q.abs().sum(dim=1, keepdim=True), **pool)
                mu = magnitude / scale / self.mean_magnitude
                kernel = self.w_ir.T.reshape(self.out_channels, self.in_channels, kh, kw)
                error.sub_((mu - 1.0) * F.conv2d(x_q, kernel, **geometry))
        return y + error


class NoisyLinear(_Noisy, nn.Linear):
    """`nn.Linear` whose training-mode forward is the chip's (module docstring); eval mode is plain."""

    @classmethod
    def from_linear(cls, linear: nn.Linear, noise: LayerNoise, scale: float = 1.0) -> NoisyLinear:
        layer = cls(linear.in_features, linear.out_features, bias=linear.bias is not None)
        layer.load_state_dict(linear.state_dict())
        layer._set_noise(noise, scale)
        return layer.to(linear.weight.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        shape = x.shape
        rows = x.reshape(-1, shape[-1])
        column = self._column_scale(self.weight)
        scale = rows.detach().abs().amax(dim=1, keepdim=True)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        x_q = self._quantise(rows, scale)
        y = F.linear(x_q, self._noisy_weight(self.weight, column), self.bias)
        with torch.no_grad():  # the IR term and the noise: a constant offset in the backward pass
            squares = (x_q * x_q).sum(dim=1, keepdim=True)
            variance = scale * scale * self.adc_rel + squares * self.read_rel
            error = variance.sqrt_().mul_(self.noise_scale * column).mul_(torch.randn_like(y))
            if self.has_ir:
                mu = x_q.abs().sum(dim=1, keepdim=True) / scale / self.mean_magnitude
                error.sub_((mu - 1.0) * (x_q @ self.w_ir))
        return (y + error).reshape(*shape[:-1], -1)


def make_hardware_aware(model: nn.Module, noise: dict[str, LayerNoise], scale: float = 1.0) -> nn.Module:
    """``model`` with every Conv2d/Linear named in ``noise`` swapped for its noisy twin, in place; returns it.

    Names are qualified module names (`diffusion.model.unet.iter_weight_layers`, the chip's layer names).
    Every Conv2d and Linear must have statistics: ParameterError names those that have none.
    """
    missing = [name for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and name not in noise]
    if missing:
        raise ParameterError(f"no hardware noise statistics for layer(s) {missing}")
    for name, module in list(model.named_modules()):
        if type(module) is nn.Conv2d:
            _replace(model, name, NoisyConv2d.from_conv(module, noise[name], scale))
        elif type(module) is nn.Linear:
            _replace(model, name, NoisyLinear.from_linear(module, noise[name], scale))
    return model


def _replace(model: nn.Module, name: str, layer: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, layer)
