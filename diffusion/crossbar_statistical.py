"""The statistical emulation mode in torch: a `device.statistical.StatisticalModel` applied on CPU or CUDA.

`device.statistical` derives, from a programmed and calibrated crossbar layer, the reduced-order
model y = x_q @ W_eff − (μ_b − 1)·(x_q @ W_ir) + σ ⊙ ξ with σ² = Σ_j x_q,j²·R_jn + s_b²·A_n (its
docstring gives every term and its source). This module applies it to torch tensors, differentiably,
on the engine's device, in two forms:

* `StatisticalCrossbar.matmul` — rows x (B, K), exactly the model (it is checked against
  `StatisticalModel.matmul`, the plain-numpy reference, in tests/diffusion/test_crossbar_statistical.py);
* `StatisticalCrossbar.conv2d` — a convolution on (B, C, H, W) without im2col: W_eff and W_ir as one
  native convolution with 2N output channels. Three reductions make that possible, each measured
  against the exact path in docs/emulation.md:
  - the DAC's per-patch scale s = max |x| over the patch is used exactly for the output's ADC term
    and μ (a max-pool of the channel-wise max), but the input is quantised with the scale of the
    patch *centred* on each pixel (a pixel belongs to k² patches with different scales; the
    rounding error has the same size and the same correlation across outputs);
  - the read-noise variance Σ_j x_q,j²·R_jn is taken as ‖x_q,patch‖²·R̄_n, R averaged over the
    patch's rows (an average pool of the channel-wise sum of squares); per input channel it was no
    closer to the exact path (variance ratios 0.93–1.05 either way) and cost a C-channel pool;
  - μ_b = Σ_patch |x_q| / s / m̄ from an average pool of the channel-wise sum.

Randomness: one ``torch.randn`` per output element from the caller's ``torch.Generator``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from device.errors import InputError
from device.statistical import StatisticalModel


def _tensor(array: np.ndarray, device, dtype) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype, device=device)


class StatisticalCrossbar:
    """One layer's statistical model on ``device`` in ``dtype`` (float32 by default)."""

    def __init__(self, model: StatisticalModel, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> None:
        self.model = model
        self.device = torch.device(device)
        self.dtype = dtype
        self.in_features, self.out_features = model.w_eff.shape
        self.levels = model.dac_levels
        self.mean_magnitude = float(model.mean_magnitude)
        self.has_ir = bool(np.any(model.w_ir))
        self.has_read_noise = bool(np.any(model.read_var))
        self.has_adc_noise = bool(np.any(model.adc_var))
        both = np.concatenate([model.w_eff, model.w_ir], axis=1) if self.has_ir else model.w_eff
        self.weights = _tensor(both, self.device, dtype)  # (K, N) or (K, 2N)
        self.read_var = _tensor(model.read_var, self.device, dtype)  # (K, N)
        self._mean_read = self.read_var.mean(dim=0)  # (N,)
        self.adc_var = _tensor(model.adc_var, self.device, dtype)  # (N,)
        self.bit_weights = None
        if model.input_mode == "bit_serial":
            self.bit_weights = _tensor(np.square(np.asarray(model.plane_weights)), self.device, dtype)
        self._conv_cache: dict = {}

    @property
    def noisy(self) -> bool:
        return self.has_read_noise or self.has_adc_noise

    # --- pieces shared by both forms ------------------------------------------------------------
    def _quantise(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        if not self.levels:
            return x
        return torch.round(x / scale * self.levels) * (scale / self.levels)

    def _square_inputs(self, x_q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """x_q² (amplitude) or s²·Σ_k w_k²·bit_k(|q|)² (bit-serial), elementwise."""
        if self.bit_weights is None:
            return x_q * x_q
        magnitude = torch.round(x_q.abs() / scale * self.levels).to(torch.int64)
        total = torch.zeros_like(x_q)
        for k in range(self.bit_weights.numel()):
            total = total + self.bit_weights[k] * ((magnitude >> k) & 1).to(x_q.dtype)
        return total * scale * scale

    def _noise(self, variance: torch.Tensor, generator, shape) -> torch.Tensor:
        if generator is None:
            raise InputError("this layer's statistical model has read or ADC noise: pass generator=torch.Generator")
        z = torch.randn(shape, generator=generator, device=self.device, dtype=self.dtype)
        return variance.clamp_min(0).sqrt() * z

    def _check(self, x: torch.Tensor, features: int, what: str) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise InputError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if features != self.in_features:
            raise InputError(f"x has {features} {what} but the layer expects {self.in_features} (shape {tuple(x.shape)})")
        return x.to(device=self.device, dtype=self.dtype)

    # --- rows ------------------------------------------------------------------------------------
    def matmul(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, N) for inputs x (B, K): the model exactly (row scale, DAC, μ and σ per row)."""
        y, variance = self.moments(x)
        return y if variance is None else y + self._noise(variance, generator, y.shape)

    def moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, variance) of the model's output for rows x (B, K); variance None when noiseless."""
        if not isinstance(x, torch.Tensor):
            raise InputError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2:
            raise InputError(f"x must be 2-D (B, K), got shape {tuple(x.shape)}")
        x = self._check(x, x.shape[1], "features")
        scale = x.abs().amax(dim=1, keepdim=True)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        x_q = self._quantise(x, scale)
        both = x_q @ self.weights
        y = both[:, : self.out_features]
        if self.has_ir:
            mu = x_q.abs().sum(dim=1, keepdim=True) / scale / self.mean_magnitude
            y = y - (mu - 1.0) * both[:, self.out_features :]
        if not self.noisy:
            return y, None
        variance = scale * scale * self.adc_var
        if self.has_read_noise:
            variance = variance + self._square_inputs(x_q, scale) @ self.read_var
        return y, variance

    def square_sums(self, x: torch.Tensor) -> list[np.ndarray]:
        """Σ_b V_bj² per DAC plane (the ledger's read energy, `ProgrammedMatrix.charge`) of rows x (B, K)."""
        scale = x.abs().amax(dim=1, keepdim=True)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        unit = self._quantise(x.to(self.dtype), scale) / scale
        return _plane_square_sums(unit, self.levels, self.model)

    # --- convolutions ----------------------------------------------------------------------------
    def _conv_weights(self, spec: torch.nn.Conv2d):
        key = (spec.in_channels, spec.kernel_size)
        if key not in self._conv_cache:
            kh, kw = spec.kernel_size
            c_in = spec.in_channels
            if c_in * kh * kw != self.in_features:
                raise InputError(f"conv {c_in}×{kh}×{kw} does not match the layer's {self.in_features} rows")
            self._conv_cache[key] = self.weights.T.reshape(-1, c_in, kh, kw).contiguous()
        return self._conv_cache[key]

    def conv2d(self, x: torch.Tensor, spec: torch.nn.Conv2d, generator: torch.Generator | None = None) -> torch.Tensor:
        """The layer as a convolution with ``spec``'s geometry on x (B, C, H, W) → (B, N, H', W') (see module docstring)."""
        y, variance = self.conv_moments(x, spec)
        return y if variance is None else y + self._noise(variance, generator, y.shape)

    def conv2d_charged(self, x: torch.Tensor, spec: torch.nn.Conv2d, generator, row_conductance: torch.Tensor):
        """(`conv2d`'s output, Σ over patches and rows of V_j²·G_j in W·s⁻¹·… units of V²·S).

        ``row_conductance`` (K,): Σ over the columns of G⁺ + G⁻ per im2col row (the ledger's
        `ProgrammedMatrix.conductance_per_row`); the sum is the array read power of all patches,
        which times t_read is the read energy — computed as one single-output convolution of x_q²,
        weighted by every patch's 1/s², instead of im2col.
        """
        y, variance, energy = self.conv_moments(x, spec, row_conductance)
        return (y if variance is None else y + self._noise(variance, generator, y.shape)), energy

    def conv_moments(self, x: torch.Tensor, spec: torch.nn.Conv2d, row_conductance: torch.Tensor | None = None):
        """(mean, variance) of `conv2d`'s output, each (B, N, H', W'); variance None when noiseless.

        With ``row_conductance`` also the read power Σ V²·G of `conv2d_charged` (a third item).
        """
        if not isinstance(x, torch.Tensor):
            raise InputError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 4:
            raise InputError(f"x must be 4-D (B, C, H, W), got shape {tuple(x.shape)}")
        if spec.groups != 1:
            raise InputError(f"grouped convolutions are not supported on the crossbar (groups={spec.groups})")
        kh, kw = spec.kernel_size
        x = self._check(x, x.shape[1] * kh * kw, "channels × kernel positions")
        if self.bit_weights is not None or spec.dilation != (1, 1) or kh % 2 == 0 or kw % 2 == 0:
            return self._conv_by_rows(x, spec, row_conductance)  # the pooled form needs odd kernels (a centre pixel)
        kernel = self._conv_weights(spec)
        geometry = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation)
        channel_max = x.abs().amax(dim=1, keepdim=True)
        if self.levels:
            x_q = self._quantise(x, _pixel_scale(channel_max, kh, kw))
        else:
            x_q = x
        both = F.conv2d(x_q, kernel, **geometry)
        y = both[:, : self.out_features]
        charged = row_conductance is not None
        if not (self.has_ir or self.noisy or charged):
            return y, None
        scale = F.max_pool2d(x_q.abs().amax(dim=1, keepdim=True), (kh, kw), **geometry)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        window = kh * kw
        energy = patch_read_power(x_q, spec, row_conductance, self.model.read_voltage, scale) if charged else None
        if self.has_ir:
            magnitude = window * F.avg_pool2d(x_q.abs().sum(dim=1, keepdim=True), (kh, kw), stride=spec.stride, padding=spec.padding)
            mu = magnitude / scale / self.mean_magnitude
            y = y - (mu - 1.0) * both[:, self.out_features :]
        variance = None
        if self.noisy:
            variance = scale * scale * self.adc_var.reshape(1, -1, 1, 1)
            if self.has_read_noise:
                squares = window * F.avg_pool2d((x_q * x_q).sum(dim=1, keepdim=True), (kh, kw), stride=spec.stride, padding=spec.padding)
                variance = variance + squares * self._mean_read.reshape(1, -1, 1, 1)
        return (y, variance, energy) if charged else (y, variance)

    def _conv_by_rows(self, x: torch.Tensor, spec: torch.nn.Conv2d, row_conductance=None):
        """im2col + `moments`: the model exactly, for the geometries the pooled form does not cover."""
        patches, (h_out, w_out) = unfold_patches(x, spec)
        y, variance = self.moments(patches)

        def image(rows):
            return None if rows is None else rows.reshape(x.shape[0], h_out * w_out, -1).transpose(1, 2).reshape(x.shape[0], -1, h_out, w_out)

        if row_conductance is None:
            return image(y), image(variance)
        sums = self.square_sums(patches)
        energy = sum(float(np.asarray(s) @ row_conductance.double().cpu().numpy()) for s in sums)
        return image(y), image(variance), energy


def patch_read_power(x: torch.Tensor, spec: torch.nn.Conv2d, row_conductance: torch.Tensor, read_voltage: float, scale=None) -> float:
    """Σ over the patches of a convolution and their rows of V_j²·G_j, V_j = x_j/s·V_read (V²·S), without im2col.

    s is every patch's max |x| (the DAC scale; ``scale`` when the caller has it, (B, 1, H', W')),
    G_j = ``row_conductance`` (K,), the summed conductance of im2col row j = (c, ki, kj): one
    single-output convolution of x² with G as its kernel, weighted by 1/s². Times t_read it is the
    array read energy `device.crossbar.ProgrammedMatrix.read_energy` charges (F1).
    """
    kh, kw = spec.kernel_size
    geometry = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation)
    if scale is None:
        scale = F.max_pool2d(x.abs().amax(dim=1, keepdim=True), (kh, kw), **geometry)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    power = F.conv2d(x * x, row_conductance.to(x.dtype).reshape(1, -1, kh, kw), **geometry)
    return float((power / (scale * scale)).sum(dtype=torch.float64)) * read_voltage**2


def unfold_patches(x: torch.Tensor, spec: torch.nn.Conv2d) -> tuple[torch.Tensor, tuple[int, int]]:
    """im2col: (B, C, H, W) → patches (B·H'·W', C·kh·kw) in `F.unfold`'s order, and (H', W')."""
    patches = F.unfold(x, spec.kernel_size, dilation=spec.dilation, padding=spec.padding, stride=spec.stride)
    b, k, length = patches.shape
    h_out = (x.shape[2] + 2 * spec.padding[0] - spec.dilation[0] * (spec.kernel_size[0] - 1) - 1) // spec.stride[0] + 1
    return patches.transpose(1, 2).reshape(b * length, k), (h_out, length // h_out)


def _pixel_scale(channel_max: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """The DAC scale of the patch centred on every pixel: max |x| over channels and the k×k window."""
    if (kh, kw) != (1, 1):
        channel_max = F.max_pool2d(channel_max, (kh, kw), stride=1, padding=(kh // 2, kw // 2))
    return torch.where(channel_max > 0, channel_max, torch.ones_like(channel_max))


def _plane_square_sums(unit: torch.Tensor, levels: int, model: StatisticalModel) -> list[np.ndarray]:
    """Σ_b V² per DAC plane of unit inputs (B, K) in [−1, 1]: one plane (amplitude) or one per bit."""
    v_read = model.read_voltage
    if model.input_mode != "bit_serial":
        return [(unit.double().square().sum(dim=0) * v_read**2).cpu().numpy()]
    magnitude = torch.round(unit.abs() * levels).to(torch.int64)
    return [(((magnitude >> k) & 1).double().sum(dim=0) * v_read**2).cpu().numpy() for k in range(len(model.plane_weights))]
