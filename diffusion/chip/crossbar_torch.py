"""The exact read path of a programmed crossbar layer, executed by torch on CPU or CUDA.

`TorchCrossbar` computes the same maths as `device.crossbar.ProgrammedMatrix.matmul` (the numpy +
Numba reference, itself held to the per-cell twin of tests/device/naive_crossbar.py): DAC planes →
per row chunk (``tile_rows`` rows) the differential column currents with the closed-form IR drop
(F9) → read noise (F8) + ADC input noise → ADC quantisation with clipping → accumulation over
chunks and DAC planes → shift-and-add of the bit slices → de-scaling. Only the execution differs:

- the conductances are copied to the device once, stacked per chunk as (n_chunks, tile_rows, ·)
  with the last chunk zero-padded (a zero-conductance row adds exactly nothing), so each DAC plane
  of a block of batch rows is a few `torch.bmm` calls over all chunks at once;
- the GEMMs are merged: V @ [G⁺ − G⁻ | f·G⁺ | f·G⁻] gives the currents and both IR-drop weighted
  sums; |V| @ [s·G⁺ | s·G⁻] the IR-drop parameters a^± (s = n/(V_read·G_wire)); the read-noise
  variance read_noise²·V²@(G⁺² + G⁻²) is one more bmm — folded into the |V| one in bit-serial mode,
  where V² = V_read·|V| exactly (ternary planes);
- noise, ADC and accumulation are a handful of in-place elementwise torch ops, summed over the
  chunk dimension at the end; the noise deviates are `torch.randn` from the caller's generator
  (or, for tests, the exact deviates the Numba kernel drew: ``deviates``);
- the batch is processed in row blocks so the working set stays under `BLOCK_BYTES`;
- a linear read-out (no ADC, no noise, no IR drop — the ``ideal`` profile) is folded into one
  (K, N) matrix and costs one GEMM of the DAC-quantised input.

Agreement (tests/diffusion/chip/test_crossbar_torch.py): in float64, noise off, equal to the numpy path
to 1e-12 of the output scale with ADC quantisation and IR drop on; with noise, fed the Numba
kernel's own deviates, equal draw for draw; in float32 with `torch.randn`, the same error mean and
variance within 4 standard errors. The ledger is charged through `ProgrammedMatrix.charge`, so it
does not depend on the engine (integer counters equal, the read energy to float rounding).

Calibration (`calibrate_adc`, `calibrate_output_gain`, `calibration_reads`) computes as little as
the result needs: the ADC ranges are near-maxima of the currents, so exact currents are computed
only for the rows and columns a screen on the currents without IR drop leaves (`_screened_top`,
with a fall-back to every row; equal to reading every row to float rounding in the tests and on
the shipped U-Net); and a batch's GEMMs can be computed once (`CalibrationReads`) and shared by the
output-gain fit (whose read from them equals `matmul`'s bit for bit) and
`device.statistical.derive`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from device.crossbar import ProgrammedMatrix, ir_drop_position_factor
from device.errors import InputError
from device.ledger import check_phase
from device.statistical import ReadSums

#: Upper bound of one row block's working set (voltages, GEMM outputs, noise), bytes, per device
#: type: on a CPU smaller blocks stay closer to the caches (measured: 256-row blocks of a
#: 1152 × 768-column layer run 1.6× faster than 1000-row ones); on a GPU larger ones launch less.
BLOCK_BYTES = {"cpu": 64 * 2**20, "cuda": 256 * 2**20}
DEFAULT_BLOCK_BYTES = 256 * 2**20
DTYPES = (torch.float32, torch.float64)
#: Candidate rows per column whose exact currents `TorchCrossbar.calibrate_adc` computes, chosen by
#: the current without IR drop (`TorchCrossbar._screened_top`); the rest are screened out.
ADC_SCREEN_ROWS = 48
#: Columns whose percentile without IR drop is at least this share of their tile's largest are read
#: exactly by `TorchCrossbar._screened_top`; the others cannot set the tile's ADC range.
ADC_SCREEN_COLUMNS = 0.7


def all_finite(x: torch.Tensor) -> bool:
    """True when no element of a non-empty ``x`` is NaN or ±inf.

    One fused min/max pass (`torch.aminmax`; NaN propagates, ±inf shows as an extreme): about 7×
    cheaper on the CPU than ``torch.isfinite(x).all()``, which builds a boolean tensor first.
    """
    low, high = torch.aminmax(x)
    return math.isfinite(float(low)) and math.isfinite(float(high))


class TorchCrossbar:
    """Exact read path of one device.crossbar.ProgrammedMatrix in torch."""

    def __init__(
        self, matrix: ProgrammedMatrix, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ):
        if not isinstance(matrix, ProgrammedMatrix):
            raise InputError(f"matrix must be a device.crossbar.ProgrammedMatrix, got {type(matrix).__name__}")
        if dtype not in DTYPES:
            raise InputError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.matrix, self.cb = matrix, matrix.cb
        self.device, self.dtype = torch.device(device), dtype
        cb = self.cb
        self.in_features, self.out_features = matrix.in_features, matrix.out_features
        self.n_columns, self.n_slices = matrix.n_columns, matrix.n_slices
        self.tile_rows, self.n_chunks = cb.tile_rows, len(matrix.chunks)
        self._pad = self.n_chunks * self.tile_rows - self.in_features
        self.bit_serial = cb.input_mode == "bit_serial"
        self.n_planes = cb.input_cycles if cb.input_bits else 1
        self.plane_weights = (
            [2.0**k / (2 ** (cb.input_bits - 1) - 1) for k in range(self.n_planes)] if self.bit_serial else [1.0]
        )
        self.noisy = cb.read_noise > 0 or cb.adc_noise > 0
        self.linear = cb.adc_bits == 0 and not self.noisy and not cb.ir_drop
        c = self.n_columns
        self._slice_weights = self._tensor(2.0 ** np.arange(self.n_slices) if cb.weight_bits else np.ones(1))
        self._abs = self._squares = None
        signed = [matrix.difference]
        if not self.linear:
            absolute = []
            if cb.ir_drop:
                factor = ir_drop_position_factor(cb.tile_rows, cb.tile_rows)
                scale = cb.tile_rows / (cb.read_voltage * (1.0 / cb.wire_resistance))  # n/(V_read·G_wire)
                signed += [self._per_row(factor, matrix.g_pos), self._per_row(factor, matrix.g_neg)]
                absolute += [scale * matrix.g_pos, scale * matrix.g_neg]
            if cb.read_noise > 0:
                squares = cb.read_noise**2 * (matrix.g_pos**2 + matrix.g_neg**2)
                if self.bit_serial:
                    absolute.append(cb.read_voltage * squares)  # V² = V_read·|V| on ternary planes
                else:
                    self._squares = self._stack(squares)
            self._abs = self._stack(np.concatenate(absolute, axis=1)) if absolute else None
        self._signed = self._stack(np.concatenate(signed, axis=1))
        width = sum(t.shape[-1] for t in (self._signed, self._abs, self._squares) if t is not None)
        per_row = self.n_planes * self.in_features + self.n_chunks * (3 * self.tile_rows + width + 3 * c)
        #: rows per block of `matmul` (a tunable attribute: tests set it small to exercise blocking)
        self.block_rows = max(1, BLOCK_BYTES.get(self.device.type, DEFAULT_BLOCK_BYTES) // (per_row * self._itemsize()))
        self.refresh()

    # --- set-up ------------------------------------------------------------------------------------
    def _itemsize(self) -> int:
        return torch.tensor([], dtype=self.dtype).element_size()

    def _tensor(self, array) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float64)).to(device=self.device, dtype=self.dtype)

    def _per_row(self, factor, g):
        """f_j·G for every row j (its position inside its own tile)."""
        position = np.resize(factor, self.n_chunks * self.tile_rows)[: self.in_features]
        return position[:, None] * g

    def _stack(self, array) -> torch.Tensor:
        """(K, W) → (n_chunks, tile_rows, W) on the device, the last chunk zero-padded."""
        padded = torch.zeros((self.n_chunks * self.tile_rows, array.shape[1]), dtype=self.dtype)
        padded[: self.in_features] = torch.from_numpy(
            np.ascontiguousarray(array, dtype=np.float64)
        )  # rounded once, as `_tensor`
        return padded.reshape(self.n_chunks, self.tile_rows, array.shape[1]).to(device=self.device)

    def refresh(self) -> None:
        """Re-read ``matrix.adc_range`` and ``matrix.output_gain`` (after a calibration changed them)."""
        m, cb = self.matrix, self.cb
        adc_range = np.asarray(m.adc_range, dtype=np.float64)
        gain = np.asarray(m.output_gain, dtype=np.float64)
        if (
            adc_range.shape != (self.n_chunks, self.n_columns)
            or not np.all(np.isfinite(adc_range))
            or np.any(adc_range <= 0)
        ):
            raise InputError(
                f"matrix.adc_range must be finite, > 0 and of shape {(self.n_chunks, self.n_columns)}, got shape {adc_range.shape}"
            )
        if gain.shape != (self.out_features,) or not np.all(np.isfinite(gain)):
            raise InputError(
                f"matrix.output_gain must be finite and of shape {(self.out_features,)}, got shape {gain.shape}"
            )
        self._half = 2.0 ** (cb.adc_bits - 1) if cb.adc_bits else 0.0
        self._lsb = self._tensor(adc_range[:, None, :] / self._half) if cb.adc_bits else None
        self._adc_sigma = self._tensor(cb.adc_noise * adc_range[:, None, :])
        self._adc_variance = self._tensor((cb.adc_noise * adc_range[:, None, :]) ** 2)
        out_scale = m.col_scale * gain / (m.delta_g * cb.read_voltage)
        self._out_scale = self._tensor(out_scale)
        if self.linear:  # Σ_chunks V@(G⁺ − G⁻), shift-add and de-scaling are all linear: one matrix
            shift_added = m.difference.reshape(self.in_features, self.out_features, self.n_slices) @ (
                2.0 ** np.arange(self.n_slices) if cb.weight_bits else np.ones(1)
            )
            self._folded = self._tensor(shift_added * out_scale)

    # --- inputs ------------------------------------------------------------------------------------
    def _input(self, name: str, x) -> torch.Tensor:
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        if not isinstance(x, torch.Tensor):
            raise InputError(f"{name} must be a torch.Tensor (or numpy array), got {type(x).__name__}")
        if x.dim() != 2:
            raise InputError(f"{name} must be 2-D, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise InputError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
        if x.device != self.device and not (x.device.type == self.device.type and self.device.index is None):
            raise InputError(f"{name} is on {x.device} but this engine computes on {self.device}; move it first")
        x = x.to(dtype=self.dtype)
        if x.numel() and not all_finite(x):
            bad = torch.nonzero(~torch.isfinite(x))[0].tolist()
            raise InputError(f"{name} has a non-finite value {float(x[tuple(bad)])} at index {tuple(bad)}")
        return x

    def _check_x(self, x) -> torch.Tensor:
        x = self._input("x", x)
        if x.shape[1] != self.in_features:
            raise InputError(
                f"x has {x.shape[1]} features but the programmed matrix expects {self.in_features} (shape {tuple(x.shape)})"
            )
        return x

    # --- the analog path ---------------------------------------------------------------------------
    def _dac(self, x: torch.Tensor):
        """``x`` (B, K) → (``level``, x_scale (B, 1)): as `device.crossbar.dac_planes`, op for op.

        ``level`` is the amplitude plane in volts or, bit-serial, the signed integer DAC code.
        """
        cb = self.cb
        x_scale = x.abs().amax(dim=1, keepdim=True)
        x_scale = torch.where(x_scale > 0, x_scale, torch.ones_like(x_scale))
        unit = x / x_scale
        if cb.input_bits == 0:
            return unit.mul_(cb.read_voltage), x_scale
        top = 2 ** (cb.input_bits - 1) - 1
        q = unit.mul_(top).round_()
        if self.bit_serial:
            return q, x_scale
        return q.div_(top).mul_(cb.read_voltage), x_scale

    def _plane(self, level: torch.Tensor, k: int) -> torch.Tensor:
        """DAC read cycle ``k``'s voltages (B, K)."""
        if not self.bit_serial:
            return level
        bit = (level.abs().to(torch.int32) >> k) & 1
        return level.sign() * bit * self.cb.read_voltage

    def _linear_voltages(self, level: torch.Tensor) -> torch.Tensor:
        """Σ_k w_k·plane_k: the one plane a linear read-out needs."""
        if not self.bit_serial:
            return level
        return level * (self.cb.read_voltage / (2 ** (self.cb.input_bits - 1) - 1))

    def _chunked(self, v: torch.Tensor) -> torch.Tensor:
        """(B, K) → (n_chunks, B, tile_rows), zero-padded rows."""
        if self._pad:
            v = F.pad(v, (0, self._pad))
        return v.reshape(v.shape[0], self.n_chunks, self.tile_rows).transpose(0, 1)

    def _currents(self, vc: torch.Tensor):
        """(n_chunks, B, T) voltages → (currents (n_chunks, B, C) with IR drop, |V|-GEMM extras or None)."""
        return self._apply_ir_drop(*self._products(vc))

    def _products(self, vc: torch.Tensor):
        """The GEMMs of (n_chunks, B, T) voltages: (V @ signed stack, |V| @ absolute stack or None), (n_chunks, B, ·)."""
        signed = torch.bmm(vc, self._signed)
        absolute = torch.bmm(vc.abs(), self._abs) if self._abs is not None else None
        return signed, absolute

    def _apply_ir_drop(self, signed: torch.Tensor, absolute):
        """F9 on `_products`' results, in place (both are overwritten): (currents (n_chunks, B, C), extras or None)."""
        c = self.n_columns
        current = signed[..., :c]
        if not self.cb.ir_drop:
            return current, absolute
        a = absolute[..., : 2 * c]
        coefficient = a * 0.05  # c(a) = a·(0.05a² − 0.2a + 0.5), Horner
        coefficient.sub_(0.2).mul_(a).add_(0.5)
        coefficient.mul_(a.mul_(signed[..., c:]))  # c(a)·Σ f·V·G, for G⁺ and G⁻
        current.sub_(coefficient[..., :c]).add_(coefficient[..., c:])
        return current, absolute[..., 2 * c :]

    def column_currents(self, voltages: torch.Tensor) -> torch.Tensor:
        """All chunks at once: (n_chunks, B, C) deterministic differential currents with IR drop, A.

        ``voltages`` (B, K) are read voltages (one DAC plane), as for `ProgrammedMatrix.column_currents`.
        """
        v = self._check_x(voltages)
        out = torch.empty((self.n_chunks, v.shape[0], self.n_columns), device=self.device, dtype=self.dtype)
        with torch.no_grad():
            for b0 in range(0, v.shape[0], self.block_rows):
                out[:, b0 : b0 + self.block_rows] = self._currents(self._chunked(v[b0 : b0 + self.block_rows]))[0]
        return out

    def _read_plane(self, v: torch.Tensor, z) -> torch.Tensor:
        """One DAC plane of a row block → (n_chunks, b, C) read-out values (noise, ADC) per chunk."""
        vc = self._chunked(v)
        current, extra = self._currents(vc)
        return self._convert(current, self._read_variance(vc, extra), z)

    def _read_variance(self, vc: torch.Tensor, extra):
        """read_noise²·V²@(G⁺² + G⁻²) (n_chunks, b, C) of chunked voltages (``extra`` in bit-serial mode), or None."""
        if self.cb.read_noise == 0:
            return None
        return extra if self.bit_serial else torch.bmm(vc.square(), self._squares)

    def _convert(self, current: torch.Tensor, variance, z) -> torch.Tensor:
        """Read and ADC noise (deviates ``z``) and ADC codes of currents (n_chunks, b, C), in place (``variance`` too)."""
        cb = self.cb
        if self.noisy:
            if cb.read_noise > 0:
                sigma = variance.add_(self._adc_variance).sqrt_() if cb.adc_noise > 0 else variance.sqrt_()
            else:
                sigma = self._adc_sigma
            current.addcmul_(sigma, z)
        if cb.adc_bits:
            current.div_(self._lsb).round_().clamp_(-self._half, self._half - 1.0).mul_(self._lsb)
        return current

    def matmul(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        ledger=None,
        phase: str = "inference",
        deviates=None,
    ) -> torch.Tensor:
        """y ≈ x @ W for x (B, K) on the engine's device; returns (B, N) in the engine dtype.

        ``generator`` (a `torch.Generator` on the engine's device) drives the read and ADC noise and
        is required when either is on. ``deviates`` (tests only) replaces `torch.randn`: a callable
        ``deviates(plane_index, chunk_index, (B, C))`` returning N(0, 1) deviates for that read call.
        Every action is charged to ``ledger`` under ``phase`` through `ProgrammedMatrix.charge`.
        """
        x = self._check_x(x)
        if ledger is not None:
            check_phase(phase)
        if self.noisy and generator is None and deviates is None:
            raise InputError(
                "this crossbar has read or ADC noise: pass generator=torch.Generator (on the engine's device)"
            )
        if generator is not None and self.noisy and deviates is None:
            if not isinstance(generator, torch.Generator):
                raise InputError(f"generator must be a torch.Generator, got {type(generator).__name__}")
            if generator.device.type != self.device.type:
                raise InputError(f"generator is on {generator.device} but this engine computes on {self.device}")
        n_batch = x.shape[0]
        sums = (
            [torch.zeros(self.in_features, dtype=torch.float64, device=self.device) for _ in range(self.n_planes)]
            if ledger is not None
            else None
        )
        with torch.no_grad():
            if self.linear:
                y = self._linear(x, sums)
            else:
                fed = self._fed_deviates(deviates, n_batch) if self.noisy and deviates is not None else None
                y = torch.empty((n_batch, self.out_features), device=self.device, dtype=self.dtype)
                for b0 in range(0, n_batch, self.block_rows):
                    b1 = min(b0 + self.block_rows, n_batch)
                    y[b0:b1] = self._block(
                        x[b0:b1], generator, None if fed is None else [z[:, b0:b1] for z in fed], sums
                    )
        if ledger is not None:
            self.matrix.charge(ledger, phase, n_batch, [s.cpu().numpy() for s in sums])
        return y

    def _linear(self, x, sums) -> torch.Tensor:
        level, x_scale = self._dac(x)
        if sums is not None:
            for k in range(self.n_planes):
                sums[k] += self._plane(level, k).square().sum(dim=0, dtype=torch.float64)
        return (self._linear_voltages(level) @ self._folded).mul_(x_scale)

    def _block(self, x, generator, fed, sums) -> torch.Tensor:
        level, x_scale = self._dac(x)
        rows = x.shape[0]
        accumulated = None
        for k, weight in enumerate(self.plane_weights):
            v = self._plane(level, k)
            if sums is not None:
                sums[k] += v.square().sum(dim=0, dtype=torch.float64)
            z = None
            if self.noisy:
                shape = (self.n_chunks, rows, self.n_columns)
                z = (
                    fed[k]
                    if fed is not None
                    else torch.randn(shape, generator=generator, device=self.device, dtype=self.dtype)
                )
            total = self._read_plane(v, z).sum(dim=0)
            if accumulated is None:
                accumulated = total.mul_(weight) if weight != 1.0 else total
            else:
                accumulated.add_(total, alpha=weight)
        y = accumulated.reshape(rows, self.out_features, self.n_slices) @ self._slice_weights
        return y.mul_(self._out_scale).mul_(x_scale)

    def _fed_deviates(self, deviates, n_batch) -> list[torch.Tensor]:
        if not callable(deviates):
            raise InputError(
                f"deviates must be a callable (plane, chunk, shape) -> N(0, 1) tensor, got {type(deviates).__name__}"
            )
        shape = (n_batch, self.n_columns)
        planes = []
        for k in range(self.n_planes):
            chunks = []
            for index in range(self.n_chunks):
                z = torch.as_tensor(deviates(k, index, shape)).to(device=self.device, dtype=self.dtype)
                if tuple(z.shape) != shape:
                    raise InputError(f"deviates({k}, {index}, {shape}) returned shape {tuple(z.shape)}")
                chunks.append(z)
            planes.append(torch.stack(chunks))
        return planes

    # --- calibration -------------------------------------------------------------------------------
    def calibrate_adc(
        self, x: torch.Tensor, percentile: float = 99.99, screen_rows: int | None = ADC_SCREEN_ROWS
    ) -> None:
        """Each tile's ADC full scale = the ``percentile`` of |column current| seen for ``x``.

        As `ProgrammedMatrix.calibrate_adc`: per column and DAC plane the percentile over the batch
        (numpy's default ``linear`` interpolation, reproduced exactly from the two order statistics
        around it), the max over planes and over the columns of each tile, floored at ΔG·V_read.
        Only the top B − ⌊(B − 1)·q⌋ values per column are needed. With IR drop they come from
        `_screened_top` when the batch has more than ``screen_rows`` rows and at most a quarter of
        that is kept (the 99.99th percentile of thousands of rows: 2–3): exact currents of the
        ``screen_rows`` rows per column that lead by the current without IR drop; otherwise (or
        with ``screen_rows`` None) from every row's exact currents, a running `torch.topk` over
        row blocks. Writes ``matrix.adc_range`` and the engine copy.
        """
        x = self._check_x(x)
        if not 50.0 <= percentile <= 100.0:
            raise InputError(f"percentile must lie in [50, 100], got {percentile}")
        n = x.shape[0]
        if n == 0:
            raise InputError("calibrate_adc needs at least one input row, got shape (0, K)")
        position = (n - 1) * (percentile / 100)  # numpy's virtual index for method 'linear'
        low = n - 1 if position >= n - 1 else math.floor(position)
        keep = n - low  # the order statistics low..n−1, largest first
        screened = self.cb.ir_drop and screen_rows is not None and n > screen_rows and 4 * keep <= screen_rows

        def interpolate(top):  # (…, keep, C) order statistics, largest first → percentiles (…, C)
            a = top[..., keep - 1, :]  # x_(low)
            if position >= n - 1:
                return a
            b, gamma = top[..., keep - 2, :], position - low
            return b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma

        peaks = None
        with torch.no_grad():
            for k in range(self.n_planes):
                top = self._screened_top(x, k, keep, screen_rows, interpolate) if screened else None
                if top is None:
                    top = self._exact_top(x, k, keep)
                value = interpolate(top)
                peaks = value if peaks is None else torch.maximum(peaks, value)
            adc_range = torch.clamp(self._per_tile(peaks), min=self.matrix.delta_g * self.cb.read_voltage)
        self.matrix.adc_range = adc_range.to(torch.float64).cpu().numpy()
        self.refresh()

    def _exact_top(self, x: torch.Tensor, k: int, keep: int) -> torch.Tensor:
        """The ``keep`` largest |exact current| per chunk and column of DAC plane k over all rows of x, (n_chunks, keep, C) descending."""
        top = None
        for b0 in range(0, x.shape[0], self.block_rows):
            level, _ = self._dac(x[b0 : b0 + self.block_rows])
            current = self._currents(self._chunked(self._plane(level, k)))[0].abs()
            merged = current if top is None else torch.cat([top, current], dim=1)
            top = merged.topk(min(keep, merged.shape[1]), dim=1, sorted=True).values
        return top

    def _screened_top(self, x: torch.Tensor, k: int, keep: int, screen_rows: int, interpolate):
        """`_exact_top` where it decides the ADC ranges, from a screen; None when the screen looks unsafe.

        Per chunk one GEMM of width C over all rows (unpadded) gives the currents without IR drop,
        I₀ = V @ (G⁺ − G⁻), and from their top values each column's percentile p₀. A tile's range is
        the largest of its columns' percentiles, so exact currents (F9) are computed only for the
        columns with p₀ ≥ `ADC_SCREEN_COLUMNS`·(the tile's largest p₀), and for each of those only
        for its ``screen_rows`` rows of largest |I₀|, as one small product per column. The other
        columns keep their I₀ values, which stay below their tile's range. The IR drop (up to ~20 %
        of the current on the shipped U-Net) reorders rows and columns only locally (measured there
        when written: the kept rows rank at most 18th of 48, and the column that sets a tile's range
        has p₀ ≥ 0.95 of the tile's largest). Two checks in any chunk send the whole DAC plane back
        to the full read (None): a kept row ranking in the lower half of its candidates, or a
        screened-out column that could reach its tile's exact range were its current raised by the
        largest exact/I₀ ratio of the columns read, +10 %. Returns (n_chunks, keep, C) descending.
        ``interpolate(top)`` turns (…, keep, C) order statistics into percentiles.
        """
        c, tile = self.n_columns, self.tile_rows
        v = self._plane(self._dac(x)[0], k)
        tops = []
        for index in range(self.n_chunks):
            rows = min(tile, self.in_features - index * tile)
            vi = v[:, index * tile : index * tile + rows]
            linear = torch.mm(
                self._signed[index, :rows, :c].T.contiguous(), vi.T
            ).abs_()  # (C, B): |V @ (G⁺ − G⁻)|, transposed
            top = linear.topk(keep, dim=1, sorted=True).values.T.contiguous()  # (keep, C)
            screened = interpolate(top)
            tile_peak = self._per_tile(screened[None])[0]
            read = torch.nonzero(screened >= ADC_SCREEN_COLUMNS * tile_peak)[:, 0]
            order = linear[read].topk(screen_rows, dim=1, sorted=True).indices  # (R, M)
            candidates = vi[order]  # (R, M, T): column c's candidate rows
            signed = torch.bmm(
                candidates, self._signed[index, :rows].reshape(rows, 3, c)[..., read].permute(2, 0, 1).contiguous()
            )
            absolute = torch.bmm(
                candidates.abs(),
                self._abs[index, :rows, : 2 * c].reshape(rows, 2, c)[..., read].permute(2, 0, 1).contiguous(),
            )
            current, p_pos, p_neg = signed.unbind(dim=2)  # each (R, M)
            a_pos, a_neg = absolute.unbind(dim=2)
            for a, p, sign in (
                (a_pos, p_pos, -1.0),
                (a_neg, p_neg, 1.0),
            ):  # as `_apply_ir_drop`: c(a) = (0.05a² − 0.2a + 0.5)·a
                current = current + sign * ((a * 0.05 - 0.2) * a + 0.5) * (a * p)
            values, ranks = current.abs().topk(keep, dim=1, sorted=True)  # (R, keep)
            if int(ranks.max()) >= screen_rows // 2:
                return None
            exact = interpolate(values.T)
            ratio = float((exact / screened[read].clamp_min(1e-300)).max())
            top[:, read] = values.T
            peak = self._per_tile(interpolate(top)[None])[0]
            skipped = torch.ones(c, dtype=torch.bool, device=self.device)
            skipped[read] = False
            if bool((skipped & (screened * (1.1 * ratio) >= peak)).any()):
                return None
            tops.append(top)
        return torch.stack(tops)

    def calibration_reads(self, x: torch.Tensor) -> CalibrationReads:
        """The deterministic GEMMs of reading ``x`` (B, K), kept to be shared by the calibrations (see `CalibrationReads`).

        Computed in the row blocks `matmul` uses, with the same ops, so that `calibrate_output_gain`
        given them reads exactly what `matmul` would; `CalibrationReads.sums` hands them to
        `device.statistical.derive`.
        """
        x = self._check_x(x)
        n, c = x.shape[0], self.n_columns
        x_scale = torch.empty((n, 1), device=self.device, dtype=self.dtype)
        shape = lambda t: (self.n_chunks, n, t.shape[-1])  # noqa: E731
        signed = [torch.empty(shape(self._signed), device=self.device, dtype=self.dtype) for _ in range(self.n_planes)]
        absolute = [
            None if self._abs is None else torch.empty(shape(self._abs), device=self.device, dtype=self.dtype)
            for _ in range(self.n_planes)
        ]
        squares = [
            None if self._squares is None else torch.empty(shape(self._squares), device=self.device, dtype=self.dtype)
            for _ in range(self.n_planes)
        ]
        with torch.no_grad():
            for b0 in range(0, n, self.block_rows):
                rows = slice(b0, min(b0 + self.block_rows, n))
                level, x_scale[rows] = self._dac(x[rows])
                for k in range(self.n_planes):
                    vc = self._chunked(self._plane(level, k))
                    signed[k][:, rows], block_absolute = self._products(vc)
                    if absolute[k] is not None:
                        absolute[k][:, rows] = block_absolute
                    if squares[k] is not None:
                        squares[k][:, rows] = torch.bmm(vc.square(), self._squares)
        variance = squares
        if self.bit_serial and self.cb.read_noise > 0:  # the |V| GEMM's last C columns (V² = V_read·|V|)
            variance = [a[..., 2 * c :] if self.cb.ir_drop else a for a in absolute]
        return CalibrationReads(signed, absolute, variance, x_scale, c, self.cb.ir_drop)

    def _read_stored(self, reads: CalibrationReads, generator) -> torch.Tensor:
        """`matmul` (uncharged) from `calibration_reads`: the same blocks, deviates and ops, so the same y (B, N)."""
        n = reads.rows
        y = torch.empty((n, self.out_features), device=self.device, dtype=self.dtype)
        with torch.no_grad():
            for b0 in range(0, n, self.block_rows):
                b1 = min(b0 + self.block_rows, n)
                accumulated = None
                for k, weight in enumerate(self.plane_weights):
                    z = None
                    if self.noisy:
                        z = torch.randn(
                            (self.n_chunks, b1 - b0, self.n_columns),
                            generator=generator,
                            device=self.device,
                            dtype=self.dtype,
                        )
                    absolute = reads.absolute[k]
                    current, extra = self._apply_ir_drop(
                        reads.signed[k][:, b0:b1].clone(), None if absolute is None else absolute[:, b0:b1].clone()
                    )
                    variance = None
                    if self.cb.read_noise > 0:
                        variance = extra if self.bit_serial else reads.variance[k][:, b0:b1].clone()
                    total = self._convert(current, variance, z).sum(dim=0)
                    if accumulated is None:
                        accumulated = total.mul_(weight) if weight != 1.0 else total
                    else:
                        accumulated.add_(total, alpha=weight)
                block = accumulated.reshape(b1 - b0, self.out_features, self.n_slices) @ self._slice_weights
                y[b0:b1] = block.mul_(self._out_scale).mul_(reads.x_scale[b0:b1])
        return y

    def _per_tile(self, per_column: torch.Tensor) -> torch.Tensor:
        """Max over the columns of each tile, broadcast back; (chunks, C) → (chunks, C) (any number of rows)."""
        width = self.cb.pairs_per_tile
        groups = math.ceil(self.n_columns / width)
        padded = F.pad(per_column, (0, groups * width - self.n_columns), value=float("-inf"))
        tile_max = padded.reshape(per_column.shape[0], groups, width).amax(dim=2)
        return tile_max.repeat_interleave(width, dim=1)[:, : self.n_columns]

    def calibrate_output_gain(
        self, x, target, generator, limits=(0.5, 2.0), reads: CalibrationReads | None = None
    ) -> np.ndarray:
        """Each output's digital gain = argmin_g Σ_b (g·y_b − t_b)² = Σ y·t / Σ y², clipped to ``limits``.

        As `ProgrammedMatrix.calibrate_output_gain`, reading ``x`` with this engine at gain 1 (noise
        from ``generator``; None: a fixed generator seeded 0, as the numpy path's default). ``target``
        (B, N) holds the exact products. ``reads``: `calibration_reads` of ``x``, computed once and
        shared (the read is then `_read_stored`, equal to `matmul`'s). Writes ``matrix.output_gain``
        and the engine copy; returns the gains (N,) float64.
        """
        x = self._check_x(x)
        target = self._input("target", target).to(torch.float64)
        if tuple(target.shape) != (x.shape[0], self.out_features):
            raise InputError(f"target must have shape {(x.shape[0], self.out_features)}, got {tuple(target.shape)}")
        if reads is not None and reads.rows != x.shape[0]:
            raise InputError(f"reads hold {reads.rows} rows but x has {x.shape[0]}")
        if generator is None and self.noisy:
            generator = torch.Generator(device=self.device).manual_seed(0)
        self.matrix.output_gain = np.ones(self.out_features)
        self.refresh()
        y = (self.matmul(x, generator) if reads is None else self._read_stored(reads, generator)).to(torch.float64)
        power = (y * y).sum(dim=0)
        gain = torch.where(power > 0, (y * target).sum(dim=0) / torch.where(power > 0, power, 1.0), 1.0)
        self.matrix.output_gain = np.clip(gain.cpu().numpy(), *limits)
        self.refresh()
        return self.matrix.output_gain


@dataclass
class CalibrationReads:
    """The deterministic GEMM results of one batch read by a `TorchCrossbar` (`calibration_reads`).

    Calibration reads the same rows several times: the output-gain fit reads them with noise and
    ADC (`TorchCrossbar.calibrate_output_gain`), `device.statistical.derive` needs their column
    sums for the IR fit, the ADC error and the IR residual. These are the GEMMs all of them start
    from, computed once. Per DAC plane k, tensors (n_chunks, B, ·) in the engine's dtype and device:

    Attributes:
        signed: V @ [G⁺ − G⁻ | f·G⁺ | f·G⁻] (A), just V @ (G⁺ − G⁻) without IR drop.
        absolute: |V| @ [s·G⁺ | s·G⁻] = F9's a^±, s = n/(V_read·G_wire) (bit-serial with read noise:
            then rn²·V_read·|V| @ (G⁺² + G⁻²)), or None.
        variance: rn²·V² @ (G⁺² + G⁻²), the read noise's variance (A²), or None without read noise.
        x_scale: (B, 1) the DAC's per-row input scale.
        n_columns: C, column pairs; ir_drop: whether signed/absolute carry the IR-drop sums.
    """

    signed: list
    absolute: list
    variance: list
    x_scale: torch.Tensor
    n_columns: int
    ir_drop: bool

    @property
    def rows(self) -> int:
        return self.x_scale.shape[0]

    def sums(self, k: int) -> ReadSums:
        """DAC plane k as `device.statistical.ReadSums` of numpy arrays (chunks, B, C) in the engine's dtype.

        F9's drop is computed here, op for op as `TorchCrossbar._apply_ir_drop` does.
        """
        c = self.n_columns
        to_numpy = lambda t: None if t is None else t.detach().cpu().numpy()  # noqa: E731
        signed, absolute = self.signed[k], self.absolute[k]
        if not self.ir_drop:
            return ReadSums(to_numpy(signed), None, None, None, to_numpy(self.variance[k]))
        a = absolute[..., : 2 * c]
        coefficient = a * 0.05  # c(a)·P = (0.05a² − 0.2a + 0.5)·(a·P), as `_apply_ir_drop`
        coefficient.sub_(0.2).mul_(a).add_(0.5).mul_(a * signed[..., c:])
        drop = coefficient[..., :c] - coefficient[..., c:]
        return ReadSums(
            linear=to_numpy(signed[..., :c]),
            p_pos=to_numpy(signed[..., c : 2 * c]),
            p_neg=to_numpy(signed[..., 2 * c :]),
            drop=to_numpy(drop),
            read_variance=to_numpy(self.variance[k]),
        )
