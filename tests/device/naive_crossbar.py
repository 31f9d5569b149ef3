"""Plain per-cell twins of device/crossbar.py and device/readout.py (house rule 4), slow on purpose.

Written from the physics (docs: the module docstring of device/crossbar.py and physics.md F8, F9,
F16), not from the vectorised code: every sum over rows is a loop over cells, every tile is visited
explicitly. Only the batch dimension is a numpy vector, so that statistical tests can afford
thousands of repetitions. Nothing here calls `device.crossbar`.

Programming (`program`): per-weight sign/magnitude quantisation, bit slicing and the analog cell
mapping, F16 conductances of each cell, and the write-verify loop. The random draws replay those of
`device.crossbar_programming.program`, one cell at a time: weight row k owns xoshiro256** stream k
(`naive_bernoulli`), whose normals come from the 256-layer ziggurat of Marsaglia & Tsang
(`Ziggurat` below, written from their paper) and whose uniforms are its top 53 bits. Along a row,
output by output, slice by slice from the MSB (one slice for the analog cell), positive then
negative cell: R_P, TMR (normals clipped to ±4σ); with physics writes a uniform for the initial
state, and for a cell that starts wrong K_i0, stray field (normals, ±4σ) and one uniform per pulse
(success if u < P_success of its own K_i0 and stray field); then, closed loop with read noise, one
normal for the pair's two verify reads (their difference carries σ·sqrt(G⁺² + G⁻²)). The closed
loop picks each lower slice's signed digit from what the measured upper slices left over. That
order is the reproducibility contract of a chip seed, so the twin checks it cell by cell.

Read path (`matmul`): DAC planes element by element; per tile (a chunk of ``tile_rows`` rows × a
group of ``tile_cols/2`` column pairs) each physical column's current Σ_j V_j·G_jc, its own F9 IR
drop, and, when asked, per-cell read noise (each cell's current gets its own Gaussian
N(0, (read_noise·G·V)²)); the pair current I⁺ − I⁻; ADC noise; ADC quantisation with clipping;
shift-and-add of slices; de-scaling.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import ndtri

from device import mtj
from tests.device import naive_bernoulli

# ----------------------------------------------------------------------------------------------
# cells
# ----------------------------------------------------------------------------------------------


def f16_conductances(params: mtj.MTJParameters, read_voltage: float, r_p: float, tmr: float) -> tuple[float, float]:
    """(G_on, G_off) of one cell at bias ``read_voltage`` from F16.

    R(θ, V) = R_P·(1 + b + TMR)/(1 + b + TMR·(1 + cos θ)/2), b = (V/V_h)²:
    parallel (cos θ = 1) gives R_P exactly; anti-parallel (cos θ = −1) gives R_P·(1 + b + TMR)/(1 + b).
    """
    b = (read_voltage / params.tmr_half_voltage) * (read_voltage / params.tmr_half_voltage)
    g_on = 1.0 / r_p
    g_off = (1.0 + b) / (r_p * (1.0 + b + tmr))
    return g_on, g_off


def quantise_weights(weights: np.ndarray, weight_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Column by column, weight by weight: level = rint(w/max|w_col|·(2^b − 1)); analog: w/max|w_col|."""
    k, n = weights.shape
    levels = np.zeros((k, n))
    scale = np.zeros(n)
    for col in range(n):
        w_max = 0.0
        for row in range(k):
            w_max = max(w_max, abs(float(weights[row, col])))
        if w_max == 0.0:
            w_max = 1.0
        if weight_bits == 0:
            scale[col] = w_max
            for row in range(k):
                levels[row, col] = float(weights[row, col]) / w_max
        else:
            top = 2**weight_bits - 1
            scale[col] = w_max / top
            for row in range(k):
                levels[row, col] = float(np.rint(float(weights[row, col]) / w_max * top))
    return levels, scale


def slice_bits(levels: np.ndarray, weight_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit s of |level[k, n]| goes to column n·S + s of the positive (level > 0) or negative cells."""
    k, n = levels.shape
    pos = np.zeros((k, n * weight_bits), dtype=bool)
    neg = np.zeros((k, n * weight_bits), dtype=bool)
    for row in range(k):
        for col in range(n):
            level = int(levels[row, col])
            magnitude = abs(level)
            for s in range(weight_bits):
                bit = (magnitude >> s) & 1
                if bit and level > 0:
                    pos[row, col * weight_bits + s] = True
                elif bit and level < 0:
                    neg[row, col * weight_bits + s] = True
    return pos, neg


def analog_targets(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Analog reference cell: the positive cell holds max(level, 0), the negative max(−level, 0)."""
    k, n = levels.shape
    pos = np.zeros((k, n))
    neg = np.zeros((k, n))
    for row in range(k):
        for col in range(n):
            level = float(levels[row, col])
            if level > 0:
                pos[row, col] = level
            elif level < 0:
                neg[row, col] = -level
    return pos, neg


class Programming(NamedTuple):
    g_pos: np.ndarray  # (K, C) S
    g_neg: np.ndarray
    col_scale: np.ndarray  # (N,)
    target_pos: np.ndarray  # (K, C) bool, or float levels for the analog cell
    target_neg: np.ndarray
    needed_write: np.ndarray  # (2, K, C) bool: cell started in the wrong state (physics writes)
    p_success: np.ndarray  # (2, K, C) per-pulse success probability, nan where no write was needed
    write_pulses: int
    verify_reads: int
    residual_errors: int


def nominal_delta_g(mtj_params, cb) -> float:
    """ΔG = G_on − G_off of the nominal cell at the read voltage (F16)."""
    g_on, g_off = f16_conductances(mtj_params, cb.read_voltage, mtj_params.resistance_parallel, mtj_params.tmr)
    return g_on - g_off


class Ziggurat:
    """N(0, 1) deviates from one xoshiro256** stream by the ziggurat method with 256 layers.

    G. Marsaglia and W. W. Tsang, "The ziggurat method for generating random variables", J. Stat.
    Softw. 5(8), 2000: the density is covered by 255 rectangles and a base strip (rectangle plus
    tail beyond r) of equal area v. One 64-bit output: its low 8 bits pick the layer i, the next
    bit the sign, the next 52 bits a fraction u of the layer's width x_i; x = u·x_i is accepted
    when it lies under the layer above (x < x_{i−1}), else (wedge) when f_i + U·(f_{i−1} − f_i) <
    exp(−x²/2), else a new output is drawn. In the base layer, beyond r: Marsaglia's tail method,
    x = −ln(1 − U₁)/r, y = −ln(1 − U₂) until 2y > x², giving ±(r + x).
    """

    R = 3.6541528853610088
    V = 0.00492867323399

    def __init__(self, stream: naive_bernoulli.Xoshiro256ss) -> None:
        self.stream = stream
        # layer edges x_i (x_255 = r; area of every layer v) and f(x_i) = exp(−x_i²/2)
        x = [0.0] * 256
        x[255] = self.R
        for i in range(254, 0, -1):
            x[i] = math.sqrt(-2.0 * math.log(self.V / x[i + 1] + math.exp(-0.5 * x[i + 1] ** 2)))
        self.width = [self.V / math.exp(-0.5 * self.R**2)] + x[1:]  # layer 0: the base strip's rectangle
        self.f = [1.0] + [math.exp(-0.5 * xi * xi) for xi in x[1:]]
        self.x = x

    def normal(self) -> float:
        while True:
            word = self.stream.next_u64()
            i = word & 0xFF
            negative = (word >> 8) & 1
            j = (word >> 9) & ((1 << 52) - 1)  # the abscissa as a 52-bit fraction of the layer's width
            x = j / 2.0**52 * self.width[i]
            inner = self.R if i == 0 else self.x[i - 1]  # points left of it lie under the density
            if j < int(inner / self.width[i] * 2.0**52):
                return -x if negative else x
            if i == 0:
                while True:
                    tail = -math.log(1.0 - self.stream.next_uniform()) / self.R
                    y = -math.log(1.0 - self.stream.next_uniform())
                    if y + y > tail * tail:
                        return -(self.R + tail) if negative else self.R + tail
            elif self.f[i] + self.stream.next_uniform() * (self.f[i - 1] - self.f[i]) < math.exp(-0.5 * x * x):
                return -x if negative else x

    def clipped(self) -> float:
        return min(max(self.normal(), -4.0), 4.0)


def read_noise(mtj_params, cb) -> float:
    """The cell read noise: ``cb.read_noise`` if set, else thermal + shot noise of the parallel cell at the
    full-scale read voltage over Δf = 1/(2·t_read), times the noise factor (docs/physics.md, "Read noise")."""
    if cb.read_noise is not None:
        return cb.read_noise
    k_b, q = 1.380649e-23, 1.602176634e-19
    g = 1.0 / mtj_params.resistance_parallel  # F16 in the parallel state: R = R_P at any bias
    current = g * cb.read_voltage
    variance = cb.read_noise_factor * (4 * k_b * mtj_params.temperature * g + 2 * q * current) / (2 * cb.read_time)
    return math.sqrt(variance) / current


def program(weights, mtj_params, variation, cb, seed: int) -> Programming:
    """Cell-by-cell twin of `device.crossbar_programming.program` (same random draws, same order)."""
    weights = np.asarray(weights, dtype=np.float64)
    sigma_read = read_noise(mtj_params, cb)
    levels, col_scale = quantise_weights(weights, cb.weight_bits)
    if cb.weight_bits:
        target_pos, target_neg = slice_bits(levels, cb.weight_bits)  # closed loop replaces these below
    else:
        target_pos, target_neg = analog_targets(levels)
    k, c = target_pos.shape
    n_slices = max(cb.weight_bits, 1)
    n_out = c // n_slices
    closed_loop = cb.weight_bits > 0 and cb.weight_mapping == "closed_loop"
    spread = variation if cb.cell_variation else mtj.NO_VARIATION
    streams = naive_bernoulli.streams_from_array(
        naive_bernoulli.new_stream_states(k, np.random.default_rng([seed, 11]))
    )
    delta_g = nominal_delta_g(mtj_params, cb)

    g = np.zeros((2, k, c))
    needed = np.zeros((2, k, c), dtype=bool)
    p_success = np.full((2, k, c), np.nan)
    counts = {"pulses": 0, "verify": 0, "residual": 0}
    if closed_loop:
        target_pos = np.zeros((k, c), dtype=bool)
        target_neg = np.zeros((k, c), dtype=bool)

    def make_cell(stream, gauss, cell, target):
        """R_P and TMR, then (physics) the write-verify loop towards ``target``; returns the cell's G."""
        r_p = mtj_params.resistance_parallel * (1.0 + spread.resistance_parallel_rel * gauss.clipped())
        tmr = mtj_params.tmr * (1.0 + spread.tmr_rel * gauss.clipped())
        g_on, g_off = f16_conductances(mtj_params, cb.read_voltage, r_p, tmr)
        if cb.weight_bits == 0:
            return g_off + (g_on - g_off) * float(target)
        state = bool(target)
        if cb.write_model == "physics":
            counts["verify"] += 1  # the read of the unknown initial state
            if (stream.next_uniform() < 0.5) != state:  # started in the wrong state
                needed[cell] = True
                k_i0 = mtj_params.interfacial_anisotropy * (1.0 + spread.interfacial_anisotropy_rel * gauss.clipped())
                stray = mtj_params.stray_field + spread.stray_field_abs * gauss.clipped()
                toward = 1.0 if state else -1.0  # the write line pushes towards the target
                p_minus = float(
                    mtj.switching_probability_hard_axis(
                        mtj_params, cb.write_pulse_voltage, stray + toward * cb.write_field, k_i0
                    )
                )
                p_success[cell] = 1.0 - p_minus if state else p_minus
                for _ in range(cb.write_verify_attempts):
                    counts["pulses"] += 1
                    counts["verify"] += 1  # every pulse is verified
                    if stream.next_uniform() < p_success[cell]:
                        break
                else:
                    counts["residual"] += 1
                    state = not state
        return g_on if state else g_off

    for row in range(k):
        stream = streams[row]
        gauss = Ziggurat(stream)
        for n in range(n_out):
            remaining = float(weights[row, n]) / col_scale[n] if closed_loop else 0.0
            for s in reversed(range(n_slices)):
                col = n * n_slices + s
                if closed_loop:
                    digit = min(max(float(np.rint(remaining / 2.0**s)), -1.0), 1.0)
                    target_pos[row, col], target_neg[row, col] = digit > 0, digit < 0
                g[0, row, col] = make_cell(stream, gauss, (0, row, col), target_pos[row, col])
                g[1, row, col] = make_cell(stream, gauss, (1, row, col), target_neg[row, col])
                if closed_loop:
                    if cb.write_model == "ideal":
                        counts["verify"] += 2  # the measurement below is each cell's verify read
                    measured = g[0, row, col] - g[1, row, col]
                    if sigma_read > 0:  # two reads with independent relative noise: σ² summed
                        sigma = sigma_read * math.sqrt(g[0, row, col] ** 2 + g[1, row, col] ** 2)
                        measured += sigma * gauss.normal()
                    remaining -= 2.0**s * measured / delta_g
    pulses, verify, residual = counts["pulses"], counts["verify"], counts["residual"]
    return Programming(g[0], g[1], col_scale, target_pos, target_neg, needed, p_success, pulses, verify, residual)


# ----------------------------------------------------------------------------------------------
# DAC, tiles, IR drop, ADC
# ----------------------------------------------------------------------------------------------


def dac(x: np.ndarray, cb) -> tuple[list[np.ndarray], list[float], np.ndarray]:
    """Element-by-element DAC: returns (voltage planes (B, K), plane weights, per-row scale (B,))."""
    b_rows, k = x.shape
    x_scale = np.ones(b_rows)
    for b in range(b_rows):
        m = 0.0
        for j in range(k):
            m = max(m, abs(float(x[b, j])))
        x_scale[b] = m if m > 0 else 1.0
    if cb.input_bits == 0:
        plane = np.zeros((b_rows, k))
        for b in range(b_rows):
            for j in range(k):
                plane[b, j] = float(x[b, j]) / x_scale[b] * cb.read_voltage
        return [plane], [1.0], x_scale
    top = 2 ** (cb.input_bits - 1) - 1
    q = np.zeros((b_rows, k), dtype=np.int64)
    for b in range(b_rows):
        for j in range(k):
            q[b, j] = int(np.rint(float(x[b, j]) / x_scale[b] * top))
    if cb.input_mode == "amplitude":
        plane = np.zeros((b_rows, k))
        for b in range(b_rows):
            for j in range(k):
                plane[b, j] = q[b, j] / top * cb.read_voltage
        return [plane], [1.0], x_scale
    planes, weights = [], []
    for bit in range(cb.input_bits - 1):
        plane = np.zeros((b_rows, k))
        for b in range(b_rows):
            for j in range(k):
                if (abs(int(q[b, j])) >> bit) & 1:
                    plane[b, j] = cb.read_voltage if q[b, j] > 0 else -cb.read_voltage
        planes.append(plane)
        weights.append(2.0**bit / top)
    return planes, weights, x_scale


def tiles(n_rows: int, n_pairs: int, cb) -> list[tuple[int, range, range]]:
    """(chunk index, rows, column pairs) of every tile, chunk-major."""
    out = []
    for chunk, r0 in enumerate(range(0, n_rows, cb.tile_rows)):
        rows = range(r0, min(r0 + cb.tile_rows, n_rows))
        for c0 in range(0, n_pairs, cb.pairs_per_tile):
            out.append((chunk, rows, range(c0, min(c0 + cb.pairs_per_tile, n_pairs))))
    return out


def ir_drop_coefficient(a):
    """F9: c = a·(0.05a² − 0.2a + 0.5)."""
    return a * (0.05 * a * a - 0.2 * a + 0.5)


def column_current(g: np.ndarray, col: int, voltages: np.ndarray, rows: range, cb, rng=None) -> np.ndarray:
    """Current (B,) of one physical column over ``rows`` of its tile, cell by cell.

    IR drop (F9), when on: a = n·Σ_j |G_j·V_j|/(V_read·G_wire), n = tile_rows, G_wire = 1/R_wire;
    ΔI = −c(a)·Σ_j G_j·V_j·(1 − (1 − j/n)²), j = the row's index inside its tile.
    Read noise (F8), when ``rng`` is given and read_noise > 0: every cell's current G_j·V_j gets its
    own N(0, (read_noise·G_j·V_j)²).
    """
    n_batch = voltages.shape[0]
    current = np.zeros(n_batch)
    for j in rows:
        cell = voltages[:, j] * g[j, col]
        if rng is not None and cb.read_noise > 0:
            cell = cell + rng.standard_normal(n_batch) * (cb.read_noise * np.abs(cell))
        current += cell
    if cb.ir_drop:
        n = cb.tile_rows
        g_wire = 1.0 / cb.wire_resistance
        absolute = np.zeros(n_batch)
        weighted = np.zeros(n_batch)
        for j in rows:
            local = j - rows.start
            absolute += np.abs(g[j, col] * voltages[:, j])
            weighted += g[j, col] * voltages[:, j] * (1.0 - (1.0 - local / n) ** 2)
        a = n * absolute / (cb.read_voltage * g_wire)
        current = current - ir_drop_coefficient(a) * weighted
    return current


def pair_currents(g_pos, g_neg, voltages, rows: range, cols: range, cb, rng=None) -> np.ndarray:
    """Differential currents I⁺ − I⁻ (B, len(cols)) of the column pairs ``cols`` over ``rows``."""
    out = np.zeros((voltages.shape[0], len(cols)))
    for i, col in enumerate(cols):
        out[:, i] = column_current(g_pos, col, voltages, rows, cb, rng) - column_current(
            g_neg, col, voltages, rows, cb, rng
        )
    return out


def adc_code(value: np.ndarray, full_scale: float, adc_bits: int) -> np.ndarray:
    """code = clip(rint(I/LSB), −2^(b−1), 2^(b−1) − 1), LSB = full_scale/2^(b−1)."""
    half = 2.0 ** (adc_bits - 1)
    lsb = full_scale / half
    return np.clip(np.rint(value / lsb), -half, half - 1.0)


def adc_lsb(full_scale: float, adc_bits: int) -> float:
    return full_scale / 2.0 ** (adc_bits - 1)


def analytic_adc_range(pm) -> np.ndarray:
    """(chunks, C): per tile, adc_range_sigmas × the largest RMS pair current of uniform inputs
    (E[V²] = V_read²/3, so RMS = sqrt(V_read²/3·Σ_j (G⁺ − G⁻)²)); never below ΔG·V_read."""
    cb = pm.cb
    k, n_pairs = pm.g_pos.shape
    n_chunks = math.ceil(k / cb.tile_rows)
    out = np.zeros((n_chunks, n_pairs))
    for chunk, rows, cols in tiles(k, n_pairs, cb):
        largest = 0.0
        for col in cols:
            total = 0.0
            for j in rows:
                total += (pm.g_pos[j, col] - pm.g_neg[j, col]) ** 2
            largest = max(largest, cb.adc_range_sigmas * math.sqrt(cb.read_voltage**2 / 3.0 * total))
        for col in cols:
            out[chunk, col] = max(largest, pm.delta_g * cb.read_voltage)
    return out


def calibrated_adc_range(pm, x, percentile) -> np.ndarray:
    """(chunks, C): per tile, the largest ``percentile`` of |pair current| over columns and planes."""
    cb = pm.cb
    k, n_pairs = pm.g_pos.shape
    planes, _, _ = dac(np.asarray(x, dtype=float), cb)
    out = np.zeros((math.ceil(k / cb.tile_rows), n_pairs))
    for chunk, rows, cols in tiles(k, n_pairs, cb):
        largest = 0.0
        for voltages in planes:
            current = pair_currents(pm.g_pos, pm.g_neg, voltages, rows, cols, cb)
            for i in range(len(cols)):
                largest = max(largest, float(np.percentile(np.abs(current[:, i]), percentile)))
        for col in cols:
            out[chunk, col] = max(largest, pm.delta_g * cb.read_voltage)
    return out


# ----------------------------------------------------------------------------------------------
# the matrix-vector product
# ----------------------------------------------------------------------------------------------


class Result(NamedTuple):
    y: np.ndarray  # (B, N)
    currents: list  # [plane][chunk] -> (B, C) pre-noise, pre-ADC pair currents (IR drop included)
    codes: list  # [plane][chunk] -> (B, C) ADC codes (None when adc_bits = 0)
    plane_weights: list
    x_scale: np.ndarray


def matmul(pm, x, rng: np.random.Generator | None = None) -> Result:
    """y ≈ x @ W from the programmed cells of ``pm`` (g_pos, g_neg, col_scale, adc_range, delta_g, cb).

    Noise (read and ADC) is drawn only when ``rng`` is given; draws are the twin's own, so noisy
    results agree with `ProgrammedMatrix.matmul` in distribution, not draw for draw.
    """
    cb = pm.cb
    x = np.asarray(x, dtype=float)
    k, n_pairs = pm.g_pos.shape
    n_slices = max(cb.weight_bits, 1)
    n_out = n_pairs // n_slices
    n_chunks = math.ceil(k / cb.tile_rows)
    planes, plane_weights, x_scale = dac(x, cb)
    n_batch = x.shape[0]
    accumulated = np.zeros((n_batch, n_pairs))
    all_currents, all_codes = [], []
    for voltages, weight in zip(planes, plane_weights):
        currents = [np.zeros((n_batch, n_pairs)) for _ in range(n_chunks)]
        codes = [np.zeros((n_batch, n_pairs)) for _ in range(n_chunks)] if cb.adc_bits else None
        for chunk, rows, cols in tiles(k, n_pairs, cb):
            clean = pair_currents(pm.g_pos, pm.g_neg, voltages, rows, cols, cb)
            noisy = pair_currents(pm.g_pos, pm.g_neg, voltages, rows, cols, cb, rng) if rng is not None else clean
            for i, col in enumerate(cols):
                currents[chunk][:, col] = clean[:, i]
                value = noisy[:, i].copy()
                full_scale = float(pm.adc_range[chunk, col])
                if rng is not None and cb.adc_noise > 0:
                    value += rng.standard_normal(n_batch) * (cb.adc_noise * full_scale)
                if cb.adc_bits:
                    code = adc_code(value, full_scale, cb.adc_bits)
                    codes[chunk][:, col] = code
                    value = code * adc_lsb(full_scale, cb.adc_bits)
                accumulated[:, col] += weight * value
        all_currents.append(currents)
        all_codes.append(codes)
    y = np.zeros((n_batch, n_out))
    for b in range(n_batch):
        for n in range(n_out):
            total = 0.0
            for s in range(n_slices):
                total += 2.0**s * accumulated[b, n * n_slices + s]  # shift-and-add
            y[b, n] = total / (pm.delta_g * cb.read_voltage) * (pm.col_scale[n] * pm.output_gain[n]) * x_scale[b]
    return Result(y, all_currents, all_codes, plane_weights, x_scale)


def read_energy(pm, x) -> float:
    """Σ over planes, batch rows and cells of V²·G·t_read, J."""
    planes, _, _ = dac(np.asarray(x, dtype=float), pm.cb)
    k, n_pairs = pm.g_pos.shape
    total = 0.0
    for voltages in planes:
        for b in range(voltages.shape[0]):
            for j in range(k):
                v2 = voltages[b, j] ** 2
                if v2 == 0.0:
                    continue
                for col in range(n_pairs):
                    total += v2 * (pm.g_pos[j, col] + pm.g_neg[j, col]) * pm.cb.read_time
    return total


# ----------------------------------------------------------------------------------------------
# the read-out kernel
# ----------------------------------------------------------------------------------------------


def read_out_accumulate(current, noise_std, full_scale, adc_noise, adc_bits, weight, states, out):
    """Twin of `device.readout.read_out_accumulate`, draw for draw; returns (new out, new states).

    Row b uses its own xoshiro256** stream; when any noise is on, its elements (in column order)
    take the 16-bit fields of successive 64-bit outputs (lowest first), each mapped to
    Φ⁻¹((k + ½)/2¹⁶) and scaled by sqrt(noise_std² + (adc_noise·full_scale)²). The arguments are
    not modified.
    """
    streams = naive_bernoulli.streams_from_array(states)
    out = np.array(out, dtype=np.float64, copy=True)
    n_batch, n_cols = current.shape
    for b in range(n_batch):
        deviates = []
        for c in range(n_cols):
            value = float(current[b, c])
            if noise_std is not None or adc_noise > 0.0:
                if not deviates:
                    word = streams[b].next_u64()
                    deviates = [float(ndtri((((word >> (16 * k)) & 0xFFFF) + 0.5) / 65536.0)) for k in range(4)]
                z = deviates.pop(0)
                variance = (float(adc_noise) * float(full_scale[c])) ** 2
                if noise_std is not None:
                    variance += float(noise_std[b, c]) ** 2
                value += math.sqrt(variance) * z
            if adc_bits > 0:
                value = float(adc_code(value, float(full_scale[c]), adc_bits)) * adc_lsb(float(full_scale[c]), adc_bits)
            out[b, c] += float(weight) * value
    return out, naive_bernoulli.streams_to_array(streams)
