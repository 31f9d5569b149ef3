"""Run a trained torch network on the emulated chip: every Conv2d and Linear as a crossbar matmul.

`ChipNetwork` deep-copies the model and swaps each `nn.Conv2d` for `ChipConv2d` (im2col: the
input patches (B·H'·W', C·k·k) times the flattened kernel (C·k·k, C_out)) and each `nn.Linear`
for `ChipLinear`, both computing on a `device.chip.Chip` where the weights were programmed once.
Biases are added digitally. Everything else in the network — GroupNorm, SiLU, skip additions and
concatenations, resampling — stays in float torch, as the chip's digital periphery would compute
it, and is counted for the ledger by forward hooks (ops per output element, below).

Programming happens once per (model, profile, chip seed); the ADC range of every tile is then
calibrated on the im2col inputs each layer sees for a calibration batch run through the software
network (real activations, as a chip would be calibrated in the field).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from device.chip import Chip
from device.profiles import HardwareProfile

#: Digital ops charged per output element of the layers that stay off the arrays (an assumption:
#: GroupNorm ≈ mean, variance, normalise, scale, shift; SiLU ≈ exp, add, divide, multiply).
DIGITAL_OPS_PER_ELEMENT = {nn.GroupNorm: 5, nn.SiLU: 4, nn.Upsample: 1}
BIAS_OPS_PER_ELEMENT = 1


def conv_weight_matrix(conv: nn.Conv2d) -> np.ndarray:
    """(C_out, C_in, kh, kw) kernel → (C_in·kh·kw, C_out) float64, matching `F.unfold`'s patch order."""
    if conv.groups != 1:
        raise ValueError(f"grouped convolutions are not supported on the crossbar (groups={conv.groups})")
    return conv.weight.detach().double().reshape(conv.out_channels, -1).T.contiguous().numpy()


def linear_weight_matrix(linear: nn.Linear) -> np.ndarray:
    """(out, in) weight → (in, out) float64 so that y = x @ W."""
    return linear.weight.detach().double().T.contiguous().numpy()


def im2col(x: torch.Tensor, conv: nn.Conv2d) -> tuple[np.ndarray, tuple[int, int]]:
    """Input (B, C, H, W) → patches (B·H'·W', C·kh·kw) float32 and the output size (H', W')."""
    patches = F.unfold(x, conv.kernel_size, dilation=conv.dilation, padding=conv.padding, stride=conv.stride)
    b, k, length = patches.shape
    h_out = (x.shape[2] + 2 * conv.padding[0] - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1) // conv.stride[0] + 1
    w_out = length // h_out
    return patches.detach().transpose(1, 2).reshape(b * length, k).float().numpy(), (h_out, w_out)


def fit_trim(readout: np.ndarray, target: np.ndarray, gain_limits=(0.5, 2.0)) -> tuple[np.ndarray, np.ndarray]:
    """Per-output gain g and offset c minimising Σ_b (g·y_b + c − t_b)²; shapes (B, N) → (N,), (N,).

    Ordinary least squares with intercept: g = cov(y, t)/var(y), c = mean(t) − g·mean(y); g is
    clipped to ``gain_limits`` (a trim, not a re-weighting) and outputs whose read-out does not vary
    keep g = 1 (c then takes up the mean difference).
    """
    y, t = np.asarray(readout, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if y.shape != t.shape or y.ndim != 2:
        raise ValueError(f"readout and target must be (B, N) of one shape, got {y.shape} and {t.shape}")
    y_mean, t_mean = y.mean(axis=0), t.mean(axis=0)
    dy = y - y_mean
    variance = np.einsum("bn,bn->n", dy, dy)
    varies = variance > 1e-12 * np.maximum(np.einsum("bn,bn->n", y, y), 1e-300)  # not rounding noise of a constant
    gain = np.divide(np.einsum("bn,bn->n", dy, t - t_mean), variance, out=np.ones(y.shape[1]), where=varies)
    gain = np.clip(gain, *gain_limits)
    return gain, t_mean - gain * y_mean


class ChipConv2d(nn.Module):
    """A Conv2d whose kernel lives on the chip; forward = im2col → crossbar matmul → reshape → bias."""

    def __init__(self, conv: nn.Conv2d, name: str, network: "ChipNetwork") -> None:
        super().__init__()
        self.conv_spec = copy.copy(conv)  # keeps kernel_size/stride/padding; weights are on the chip
        self.name = name
        self.network = network
        self.bias = None if conv.bias is None else conv.bias.detach().clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches, (h, w) = im2col(x, self.conv_spec)
        if self.network.capture is not None:
            self.network.capture.setdefault(self.name, []).append(patches)
            y = patches @ self.network.weights[self.name]
        else:
            y = self.network.read_out(self.name, patches)
        out = torch.from_numpy(y).float().reshape(x.shape[0], h * w, -1).transpose(1, 2).reshape(x.shape[0], -1, h, w)
        return self.network.add_bias(out, self.bias, channel_dim=1)


class ChipLinear(nn.Module):
    """A Linear whose weight lives on the chip."""

    def __init__(self, linear: nn.Linear, name: str, network: "ChipNetwork") -> None:
        super().__init__()
        self.name = name
        self.network = network
        self.bias = None if linear.bias is None else linear.bias.detach().clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1]).float().numpy()
        if self.network.capture is not None:
            self.network.capture.setdefault(self.name, []).append(flat)
            y = flat @ self.network.weights[self.name]
        else:
            y = self.network.read_out(self.name, flat)
        out = torch.from_numpy(y).float().reshape(*x.shape[:-1], -1)
        return self.network.add_bias(out, self.bias, channel_dim=-1)


class ChipNetwork(nn.Module):
    """``model`` with every Conv2d/Linear programmed onto ``chip`` (see module docstring).

    Args:
        model: a trained network built only from Conv2d, Linear and digital layers.
        profile, chip_seed: the chip to emulate (programmed here, once).
        calibration_inputs: arguments for one forward pass of ``model`` used to calibrate the ADCs
            (e.g. ``(x_t, t)`` for a batch of noisy images and timesteps); None keeps the analytic
            ADC ranges.
    """

    def __init__(self, model: nn.Module, profile: HardwareProfile, chip_seed: int, calibration_inputs=None) -> None:
        super().__init__()
        self.chip = Chip(profile, chip_seed, compute_dtype=np.float32)  # float32 analog path: 2–3× faster BLAS
        self.noise = np.random.default_rng([chip_seed, 21])
        self.capture: dict[str, list[np.ndarray]] | None = None
        self.in_loop_targets: dict[str, np.ndarray] | None = None  # set only during in-loop calibration
        self.trims: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # layer → (gain, offset) per output
        self.weights: dict[str, np.ndarray] = {}
        self.model = copy.deepcopy(model).eval()
        self._swap_layers(self.model, prefix="")
        for name, matrix in self.weights.items():
            self.chip.program_layer(name, matrix)
        self._hooks = [m.register_forward_hook(self._count_digital) for m in self.model.modules() if type(m) in DIGITAL_OPS_PER_ELEMENT]
        if calibration_inputs is not None:
            self.calibrate(*calibration_inputs)

    def _swap_layers(self, module: nn.Module, prefix: str) -> None:
        for child_name, child in list(module.named_children()):
            name = f"{prefix}{child_name}"
            if isinstance(child, nn.Conv2d):
                self.weights[name] = conv_weight_matrix(child)
                setattr(module, child_name, ChipConv2d(child, name, self))
            elif isinstance(child, nn.Linear):
                self.weights[name] = linear_weight_matrix(child)
                setattr(module, child_name, ChipLinear(child, name, self))
            else:
                self._swap_layers(child, prefix=f"{name}.")

    def read_out(self, name: str, x: np.ndarray) -> np.ndarray:
        """Layer ``name``'s product x @ W read from the chip, with its in-loop trim when it has one.

        During in-loop calibration (``in_loop_targets`` set) the read is not charged, and the layer's
        trim is fitted here, on the inputs the chip's own upstream layers produced.
        """
        if self.in_loop_targets is not None:
            y = self.chip.layers[name].matmul(x, self.noise)  # calibration reads: not charged
            self.trims[name] = fit_trim(y, self.in_loop_targets[name])
        else:
            y = self.chip.matmul(name, x, self.noise)
        if name not in self.trims:
            return y
        gain, offset = self.trims[name]
        if self.in_loop_targets is None:
            self.chip.count_digital(y.size)  # one multiply per output; the offset joins the bias add
        return y * gain + offset

    def add_bias(self, out: torch.Tensor, bias, channel_dim: int) -> torch.Tensor:
        if bias is None:
            return out
        if self.in_loop_targets is None:
            self.chip.count_digital(out.numel() * BIAS_OPS_PER_ELEMENT)
        shape = [1] * out.dim()
        shape[channel_dim] = -1
        return out + bias.reshape(shape)

    def _count_digital(self, module, inputs, output) -> None:
        if self.capture is None and self.in_loop_targets is None:
            self.chip.count_digital(output.numel() * DIGITAL_OPS_PER_ELEMENT[type(module)])

    @torch.inference_mode()
    def calibrate(self, *inputs, percentile: float = 99.99) -> None:
        """Run ``inputs`` in float (no chip), record each layer's matmul inputs, set its ADC ranges.

        Then, if the profile asks for it, each layer's digital output gains are fitted so that its
        read-out of those inputs best matches their exact products (`ProgrammedMatrix.
        calibrate_output_gain`). Calibration reads are not charged to the ledger.
        """
        self.capture = {}
        try:
            self.model(*inputs)
            captured = self.capture
        finally:
            self.capture = None
        gain_noise = np.random.default_rng([self.chip.chip_seed, 23])
        targets = {}
        for name, batches in captured.items():
            x = np.concatenate(batches)
            targets[name] = x.astype(np.float64) @ self.weights[name]
            layer = self.chip.layers[name]
            layer.calibrate_adc(x, percentile=percentile)
            if layer.cb.output_gain_calibration:
                layer.calibrate_output_gain(x, targets[name], gain_noise)
        if self.chip.profile.crossbar.in_loop_calibration:
            self._calibrate_in_loop(inputs, targets)

    @torch.inference_mode()
    def _calibrate_in_loop(self, inputs, targets: dict[str, np.ndarray]) -> None:
        """One chip forward pass of the calibration batch that fits every layer's trim in turn.

        Layers run in execution order, so when layer k is fitted its inputs already come from
        trimmed upstream layers; row b of its read-out and of ``targets[k]`` (the software
        network's exact products) belong to the same image and position.
        """
        saved_noise, self.noise = self.noise, np.random.default_rng([self.chip.chip_seed, 24])
        self.trims, self.in_loop_targets = {}, targets
        try:
            self.model(*inputs)
        finally:
            self.in_loop_targets, self.noise = None, saved_noise

    def reseed(self, seed: int) -> None:
        """Restart the chip's analog noise (read/ADC) and its MTJ noise source for one request."""
        self.noise = np.random.default_rng([seed, 22])
        self.chip.rng.reseed(seed)

    @torch.inference_mode()
    def forward(self, *inputs):
        return self.model(*inputs)
