"""Run a trained torch network on the emulated chip: every Conv2d and Linear as a crossbar layer.

`ChipNetwork` deep-copies the model and swaps each `nn.Conv2d` for `ChipConv2d` and each `nn.Linear`
for `ChipLinear`, whose weights are programmed once onto a `device.chip.Chip`. Biases are added
digitally. Everything else in the network — GroupNorm, SiLU, skip additions and concatenations,
resampling — stays in float torch, as the chip's digital periphery would compute it, and is counted
for the ledger by forward hooks (ops per output element, below).

Two execution engines compute a programmed layer's read-out, chosen by the profile's
``crossbar.emulation`` (docs/emulation.md):

* ``"exact"`` — `diffusion.chip.crossbar_torch.TorchCrossbar`, every tile's currents, IR drop, read
  and ADC noise and ADC codes, on the im2col patches of a convolution; checked against the numpy
  reference `device.crossbar.ProgrammedMatrix.matmul`;
* ``"statistical"`` — `diffusion.chip.crossbar_statistical.StatisticalCrossbar`, the reduced-order model
  `device.statistical.derive` fits to the programmed and calibrated chip, as native convolutions.

Both run on the device `diffusion.chip.torch_device.resolve_device` picks (``SPINDIFF_DEVICE``), draw
their analog noise from one seeded `torch.Generator` per request, and charge the same ledger
through `ProgrammedMatrix.charge`.

Programming happens once per (model, profile, chip seed). Calibration runs a batch through the
software network, records the inputs every layer sees (real activations, as a chip would be
calibrated in the field), sets every tile's ADC range and every output's gain trim on the exact
path, optionally fits in-loop trims, and — in statistical mode — derives the statistical models.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from device.chip import Chip
from device.errors import InputError
from device.profiles import HardwareProfile
from device.seed_salts import Salt
from device.statistical import derive, effective_weights
from diffusion.chip.crossbar_statistical import StatisticalCrossbar, patch_read_power, unfold_patches
from diffusion.chip.crossbar_torch import TorchCrossbar
from diffusion.chip.torch_device import resolve_device

#: Digital ops charged per output element of the layers that stay off the arrays (an assumption:
#: GroupNorm ≈ mean, variance, normalise, scale, shift; SiLU ≈ exp, add, divide, multiply).
DIGITAL_OPS_PER_ELEMENT = {nn.GroupNorm: 5, nn.SiLU: 4, nn.Upsample: 1}
BIAS_OPS_PER_ELEMENT = 1

#: Calibration rows per layer the output-gain trims are fitted on (a seeded subset when a layer saw
#: more; one gain per output is a least-squares ratio that thousands of rows pin down). The ADC ranges
#: use every row: they are a 99.99th percentile.
GAIN_FIT_ROWS = 2048

#: Calibration rows per layer the statistical models are fitted on (a seeded subset when a layer saw
#: more): IR-drop coefficients and the ADC quantisation error converge long before (docs/emulation.md).
STATISTICAL_FIT_ROWS = 2048


def conv_weight_matrix(conv: nn.Conv2d) -> np.ndarray:
    """(C_out, C_in, kh, kw) kernel → (C_in·kh·kw, C_out) float64, matching `F.unfold`'s patch order."""
    if conv.groups != 1:
        raise ValueError(f"grouped convolutions are not supported on the crossbar (groups={conv.groups})")
    return conv.weight.detach().double().reshape(conv.out_channels, -1).T.contiguous().cpu().numpy()


def linear_weight_matrix(linear: nn.Linear) -> np.ndarray:
    """(out, in) weight → (in, out) float64 so that y = x @ W."""
    return linear.weight.detach().double().T.contiguous().cpu().numpy()


def im2col(x: torch.Tensor, conv: nn.Conv2d) -> tuple[torch.Tensor, tuple[int, int]]:
    """Input (B, C, H, W) → patches (B·H'·W', C·kh·kw) and the output size (H', W')."""
    return unfold_patches(x.detach(), conv)


def rows_to_image(rows: torch.Tensor, batch: int, h: int, w: int) -> torch.Tensor:
    """(B·H·W, N) → (B, N, H, W), the inverse of im2col's row order."""
    return rows.reshape(batch, h * w, -1).transpose(1, 2).reshape(batch, -1, h, w)


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
    """A Conv2d whose kernel lives on the chip; forward = `ChipNetwork.conv` → bias."""

    def __init__(self, conv: nn.Conv2d, name: str, network: ChipNetwork) -> None:
        super().__init__()
        self.conv_spec = copy.copy(conv)  # keeps kernel_size/stride/padding; weights are on the chip
        self.name = name
        object.__setattr__(self, "network", network)  # a back-reference, not a submodule (no cycle for .to())
        self.bias = None if conv.bias is None else conv.bias.detach().clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network.conv(self.name, self.conv_spec, x, bias=self.bias)


class ChipLinear(nn.Module):
    """A Linear whose weight lives on the chip."""

    def __init__(self, linear: nn.Linear, name: str, network: ChipNetwork) -> None:
        super().__init__()
        self.name = name
        object.__setattr__(self, "network", network)  # a back-reference, not a submodule (no cycle for .to())
        self.bias = None if linear.bias is None else linear.bias.detach().clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        return self.network.linear(self.name, flat, bias=self.bias).reshape(*x.shape[:-1], -1)


class ChipNetwork(nn.Module):
    """``model`` with every Conv2d/Linear programmed onto ``chip`` (see module docstring).

    Args:
        model: a trained network built only from Conv2d, Linear and digital layers.
        profile, chip_seed: the chip to emulate (programmed here, once).
        calibration_inputs: arguments for one forward pass of ``model`` used to calibrate the ADCs
            (e.g. ``(x_t, t)`` for a batch of noisy images and timesteps); None keeps the analytic
            ADC ranges (exact mode only: the statistical models are fitted on these inputs).
        device: torch device name (``auto``, ``cpu``, ``cuda``); None reads ``SPINDIFF_DEVICE``.
        restored: (chip, trims, statistical models) of a chip built before (`diffusion.chip.cache`):
            nothing is programmed or calibrated.
    """

    def __init__(
        self,
        model: nn.Module,
        profile: HardwareProfile,
        chip_seed: int,
        calibration_inputs=None,
        device=None,
        restored=None,
    ) -> None:
        super().__init__()
        self.emulation = profile.crossbar.emulation
        if self.emulation == "statistical" and calibration_inputs is None and restored is None:
            raise InputError(
                "crossbar.emulation 'statistical' fits its models on calibration inputs: pass calibration_inputs"
            )
        self.device = resolve_device(device)
        if restored is not None:  # (chip, trims, statistical models) from `diffusion.chip.cache.load`
            self.chip = restored[0]
        else:
            self.chip = Chip(profile, chip_seed, compute_dtype=np.float32)  # the numpy reference path's arithmetic
        self.generator = torch.Generator(device=self.device)
        self.reseed_analog(chip_seed)
        self.capture: dict[str, list[torch.Tensor]] | None = None
        self.in_loop_targets: dict[str, torch.Tensor] | None = None  # set only during in-loop calibration
        self.force_exact = False  # calibration reads go through the exact engine in either mode
        # Linear layers (the time embedding: one row per image) stay on the exact engine in statistical
        # mode: their exact read costs next to nothing, and their errors are the same for every image
        # at one t — a per-t bias the statistical noise would replace by fresh noise per image
        # (docs/emulation.md: the ε bias at t = 950 went from 1.19× the exact one to 1.07×).
        self.statistical_linear = False
        self.trims: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # layer → (gain, offset) per output
        self.weights: dict[str, np.ndarray] = {}
        self.model = copy.deepcopy(model).eval()
        self._swap_layers(self.model, prefix="")
        self.model.to(self.device)
        self.exact: dict[str, TorchCrossbar] = {}
        for name, matrix in self.weights.items():
            programmed = self.chip.layers[name] if restored is not None else self.chip.program_layer(name, matrix)
            self.exact[name] = TorchCrossbar(programmed, self.device)
        self.statistical: dict[str, StatisticalCrossbar] = {}
        self._folded_kernels: dict[str, torch.Tensor] = {}  # native convolutions of linear read-outs, see _native
        self._software_exact: dict[
            str, bool
        ] = {}  # layers whose cells realise the software weights, see _realises_software
        self._weight_tensors = {
            name: torch.as_tensor(w, dtype=torch.float32, device=self.device) for name, w in self.weights.items()
        }
        self._row_conductance = {
            name: torch.as_tensor(m.conductance_per_row, dtype=torch.float32, device=self.device)
            for name, m in self.chip.layers.items()
        }
        self._hooks = [
            m.register_forward_hook(self._count_digital)
            for m in self.model.modules()
            if type(m) in DIGITAL_OPS_PER_ELEMENT
        ]
        if restored is not None:
            _, trims, models = restored
            self.trims = {
                name: (
                    torch.as_tensor(g, dtype=torch.float32, device=self.device),
                    torch.as_tensor(c, dtype=torch.float32, device=self.device),
                )
                for name, (g, c) in trims.items()
            }
            self.statistical = {name: StatisticalCrossbar(m, self.device) for name, m in models.items()}
        elif calibration_inputs is not None:
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

    # --- the layers' read-outs ----------------------------------------------------------------------
    @property
    def _exact_now(self) -> bool:
        return self.emulation == "exact" or self.force_exact

    def _charging(self) -> bool:
        return self.in_loop_targets is None

    def conv(self, name: str, spec: nn.Conv2d, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """Layer ``name`` as a convolution of x (B, C, H, W) → (B, N, H', W'), plus ``bias`` (N,) when given."""
        x = x.to(device=self.device, dtype=torch.float32)
        if self.capture is None and self._exact_now and self._native(name):
            return self._native_conv(name, spec, x, bias)
        if self.capture is not None or self._exact_now:
            patches, (h, w) = im2col(x, spec)
            return self.add_bias(rows_to_image(self.rows(name, patches), x.shape[0], h, w), bias, channel_dim=1)
        return self._statistical_conv(name, spec, x, bias)

    def _statistical_conv(self, name: str, spec: nn.Conv2d, x: torch.Tensor, bias) -> torch.Tensor:
        """The statistical engine's convolution with the trim and the bias folded into its read-out (y·g + (o + bias))."""
        engine = self.statistical[name]
        trim = self.trims.get(name)
        if bias is not None:
            bias = bias.to(device=self.device, dtype=torch.float32)
            gain, offset = trim if trim is not None else (torch.ones_like(bias), torch.zeros_like(bias))
            folded = (gain, offset + bias)
        else:
            folded = trim
        if not self._charging():
            return engine.conv2d(x, spec, self.generator, trim=folded)
        matrix = self.chip.layers[name]
        y, power = engine.conv2d_charged(x, spec, self.generator, self._row_conductance[name], trim=folded)
        rows = y.shape[0] * y.shape[2] * y.shape[3]
        matrix.charge_actions(self.chip.ledger, "inference", rows, matrix.cb.input_cycles, power * matrix.cb.read_time)
        if trim is not None:
            self.chip.count_digital(y.numel())  # the trim's multiply per output, as `_trim` counts it
        if bias is not None:
            self.chip.count_digital(y.numel() * BIAS_OPS_PER_ELEMENT)  # as `add_bias` counts it
        return y

    def _native(self, name: str) -> bool:
        """True when the exact read-out is one linear map of the unquantised input (``ideal``): then
        the convolution is computed as a native convolution with the folded weights, which is the same
        maths as im2col + `TorchCrossbar`'s linear path (the per-patch DAC scale cancels exactly)."""
        engine = self.exact[name]
        return engine.linear and engine.cb.input_bits == 0 and self.in_loop_targets is None

    def _realises_software(self, name: str) -> bool:
        """True when layer ``name``'s read-out is linear in the unquantised input and its cells realise
        exactly the software weights — W_eff equals W element for element in float32 (``ideal``: analog
        cells with exact conductances and no non-ideality). Such a layer has nothing to trim (its
        output-gain calibration is skipped) and its read-out is the software layer's own op on the
        same numbers (`_native_conv`, `linear`), so ``ideal`` reproduces software bit for bit."""
        engine = self.exact[name]
        if not (engine.linear and engine.cb.input_bits == 0):
            return False
        if name not in self._software_exact:
            realised = effective_weights(self.chip.layers[name]).astype(np.float32)
            self._software_exact[name] = bool(np.array_equal(realised, self.weights[name].astype(np.float32)))
        return self._software_exact[name]

    def linear(self, name: str, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """Layer ``name`` as a Linear of rows x (B, K) → (B, N), plus ``bias`` (N,) when given."""
        x = x.to(device=self.device, dtype=torch.float32)
        if (
            self.capture is None
            and self._exact_now
            and self._native(name)
            and name not in self.trims
            and self._realises_software(name)
        ):
            return self._native_linear(name, x, bias)
        return self.add_bias(self.rows(name, x), bias, channel_dim=-1)

    def _native_linear(self, name: str, x: torch.Tensor, bias) -> torch.Tensor:
        """`F.linear` with the realised (= software) weights and the bias, as `nn.Linear` computes it;
        charged as `TorchCrossbar`'s linear read-out (one DAC plane, Σ_b V² per row)."""
        if name not in self._folded_kernels:
            self._folded_kernels[name] = torch.as_tensor(
                np.ascontiguousarray(self.weights[name].T), dtype=torch.float32, device=self.device
            )
        y = F.linear(
            x, self._folded_kernels[name], None if bias is None else bias.to(device=self.device, dtype=torch.float32)
        )
        if self._charging():
            matrix = self.chip.layers[name]
            scale = x.abs().amax(dim=1, keepdim=True)
            level = (x / torch.where(scale > 0, scale, torch.ones_like(scale))).mul_(matrix.cb.read_voltage)
            matrix.charge(
                self.chip.ledger,
                "inference",
                x.shape[0],
                [level.square().sum(dim=0, dtype=torch.float64).cpu().numpy()],
            )
            if bias is not None:
                self.chip.count_digital(y.numel() * BIAS_OPS_PER_ELEMENT)  # as `add_bias` counts it
        return y

    def _native_conv(
        self, name: str, spec: nn.Conv2d, x: torch.Tensor, bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The linear read-out as one native convolution; the bias joins it (as `nn.Conv2d` adds it) when
        the layer has no in-loop trim, else it is added after the trim."""
        if name not in self._folded_kernels:
            matrix = self.chip.layers[name]
            kernel = effective_weights(matrix).T.reshape(spec.out_channels, spec.in_channels, *spec.kernel_size)
            self._folded_kernels[name] = torch.as_tensor(
                np.ascontiguousarray(kernel), dtype=torch.float32, device=self.device
            )
        fused = bias is not None and name not in self.trims
        fused_bias = bias.to(device=self.device, dtype=torch.float32) if fused else None
        y = F.conv2d(
            x, self._folded_kernels[name], fused_bias, stride=spec.stride, padding=spec.padding, dilation=spec.dilation
        )
        if self._charging():
            matrix = self.chip.layers[name]
            power = patch_read_power(x, spec, self._row_conductance[name], matrix.cb.read_voltage)
            matrix.charge_actions(
                self.chip.ledger, "inference", y.shape[0] * y.shape[2] * y.shape[3], 1, power * matrix.cb.read_time
            )
            if fused:
                self.chip.count_digital(y.numel() * BIAS_OPS_PER_ELEMENT)  # as `add_bias` counts it
        if fused:
            return y
        return self.add_bias(self._trim(name, y, channel_dim=1), bias, channel_dim=1)

    def rows(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Layer ``name``'s product x @ W for rows x (B, K) → (B, N), with its in-loop trim when it has one.

        While capturing (calibration) the inputs are recorded and the exact float product returned.
        During in-loop calibration (``in_loop_targets`` set) the read is not charged, and the layer's
        trim is fitted here, on the inputs the chip's own upstream layers produced.
        """
        x = x.to(device=self.device, dtype=torch.float32)
        if self.capture is not None:
            self.capture.setdefault(name, []).append(x.detach().clone())
            return x @ self._weight_tensors[name]
        if self.in_loop_targets is not None:
            y = self.exact[name].matmul(x, self.generator)  # calibration reads: not charged
            gain, offset = fit_trim(y.double().cpu().numpy(), self.in_loop_targets[name])
            self.trims[name] = (
                torch.as_tensor(gain, dtype=torch.float32, device=self.device),
                torch.as_tensor(offset, dtype=torch.float32, device=self.device),
            )
        elif self._exact_now or not self.statistical_linear:
            y = self.exact[name].matmul(x, self.generator, ledger=self.chip.ledger)
        else:
            engine = self.statistical[name]
            y = engine.matmul(x, self.generator)
            self.chip.layers[name].charge(self.chip.ledger, "inference", x.shape[0], engine.square_sums(x))
        return self._trim(name, y, channel_dim=-1)

    def _trim(self, name: str, y: torch.Tensor, channel_dim: int) -> torch.Tensor:
        if name not in self.trims:
            return y
        gain, offset = self.trims[name]
        if self._charging():
            self.chip.count_digital(y.numel())  # one multiply per output; the offset joins the bias add
        shape = [1] * y.dim()
        shape[channel_dim] = -1
        return y * gain.reshape(shape) + offset.reshape(shape)

    def add_bias(self, out: torch.Tensor, bias, channel_dim: int) -> torch.Tensor:
        if bias is None:
            return out
        if self._charging() and self.capture is None:
            self.chip.count_digital(out.numel() * BIAS_OPS_PER_ELEMENT)
        shape = [1] * out.dim()
        shape[channel_dim] = -1
        return out + bias.to(out.device).reshape(shape)

    def _count_digital(self, module, inputs, output) -> None:
        if self.capture is None and self._charging():
            self.chip.count_digital(output.numel() * DIGITAL_OPS_PER_ELEMENT[type(module)])

    # --- calibration --------------------------------------------------------------------------------
    @torch.inference_mode()
    def calibrate(self, *inputs, percentile: float = 99.99) -> None:
        """Run ``inputs`` in float (no chip), record each layer's matmul inputs, set its ADC ranges.

        Then, if the profile asks for it, each layer's digital output gains are fitted so that its
        read-out of those inputs best matches their exact products (`TorchCrossbar.
        calibrate_output_gain`), in-loop trims are fitted, and in statistical mode every layer's
        statistical model is derived. Calibration reads are not charged to the ledger.

        The ADC ranges use every row; the gain fit and the statistical model a seeded subset each
        (`GAIN_FIT_ROWS`, `STATISTICAL_FIT_ROWS`). The model is fitted on the torch engine's column
        sums of its rows (`TorchCrossbar.calibration_reads`), which the gain fit shares where the
        two subsets are the same rows (a layer that saw no more than either: all of them). Each
        layer's model is derived right after its trims; the in-loop trims (last) do not enter it.
        """
        self.capture = {}
        try:
            self.model(*self._to_device(inputs))
            captured = {
                name: batches[0] if len(batches) == 1 else torch.cat(batches) for name, batches in self.capture.items()
            }
        finally:
            self.capture = None
        self._folded_kernels, self._software_exact = {}, {}  # the output gains change below
        gain_pick = np.random.default_rng([self.chip.chip_seed, Salt.GAIN_FIT_ROWS])
        fit_pick = np.random.default_rng([self.chip.chip_seed, Salt.STATISTICAL_FIT_ROWS])
        gain_noise = torch.Generator(device=self.device).manual_seed(
            _mix(self.chip.chip_seed, Salt.GAIN_CALIBRATION_NOISE)
        )
        in_loop = self.chip.profile.crossbar.in_loop_calibration
        targets = {}
        for name, x in captured.items():
            engine = self.exact[name]
            engine.calibrate_adc(x, percentile=percentile)
            if in_loop:
                targets[name] = x.double().cpu().numpy() @ self.weights[name]
            gain = engine.cb.output_gain_calibration and not self._realises_software(
                name
            )  # exact cells: nothing to trim
            gain_rows = _subset(x.shape[0], GAIN_FIT_ROWS, gain_pick) if gain else None
            fit_rows = _subset(x.shape[0], STATISTICAL_FIT_ROWS, fit_pick) if self.emulation == "statistical" else None
            shared = (
                gain_rows is not None and fit_rows is not None and torch.equal(gain_rows, fit_rows)
            )  # a layer with few rows: all of them
            reads = engine.calibration_reads(x[gain_rows]) if shared else None
            if gain_rows is not None:
                fit = x[gain_rows]
                engine.calibrate_output_gain(
                    fit, fit.double().cpu().numpy() @ self.weights[name], gain_noise, reads=reads
                )
            if fit_rows is not None:
                fit = x[fit_rows]
                self._derive_statistical(name, fit, reads if shared else engine.calibration_reads(fit))
        if in_loop:
            self._calibrate_in_loop(inputs, targets)

    @torch.inference_mode()
    def _calibrate_in_loop(self, inputs, targets: dict[str, np.ndarray]) -> None:
        """One chip forward pass of the calibration batch (exact engine) that fits every layer's trim in turn.

        Layers run in execution order, so when layer k is fitted its inputs already come from
        trimmed upstream layers; row b of its read-out and of ``targets[k]`` (the software
        network's exact products) belong to the same image and position.
        """
        saved = self.generator.get_state()
        self.generator.manual_seed(_mix(self.chip.chip_seed, Salt.IN_LOOP_CALIBRATION_NOISE))
        self.trims, self.in_loop_targets, self.force_exact = {}, targets, True
        try:
            self.model(*self._to_device(inputs))
        finally:
            self.in_loop_targets, self.force_exact = None, False
            self.generator.set_state(saved)

    def _derive_statistical(self, name: str, x: torch.Tensor, reads=None) -> None:
        """Fit layer ``name``'s `device.statistical.StatisticalModel` on its calibration rows ``x`` (B, K).

        ``reads``: the engine's `calibration_reads` of ``x`` (float32 column sums), shared with the
        gain fit; None lets `derive` compute its own (float64).
        """
        rows = x.double().cpu().numpy()
        sums = None if reads is None else reads.sums
        self.statistical[name] = StatisticalCrossbar(
            derive(self.chip.layers[name], rows, seed=self.chip.chip_seed, sums=sums), self.device
        )

    def emulation_summary(self) -> dict:
        """Mode, device and, in statistical mode, the fit's diagnostics (for the telemetry)."""
        summary = {"mode": self.emulation, "device": str(self.device)}
        if self.statistical:
            models = [engine.model for engine in self.statistical.values()]
            summary["adc_clipping_rate_mean"] = float(np.mean([m.clipping_rate for m in models]))
            summary["adc_clipping_rate_max"] = float(np.max([m.clipping_rate for m in models]))
            summary["ir_drop_residual_max"] = float(np.max([m.ir_residual for m in models]))
        return summary

    # --- requests -----------------------------------------------------------------------------------
    def reseed_analog(self, seed: int) -> None:
        """Restart the analog noise (read/ADC, or the statistical model's) from ``seed``."""
        self.generator.manual_seed(_mix(seed, Salt.CHIP_ANALOG_NOISE))

    def reseed(self, seed: int) -> None:
        """Restart the chip's analog noise (read/ADC) and its MTJ noise source for one request."""
        self.reseed_analog(seed)
        self.chip.rng.reseed(seed)

    def _to_device(self, inputs):
        return tuple(v.to(self.device) if isinstance(v, torch.Tensor) else v for v in inputs)

    @torch.inference_mode()
    def forward(self, *inputs):
        origin = next((v.device for v in inputs if isinstance(v, torch.Tensor)), self.device)
        return self.model(*self._to_device(inputs)).to(origin)


def _subset(n_rows: int, most: int, rng: np.random.Generator) -> torch.Tensor:
    """Indices of all ``n_rows`` rows, or of a seeded sorted subset of ``most`` of them."""
    if n_rows <= most:
        return torch.arange(n_rows)
    return torch.as_tensor(np.sort(rng.choice(n_rows, most, replace=False)))


def _mix(seed: int, stream: int) -> int:
    """A 63-bit torch seed for (seed, stream), through numpy's SeedSequence (no correlated streams)."""
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1, np.uint64)[0] >> np.uint64(1))
