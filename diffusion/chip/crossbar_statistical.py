"""The statistical emulation mode in torch: a `device.statistical.StatisticalModel` applied on CPU or CUDA.

`device.statistical` derives, from a programmed and calibrated crossbar layer, the reduced-order
model y = x_q @ W_eff − (μ_b − 1)·(x_q @ W_ir) + σ ⊙ ξ with σ² = Σ_j x_q,j²·R_jn + s_b²·A_n (its
docstring gives every term and its source). This module applies it to torch tensors, differentiably,
on the engine's device, in two forms:

* `StatisticalCrossbar.matmul` — rows x (B, K), exactly the model (it is checked against
  `StatisticalModel.matmul`, the plain-numpy reference, in tests/diffusion/chip/test_crossbar_statistical.py);
* `StatisticalCrossbar.conv2d` — a convolution on (B, C, H, W) without im2col: W_eff as one
  native convolution with N output channels. Four reductions make that possible, each measured
  against the exact path in docs/emulation.md:
  - the DAC's per-patch scale s = max |x| over the patch is used exactly for the output's ADC term
    and μ (a max-pool of the channel-wise max), but the input is quantised with the scale of the
    patch *centred* on each pixel (a pixel belongs to k² patches with different scales; the
    rounding error has the same size and the same correlation across outputs);
  - the IR drop's first-order slope (μ_b − 1)·(x_q @ W_ir) is a second convolution, with W_ir
    as its kernel, scaled per patch by μ_b − 1 (an output gain along each output's own weights
    instead saved that convolution but cost +1.6 to +2.9 FID against exact at N = 500,
    docs/emulation.md);
  - the read-noise variance Σ_j x_q,j²·R_jn is taken as ‖x_q,patch‖²·R̄_n, R averaged over the
    patch's rows (an average pool of the channel-wise sum of squares); per input channel it was no
    closer to the exact path (variance ratios 0.93–1.05 either way) and cost a C-channel pool;
  - μ_b = Σ_patch |x_q| / s / m̄ from an average pool of the channel-wise sum.

On the CPU in float32, outside autograd, `conv2d` runs the elementwise passes around the
convolution fused in Numba (`device.statistical_kernels`: three passes, the Gaussian deviates drawn
in the last, the trim and bias folded in) with reused buffers; ``fused = False`` keeps the plain
torch form, which is what CUDA and gradients use and what the fused path is tested against.

Randomness: the torch form draws one ``torch.randn`` per output element from the caller's
``torch.Generator``; the fused path draws one 64-bit seed from it per layer call and the deviates
from `device.random_streams.gaussian_table` (the same law, other numbers).
"""

from __future__ import annotations

import threading

import numpy as np
import torch
import torch.nn.functional as F

from device import statistical_kernels as kernels
from device.errors import InputError
from device.statistical import StatisticalModel

#: `kernels.noisy_readout`'s slope argument for a layer without IR drop.
_NO_SLOPE = np.zeros((0, 0, 0), dtype=np.float32)


def _tensor(array: np.ndarray, device, dtype) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype, device=device)


class StatisticalCrossbar:
    """One layer's statistical model on ``device`` in ``dtype`` (float32 by default)."""

    def __init__(
        self, model: StatisticalModel, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ) -> None:
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
        self._ones = torch.ones(self.out_features, dtype=dtype)
        self._zeros = torch.zeros(self.out_features, dtype=dtype)
        self._conv_cache: dict = {}
        #: Let `conv2d` run the CPU float32 passes in Numba (`device.statistical_kernels`); False
        #: keeps the plain torch form (the reference the fused one is tested against).
        self.fused = True

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
            raise InputError(
                f"x has {features} {what} but the layer expects {self.in_features} (shape {tuple(x.shape)})"
            )
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
    def _conv_weights(self, spec: torch.nn.Conv2d, slope: bool = False):
        """W_eff (or, with ``slope``, W_ir) as a (N, C, kh, kw) kernel (the pooled form's convolutions)."""
        key = (spec.in_channels, spec.kernel_size, slope)
        if key not in self._conv_cache:
            kh, kw = spec.kernel_size
            c_in = spec.in_channels
            if c_in * kh * kw != self.in_features:
                raise InputError(f"conv {c_in}×{kh}×{kw} does not match the layer's {self.in_features} rows")
            columns = self.weights[:, self.out_features :] if slope else self.weights[:, : self.out_features]
            self._conv_cache[key] = columns.T.reshape(-1, c_in, kh, kw).contiguous()
        return self._conv_cache[key]

    def _pooled(self, spec: torch.nn.Conv2d) -> bool:
        """True when the pooled form applies: amplitude DAC, no dilation, odd kernels (a centre pixel)."""
        kh, kw = spec.kernel_size
        return self.bit_weights is None and spec.dilation == (1, 1) and kh % 2 == 1 and kw % 2 == 1

    def _fused(self, x: torch.Tensor) -> bool:
        """True when the Numba kernels (`device.statistical_kernels`) may replace the torch passes."""
        return (
            self.fused
            and self.device.type == "cpu"
            and self.dtype == torch.float32
            and not (torch.is_grad_enabled() and x.requires_grad)
        )

    def conv2d(
        self, x: torch.Tensor, spec: torch.nn.Conv2d, generator: torch.Generator | None = None, trim=None
    ) -> torch.Tensor:
        """The layer as a convolution with ``spec``'s geometry on x (B, C, H, W) → (B, N, H', W') (see module docstring).

        ``trim``: optional (gain, offset) per output (N,), applied as y·gain + offset.
        """
        return self._conv(x, spec, generator, None, trim)[0]

    def conv2d_charged(
        self, x: torch.Tensor, spec: torch.nn.Conv2d, generator, row_conductance: torch.Tensor, trim=None
    ):
        """(`conv2d`'s output, Σ over patches and rows of V_j²·G_j in V²·S).

        ``row_conductance`` (K,): Σ over the columns of G⁺ + G⁻ per im2col row (the ledger's
        `ProgrammedMatrix.conductance_per_row`); the sum is the array read power of all patches,
        which times t_read is the read energy (`patch_read_power`, without im2col).
        """
        return self._conv(x, spec, generator, row_conductance, trim)

    def _conv(self, x, spec, generator, row_conductance, trim):
        x = self._check_conv(x, spec)
        if self._pooled(spec) and self._fused(x):
            return self._conv_fused(x, spec, generator, row_conductance, trim)
        moments = self.conv_moments(x, spec, row_conductance)
        y, variance = moments[0], moments[1]
        if variance is not None:
            y = y + self._noise(variance, generator, y.shape)
        if trim is not None:
            y = y * trim[0].reshape(1, -1, 1, 1) + trim[1].reshape(1, -1, 1, 1)
        return y, (moments[2] if row_conductance is not None else None)

    def _check_conv(self, x: torch.Tensor, spec: torch.nn.Conv2d) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise InputError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 4:
            raise InputError(f"x must be 4-D (B, C, H, W), got shape {tuple(x.shape)}")
        if spec.groups != 1:
            raise InputError(f"grouped convolutions are not supported on the crossbar (groups={spec.groups})")
        kh, kw = spec.kernel_size
        return self._check(x, x.shape[1] * kh * kw, "channels × kernel positions")

    def conv_moments(self, x: torch.Tensor, spec: torch.nn.Conv2d, row_conductance: torch.Tensor | None = None):
        """(mean, variance) of `conv2d`'s output, each (B, N, H', W'); variance None when noiseless.

        With ``row_conductance`` also the read power Σ V²·G of `conv2d_charged` (a third item).
        This is the torch form, differentiable and on any device; on the CPU `conv2d` runs the same
        arithmetic fused in Numba.
        """
        x = self._check_conv(x, spec)
        if not self._pooled(spec):
            return self._conv_by_rows(x, spec, row_conductance)
        kh, kw = spec.kernel_size
        geometry = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation)
        channel_max = x.abs().amax(dim=1, keepdim=True)
        x_q = self._quantise(x, _pixel_scale(channel_max, kh, kw)) if self.levels else x
        y = F.conv2d(x_q, self._conv_weights(spec), **geometry)
        charged = row_conductance is not None
        if not (self.has_ir or self.noisy or charged):
            return y, None
        scale = _patch_scale(channel_max, spec)
        window = kh * kw
        energy = patch_read_power(x_q, spec, row_conductance, self.model.read_voltage, scale) if charged else None
        if self.has_ir:
            magnitude = window * F.avg_pool2d(
                x_q.abs().sum(dim=1, keepdim=True), (kh, kw), stride=spec.stride, padding=spec.padding
            )
            mu = magnitude / scale / self.mean_magnitude
            y = y - (mu - 1.0) * F.conv2d(x_q, self._conv_weights(spec, slope=True), **geometry)
        variance = None
        if self.noisy:
            variance = scale * scale * self.adc_var.reshape(1, -1, 1, 1)
            if self.has_read_noise:
                squares = window * F.avg_pool2d(
                    (x_q * x_q).sum(dim=1, keepdim=True), (kh, kw), stride=spec.stride, padding=spec.padding
                )
                variance = variance + squares * self._mean_read.reshape(1, -1, 1, 1)
        return (y, variance, energy) if charged else (y, variance)

    def _conv_fused(self, x, spec, generator, row_conductance, trim):
        """`conv_moments` + noise + trim with the elementwise passes in `device.statistical_kernels` (CPU, float32)."""
        kh, kw = spec.kernel_size
        batch, channels, height, width = x.shape
        h_out = (height + 2 * spec.padding[0] - kh) // spec.stride[0] + 1
        w_out = (width + 2 * spec.padding[1] - kw) // spec.stride[1] + 1
        work = _workspace()
        rows = x.detach().contiguous().reshape(batch, channels, height * width).numpy()
        channel_max = kernels.channel_abs_max(rows, work.get("channel_max", (batch, height, width)).reshape(batch, -1))
        channel_max = channel_max.reshape(batch, height, width)
        centred = (kh // 2, kw // 2)
        unit = (kh, kw) == (1, 1)
        if unit:
            pixel = channel_max
        else:
            pixel = kernels.window_reduce(
                channel_max, kh, kw, 1, 1, *centred, True, work.get("pixel", (batch, height, width))
            )
        same = spec.stride == (1, 1) and spec.padding == centred
        scale = (
            pixel
            if same
            else kernels.window_reduce(
                channel_max, kh, kw, *spec.stride, *spec.padding, True, work.get("scale", (batch, h_out, w_out))
            )
        )
        if not same:
            kernels.ones_for_zeros(scale)
        kernels.ones_for_zeros(
            pixel
        )  # after the patch scale: an all-zero pixel must not raise its neighbours' patch max
        x_q = work.get("x_q", rows.shape)
        squares = work.get("squares", rows.shape)
        abs_sum, square_sum = (
            work.get("abs_sum", (batch, height, width)),
            work.get("square_sum", (batch, height, width)),
        )
        kernels.quantise_pixels(
            rows,
            pixel.reshape(batch, -1),
            self.levels,
            x_q,
            squares,
            abs_sum.reshape(batch, -1),
            square_sum.reshape(batch, -1),
        )
        x_q = torch.from_numpy(x_q).reshape(x.shape)
        y = F.conv2d(x_q, self._conv_weights(spec), stride=spec.stride, padding=spec.padding)
        if unit and spec.stride == (1, 1):
            patch_abs, patch_squares = abs_sum, square_sum
        else:
            patch_abs = kernels.window_reduce(
                abs_sum, kh, kw, *spec.stride, *spec.padding, False, work.get("patch_abs", (batch, h_out, w_out))
            )
            patch_squares = kernels.window_reduce(
                square_sum, kh, kw, *spec.stride, *spec.padding, False, work.get("patch_squares", (batch, h_out, w_out))
            )
        energy = None
        if row_conductance is not None:
            energy = patch_read_power(
                x_q,
                spec,
                row_conductance,
                self.model.read_voltage,
                torch.from_numpy(scale).reshape(batch, 1, h_out, w_out),
                squares=torch.from_numpy(squares).reshape(x.shape),
            )
        if self.noisy and generator is None:
            raise InputError("this layer's statistical model has read or ADC noise: pass generator=torch.Generator")
        seed = int(torch.randint(0, 2**62, (1,), generator=generator)) if self.noisy else 0
        gain, offset = trim if trim is not None else (self._ones, self._zeros)
        pixels = h_out * w_out
        if self.has_ir:
            slope = F.conv2d(x_q, self._conv_weights(spec, slope=True), stride=spec.stride, padding=spec.padding)
            slope = slope.numpy().reshape(batch, self.out_features, pixels)
        else:
            slope = _NO_SLOPE
        kernels.noisy_readout(
            y.numpy().reshape(batch, self.out_features, pixels),
            slope,
            patch_abs.reshape(batch, pixels),
            scale.reshape(batch, pixels),
            patch_squares.reshape(batch, pixels),
            1.0 / self.mean_magnitude,
            self.adc_var.numpy(),
            self._mean_read.numpy(),
            gain.detach().contiguous().numpy(),
            offset.detach().contiguous().numpy(),
            kernels.GAUSSIAN_TABLE,
            np.uint64(seed),
            self.noisy,
        )
        return y, energy

    def _conv_by_rows(self, x: torch.Tensor, spec: torch.nn.Conv2d, row_conductance=None):
        """im2col + `moments`: the model exactly, for the geometries the pooled form does not cover."""
        patches, (h_out, w_out) = unfold_patches(x, spec)
        y, variance = self.moments(patches)

        def image(rows):
            return (
                None
                if rows is None
                else rows.reshape(x.shape[0], h_out * w_out, -1).transpose(1, 2).reshape(x.shape[0], -1, h_out, w_out)
            )

        if row_conductance is None:
            return image(y), image(variance)
        sums = self.square_sums(patches)
        energy = sum(float(np.asarray(s) @ row_conductance.double().cpu().numpy()) for s in sums)
        return image(y), image(variance), energy


def patch_read_power(
    x: torch.Tensor, spec: torch.nn.Conv2d, row_conductance: torch.Tensor, read_voltage: float, scale=None, squares=None
) -> float:
    """Σ over the patches of a convolution and their rows of V_j²·G_j, V_j = x_j/s·V_read (V²·S), without im2col.

    s is every patch's max |x| (the DAC scale; ``scale`` when the caller has it, (B, 1, H', W')),
    G_j = ``row_conductance`` (K,), the summed conductance of im2col row j = (c, ki, kj). Times
    t_read it is the array read energy `device.crossbar.ProgrammedMatrix.read_energy` charges (F1).
    ``squares``: x² when the caller has it.

    Σ_p s_p⁻²·Σ_{c,k} G_ck·x²_{c, p+k} = Σ_{c,k} G_ck·M_ck with M_ck = Σ_q x²_cq·w_k(q), where
    w_k(q) = s_p⁻² at the pixel q that kernel position k of patch p reads (zero elsewhere; the
    maps are strided copies of s⁻², `_kernel_position_maps`), and M is one batched GEMM
    (B, C, H·W) @ (B, H·W, kh·kw) — k products per input element instead of a convolution with
    a single output channel, which the CPU's convolution kernels run at a fraction of their speed.
    """
    kh, kw = spec.kernel_size
    batch, channels, height, width = x.shape
    if scale is None:
        scale = _patch_scale(x.abs().amax(dim=1, keepdim=True), spec)
    inverse = 1.0 / (scale * scale)
    window = kh * kw
    maps = _kernel_position_maps(inverse, spec, height, width)
    squares = (x * x if squares is None else squares).reshape(batch, channels, height * width)
    moments = torch.bmm(squares, maps.reshape(batch, window, height * width).transpose(1, 2)).sum(dim=0)  # (C, kh·kw)
    power = (moments.double() * row_conductance.double().reshape(channels, window)).sum()
    return float(power) * read_voltage**2


def _kernel_position_maps(values: torch.Tensor, spec: torch.nn.Conv2d, height: int, width: int) -> torch.Tensor:
    """(B, kh·kw, H, W): map k holds values[b, 0, p] at the input pixel kernel position k of patch p reads, else 0.

    ``values`` (B, 1, H', W') per patch; pixel (s·i + ki·d − pad, s·j + kj·d − pad) for patch (i, j),
    as `F.conv2d` with ``spec``'s stride s, dilation d and zero padding reads them.
    """
    kh, kw = spec.kernel_size
    (sh, sw), (ph, pw), (dh, dw) = spec.stride, spec.padding, spec.dilation
    batch, _, h_out, w_out = values.shape
    maps = values.new_zeros(batch, kh * kw, height + 2 * ph, width + 2 * pw)
    for ki in range(kh):
        for kj in range(kw):
            top, left = ki * dh, kj * dw
            maps[:, ki * kw + kj, top : top + sh * (h_out - 1) + 1 : sh, left : left + sw * (w_out - 1) + 1 : sw] = (
                values[:, 0]
            )
    return maps[:, :, ph : ph + height, pw : pw + width]


def _patch_read_power_by_convolution(x, spec, row_conductance, read_voltage, scale) -> float:
    """`patch_read_power` as one single-output convolution of x² weighted by s⁻² (its plain reference)."""
    kh, kw = spec.kernel_size
    power = F.conv2d(
        x * x,
        row_conductance.to(x.dtype).reshape(1, -1, kh, kw),
        stride=spec.stride,
        padding=spec.padding,
        dilation=spec.dilation,
    )
    return float((power / (scale * scale)).sum(dtype=torch.float64)) * read_voltage**2


def unfold_patches(x: torch.Tensor, spec: torch.nn.Conv2d) -> tuple[torch.Tensor, tuple[int, int]]:
    """im2col: (B, C, H, W) → patches (B·H'·W', C·kh·kw) in `F.unfold`'s order, and (H', W')."""
    patches = F.unfold(x, spec.kernel_size, dilation=spec.dilation, padding=spec.padding, stride=spec.stride)
    b, k, length = patches.shape
    h_out = (x.shape[2] + 2 * spec.padding[0] - spec.dilation[0] * (spec.kernel_size[0] - 1) - 1) // spec.stride[0] + 1
    return patches.transpose(1, 2).reshape(b * length, k), (h_out, length // h_out)


class _Workspace(threading.local):
    """Reusable float32 buffers of the fused convolution, one per (tag, shape) and thread.

    Layers run one after another, and every buffer is dead when `_conv_fused` returns (its output
    is the convolution's own tensor), so one set per shape serves the whole network; reusing them
    avoids the page faults a fresh multi-megabyte buffer costs (`device.statistical_kernels`).
    """

    def __init__(self) -> None:
        self.buffers: dict = {}
        self.batch = None

    def get(self, tag: str, shape) -> np.ndarray:
        """A float32 buffer of ``shape`` (its contents undefined); buffers of another batch size are dropped.

        A forward pass uses one batch size throughout, so keeping only the current one bounds the
        memory to one pass's buffers however many request sizes a long-lived worker sees.
        """
        shape = tuple(shape)
        if shape[0] != self.batch:
            self.buffers, self.batch = {}, shape[0]
        key = (tag, shape)
        if key not in self.buffers:
            self.buffers[key] = np.empty(shape, dtype=np.float32)
        return self.buffers[key]


_WORKSPACE = _Workspace()


def _workspace() -> _Workspace:
    return _WORKSPACE


def _window_sum(maps: torch.Tensor, pool: dict) -> torch.Tensor:
    """Σ over every patch of per-pixel values (B, 1, H, W) → (B, 1, H', W') (zero padding)."""
    kh, kw = pool["kernel_size"]
    if (kh, kw) == (1, 1) and pool["stride"] == (1, 1):
        return maps
    return kh * kw * F.avg_pool2d(maps, **pool)


def _patch_scale(channel_max: torch.Tensor, spec: torch.nn.Conv2d) -> torch.Tensor:
    """The DAC scale of every patch: max |x| over channels and the patch, (B, 1, H', W'), zero → 1."""
    scale = F.max_pool2d(
        channel_max, spec.kernel_size, stride=spec.stride, padding=spec.padding, dilation=spec.dilation
    )
    return torch.where(scale > 0, scale, torch.ones_like(scale))


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
    return [
        (((magnitude >> k) & 1).double().sum(dim=0) * v_read**2).cpu().numpy() for k in range(len(model.plane_weights))
    ]
