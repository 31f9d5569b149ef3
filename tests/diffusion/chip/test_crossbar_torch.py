"""Tests for diffusion/chip/crossbar_torch.py: the torch read path against `ProgrammedMatrix.matmul`.

The reference is the numpy + Numba path of device/crossbar.py (itself held to the per-cell twin in
tests/device/naive_crossbar.py). Tolerances and why:
- float64, noise off (ADC quantisation and IR drop on): outputs to 1e-12 of max|y| and currents to
  1e-12 of the gross column current Σ|V|·(G⁺ + G⁻). The two paths sum in different orders, so they
  differ by float rounding (≈ 1e-16 relative), far below one ADC code: every code is equal.
- float64, noise on: the engine is fed the Numba kernel's own deviates (`kernel_deviates`, which
  replays the per-row xoshiro256** streams of `new_stream_states`); outputs again to 1e-12 of max|y|.
  An ADC code could flip only where noise + current lies within ~1e-16 of a rounding boundary; the
  assertion allows one such output in a thousand (none occur with these seeds).
- float32 with `torch.randn`: per output, the error y − x@W has the numpy path's mean and variance
  within 4 standard errors (SE² of a mean: s²/n; of a variance: (m₄ − s⁴)/n, non-Gaussian safe).
- ledger: integer counters equal, the read energy (a float64 sum in another order) to 1e-12.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from device import profiles
from device.crossbar_programming import program
from device.errors import InputError
from device.gaussian import inverse_cdf_table
from device.ledger import COUNTERS, Ledger
from device.random_streams import new_stream_states
from device.readout import NOISE_TABLE_BITS, read_out_accumulate
from diffusion.chip.crossbar_torch import TorchCrossbar, all_finite
from tests.device import naive_bernoulli

torch.set_num_threads(1)

BIT_SERIAL = dict(input_mode="bit_serial", input_bits=5)
SMALL_TILES = dict(tile_rows=16, tile_cols=16)
# (profile, crossbar changes): amplitude 8/8 bit, the precise 64-tile 10-bit ADC, 4/4 bit, bit-serial, ideal
CASES = [
    ("vcma-default", {}),
    ("vcma-precise", {}),
    ("vcma-lowbit", {}),
    ("vcma-default", BIT_SERIAL),
    ("vcma-default", {**BIT_SERIAL, **SMALL_TILES}),
    ("vcma-default", SMALL_TILES),
    ("ideal", {}),
]
SHAPES = [(6, 40, 5), (9, 150, 13)]  # K < tile_rows; K and N·S not multiples of the tile


def _matrix(name, changes, k, n, seed=0, noise=False, compute_dtype=np.float64):
    profile = profiles.get_profile(name)
    cb = dataclasses.replace(profile.crossbar, **changes)
    if not noise:
        cb = dataclasses.replace(cb, read_noise=0.0, adc_noise=0.0)
    w = np.random.default_rng([seed, k, n]).standard_normal((k, n)) / math.sqrt(k)
    pm = program(w, profile.mtj, profile.variation, cb, profile.technology, seed, compute_dtype=compute_dtype)
    return pm, w


def _inputs(b, k, seed=1):
    x = np.random.default_rng([seed, b, k]).standard_normal((b, k))
    x[0, : k // 3] = 0.0  # some zero inputs
    return x


def _calibrated(name, changes, k, n, noise=False, compute_dtype=np.float64):
    pm, w = _matrix(name, changes, k, n, noise=noise, compute_dtype=compute_dtype)
    pm.calibrate_adc(_inputs(32, k, seed=7), percentile=99.0)  # data-set ranges: some currents clip
    return pm, w


# --- the Numba kernel's deviates ------------------------------------------------------------------


def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


def _xoshiro_next(s: np.ndarray) -> np.ndarray:
    """One xoshiro256** step of every row of ``s`` (n, 4) uint64, in place; returns the outputs (n,)."""
    s0, s1, s2, s3 = (s[:, i].copy() for i in range(4))
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[:] = np.stack([s0, s1, s2, s3], axis=1)
    return result


def kernel_deviates(states: np.ndarray, n_calls: int, n_cols: int) -> np.ndarray:
    """(n_calls, B, C) N(0, 1) deviates `device.readout._read_out_accumulate` draws from ``states``.

    Each call (one DAC plane × row chunk, in `ProgrammedMatrix.matmul`'s order: planes outer,
    chunks inner) starts a fresh 64-bit word per row; column c takes word c // 4 of that call, its
    16-bit field c % 4 (lowest first), mapped through Φ⁻¹((field + ½)/2¹⁶).
    """
    s = states.copy()
    per_call = -(-n_cols // 4)
    words = np.stack([_xoshiro_next(s) for _ in range(n_calls * per_call)], axis=1)  # (B, calls·per_call)
    fields = (words[:, :, None] >> (np.uint64(16) * np.arange(4, dtype=np.uint64))) & np.uint64(0xFFFF)
    fields = fields.reshape(states.shape[0], n_calls, per_call * 4)[:, :, :n_cols]
    return inverse_cdf_table(NOISE_TABLE_BITS)[fields.astype(np.int64)].transpose(1, 0, 2)


def test_vectorised_xoshiro_equals_the_pure_python_twin():
    states = new_stream_states(5, np.random.default_rng(3))
    streams = naive_bernoulli.streams_from_array(states)
    s = states.copy()
    for _ in range(6):
        got = _xoshiro_next(s)
        assert [int(v) for v in got] == [stream.next_u64() for stream in streams]


def test_kernel_deviates_are_what_the_kernel_draws():
    # zero current, unit ADC noise, no ADC: the kernel adds exactly its deviates, call after call
    states = new_stream_states(7, np.random.default_rng(4))
    want = kernel_deviates(states, 3, 10)
    kernel_states = states.copy()
    for call in range(3):
        out = np.zeros((7, 10))
        read_out_accumulate(np.zeros((7, 10)), None, np.ones(10), 1.0, 0, 1.0, kernel_states, out)
        np.testing.assert_array_equal(out, want[call])


def _feed(z: np.ndarray, n_chunks: int):
    calls = []

    def deviates(plane, chunk, shape):
        calls.append((plane, chunk, shape))
        return torch.from_numpy(z[plane * n_chunks + chunk])

    return deviates, calls


# --- 1. float64, noise off: equal to the numpy path -------------------------------------------------


@pytest.mark.parametrize("name, changes", CASES)
@pytest.mark.parametrize("b, k, n", SHAPES)
def test_noise_free_read_equals_numpy_path(name, changes, b, k, n):
    pm, w = _calibrated(name, changes, k, n)
    x = _inputs(b, k)
    want = pm.matmul(x)
    engine = TorchCrossbar(pm, dtype=torch.float64)
    assert engine.linear == (name == "ideal")
    got = engine.matmul(torch.from_numpy(x))
    assert got.dtype == torch.float64 and got.shape == (b, n)
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-12 * np.abs(want).max())
    if name == "ideal":
        np.testing.assert_allclose(got.numpy(), x @ w, rtol=0, atol=1e-12 * np.abs(x @ w).max())
    else:
        assert np.abs(want - x @ w).max() > 1e-3 * np.abs(x @ w).max()  # the non-idealities are on


@pytest.mark.parametrize("name, changes", [("vcma-default", SMALL_TILES), ("vcma-precise", {}), ("ideal", {})])
def test_column_currents_equal_numpy_per_chunk(name, changes):
    pm, _ = _matrix(name, changes, 150, 13)
    v = _inputs(5, 150) * pm.cb.read_voltage / 3
    got = TorchCrossbar(pm, dtype=torch.float64).column_currents(torch.from_numpy(v)).numpy()
    assert got.shape == (len(pm.chunks), 5, pm.n_columns)
    for index, chunk in enumerate(pm.chunks):
        gross = np.abs(v[:, chunk]) @ (pm.g_pos[chunk] + pm.g_neg[chunk])
        want = pm.column_currents(np.ascontiguousarray(v[:, chunk]), chunk)
        assert np.all(np.abs(got[index] - want) <= 1e-12 * gross + 1e-30)


@pytest.mark.parametrize("changes", [{}, BIT_SERIAL])
def test_row_blocks_do_not_change_the_result(changes):
    pm, _ = _calibrated("vcma-default", {**changes, **SMALL_TILES}, 37, 7)
    x = torch.from_numpy(_inputs(11, 37))
    engine = TorchCrossbar(pm, dtype=torch.float64)
    whole = engine.matmul(x)
    engine.block_rows = 3
    np.testing.assert_allclose(engine.matmul(x).numpy(), whole.numpy(), rtol=0, atol=1e-13 * whole.abs().max().item())
    assert engine.column_currents(x * 0.01).shape == (3, 11, 42)


def test_float32_engine_matches_numpy_float32_path_noise_free():
    pm, _ = _calibrated("vcma-default", {}, 150, 13, compute_dtype=np.float32)
    x = _inputs(40, 150).astype(np.float32)
    want = pm.matmul(x)
    got = TorchCrossbar(pm).matmul(torch.from_numpy(x))
    assert got.dtype == torch.float32
    close = np.abs(got.double().numpy() - want) <= 1e-5 * np.abs(want).max()
    assert close.mean() >= 0.99  # float32 currents: an ADC code may flip where a current sits on a boundary


# --- 2. float64, noise on: the kernel's own deviates ------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        BIT_SERIAL,
        {**BIT_SERIAL, "ir_drop": False},
        dict(read_noise=0.0),
        dict(adc_noise=0.0, adc_bits=0),
        dict(adc_bits=3, read_noise=0.05),
    ],
)
def test_noisy_read_equals_numpy_path_draw_for_draw(changes):
    pm, _ = _calibrated("vcma-default", {**SMALL_TILES, **changes}, 37, 7, noise=True)
    x = _inputs(12, 37)
    want = pm.matmul(x, np.random.default_rng(5))
    n_planes = pm.cb.input_cycles
    z = kernel_deviates(new_stream_states(12, np.random.default_rng(5)), n_planes * len(pm.chunks), pm.n_columns)
    deviates, calls = _feed(z, len(pm.chunks))
    engine = TorchCrossbar(pm, dtype=torch.float64)
    engine.block_rows = 5  # the fed deviates are sliced per row block
    got = engine.matmul(torch.from_numpy(x), deviates=deviates).numpy()
    assert sorted(calls) == [(p, c, (12, pm.n_columns)) for p in range(n_planes) for c in range(len(pm.chunks))]
    off = np.abs(got - want) > 1e-12 * np.abs(want).max()
    assert off.sum() <= off.size // 1000
    clean = TorchCrossbar(pm, dtype=torch.float64).matmul(torch.from_numpy(x), deviates=lambda p, c, s: torch.zeros(s))
    assert np.abs(clean.numpy() - want).max() > 1e-6 * np.abs(want).max()  # the noise is really there


# --- 3. float32 with torch.randn: the same statistics -----------------------------------------------


@pytest.mark.parametrize("changes", [{}, BIT_SERIAL, dict(read_noise=0.03, adc_bits=0)])
def test_float32_noise_statistics_match_numpy_path(changes):
    repeats, k, n = 3000, 40, 4
    pm, w = _calibrated("vcma-default", {**SMALL_TILES, **changes}, k, n, noise=True, compute_dtype=np.float32)
    rows = _inputs(2, k, seed=9).astype(np.float32)
    x = np.repeat(rows, repeats, axis=0)  # every row of a group: the same product, independent noise
    exact = x.astype(np.float64) @ w
    errors = {
        "numpy": pm.matmul(x, np.random.default_rng(11)) - exact,
        "torch": TorchCrossbar(pm).matmul(torch.from_numpy(x), torch.Generator().manual_seed(12)).double().numpy()
        - exact,
    }
    for group in range(2):
        e = {key: value[group * repeats : (group + 1) * repeats] for key, value in errors.items()}
        mean = {key: v.mean(axis=0) for key, v in e.items()}
        var = {key: v.var(axis=0, ddof=1) for key, v in e.items()}
        m4 = {key: ((v - mean[key]) ** 4).mean(axis=0) for key, v in e.items()}
        assert np.all(var["numpy"] > 0) and np.all(var["torch"] > 0)
        se_mean = np.sqrt((var["numpy"] + var["torch"]) / repeats)
        se_var = np.sqrt(sum((m4[key] - var[key] ** 2) / repeats for key in e))
        assert np.all(np.abs(mean["numpy"] - mean["torch"]) <= 4 * se_mean)
        assert np.all(np.abs(var["numpy"] - var["torch"]) <= 4 * se_var)


def test_same_generator_seed_same_draws():
    pm, _ = _calibrated("vcma-default", SMALL_TILES, 37, 7, noise=True)
    engine, x = TorchCrossbar(pm), torch.from_numpy(_inputs(6, 37))
    a = engine.matmul(x, torch.Generator().manual_seed(3))
    b = engine.matmul(x, torch.Generator().manual_seed(3))
    c = engine.matmul(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


# --- 4. the ledger ------------------------------------------------------------------------------------


def _assert_ledgers_equal(got: Ledger, want: Ledger):
    for phase, counts in want.to_dict().items():
        for name, value in counts.items():
            if COUNTERS[name] is int:
                assert got.counts(phase)[name] == value, (phase, name)
            else:
                assert got.counts(phase)[name] == pytest.approx(value, rel=1e-12, abs=0.0), (phase, name)


@pytest.mark.parametrize(
    "name, changes, dtype",
    [
        ("vcma-default", {}, torch.float64),
        ("vcma-default", {}, torch.float32),
        ("vcma-default", BIT_SERIAL, torch.float64),
        ("vcma-default", BIT_SERIAL, torch.float32),
        ("ideal", {}, torch.float64),
        ("ideal", dict(input_bits=6, input_mode="bit_serial"), torch.float32),  # linear path, 5 planes
    ],
)
def test_ledger_equals_numpy_path(name, changes, dtype):
    compute = np.float64 if dtype == torch.float64 else np.float32
    pm, _ = _calibrated(name, {**SMALL_TILES, **changes}, 37, 7, noise=True, compute_dtype=compute)
    x = _inputs(10, 37).astype(compute)
    want, got = Ledger(), Ledger()
    pm.matmul(x, np.random.default_rng(0), ledger=want, phase="inference")
    engine = TorchCrossbar(pm, dtype=dtype)
    engine.block_rows = 4
    engine.matmul(torch.from_numpy(x), torch.Generator().manual_seed(0), ledger=got, phase="inference")
    assert got.counts("inference")["array_read_energy_j"] > 0 and got.counts("inference")["cell_reads"] > 0
    _assert_ledgers_equal(got, want)
    engine.matmul(torch.from_numpy(x), torch.Generator().manual_seed(0), ledger=got, phase="programming")
    assert got.counts("programming")["macs"] == 10 * 37 * 7


# --- 5. calibration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, changes",
    [("vcma-default", SMALL_TILES), ("vcma-default", {**SMALL_TILES, **BIT_SERIAL}), ("vcma-precise", {})],
)
@pytest.mark.parametrize(
    "b, percentile", [(1, 99.99), (2, 99.99), (37, 99.99), (37, 97.3), (64, 50.0), (20, 100.0), (200, 99.5)]
)
def test_calibrate_adc_equals_numpy(name, changes, b, percentile):
    want_pm, _ = _matrix(name, changes, 70, 9)
    got_pm, _ = _matrix(name, changes, 70, 9)
    x = _inputs(b, 70, seed=b)
    want_pm.calibrate_adc(x, percentile=percentile)
    engine = TorchCrossbar(got_pm, dtype=torch.float64)
    engine.block_rows = 16  # the running top-k crosses row blocks
    engine.calibrate_adc(torch.from_numpy(x), percentile=percentile)
    assert got_pm.adc_range.dtype == np.float64 and got_pm.adc_range.shape == want_pm.adc_range.shape
    np.testing.assert_allclose(got_pm.adc_range, want_pm.adc_range, rtol=1e-13, atol=0)
    x_test = _inputs(8, 70, seed=3)  # the engine's own copy was refreshed
    want = want_pm.matmul(x_test)
    np.testing.assert_allclose(
        engine.matmul(torch.from_numpy(x_test)).numpy(), want, rtol=0, atol=1e-12 * np.abs(want).max()
    )


@pytest.mark.parametrize("changes", [SMALL_TILES, {**SMALL_TILES, **BIT_SERIAL}, {}])
def test_calibrate_output_gain_equals_numpy_noise_off(changes):
    want_pm, w = _calibrated("vcma-lowbit", changes, 70, 9)
    got_pm, _ = _calibrated("vcma-lowbit", changes, 70, 9)
    x = _inputs(50, 70, seed=5)
    target = x @ w
    want = want_pm.calibrate_output_gain(x, target)
    engine = TorchCrossbar(got_pm, dtype=torch.float64)
    got = engine.calibrate_output_gain(torch.from_numpy(x), torch.from_numpy(target), None)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_array_equal(got_pm.output_gain, got)
    assert np.any(np.abs(got - 1) > 1e-3)  # a real trim, not the identity
    y = engine.matmul(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, want_pm.matmul(x), rtol=0, atol=1e-12 * np.abs(y).max())


def test_calibrate_output_gain_with_noise_and_limits():
    pm, w = _calibrated("vcma-default", SMALL_TILES, 37, 7, noise=True)
    x = _inputs(40, 37)
    engine = TorchCrossbar(pm)
    gains = engine.calibrate_output_gain(
        torch.from_numpy(x), torch.from_numpy(2.5 * (x @ w)), torch.Generator().manual_seed(1), limits=(0.5, 2.0)
    )
    np.testing.assert_array_equal(gains, 2.0)  # wanted ≈ 2.5, clipped
    again = engine.calibrate_output_gain(torch.from_numpy(x), torch.from_numpy(x @ w), None)  # None: fixed seed 0
    np.testing.assert_array_equal(
        again, engine.calibrate_output_gain(torch.from_numpy(x), torch.from_numpy(x @ w), None)
    )
    assert np.all(np.abs(again - 1) < 0.2)


def test_outputs_without_signal_keep_gain_one():
    pm, w = _calibrated("vcma-default", SMALL_TILES, 37, 7)
    x = np.zeros((5, 37))
    gains = TorchCrossbar(pm, dtype=torch.float64).calibrate_output_gain(
        torch.from_numpy(x), torch.zeros(5, 7, dtype=torch.float64), None
    )
    np.testing.assert_array_equal(gains, 1.0)


def test_refresh_rereads_adc_range_and_gain():
    pm, _ = _calibrated("vcma-default", SMALL_TILES, 37, 7)
    engine = TorchCrossbar(pm, dtype=torch.float64)
    x = _inputs(6, 37)
    pm.adc_range = pm.adc_range * 0.5
    pm.output_gain = np.linspace(0.8, 1.2, 7)
    stale = engine.matmul(torch.from_numpy(x)).numpy()
    engine.refresh()
    want = pm.matmul(x)
    assert np.abs(stale - want).max() > 1e-6 * np.abs(want).max()
    np.testing.assert_allclose(
        engine.matmul(torch.from_numpy(x)).numpy(), want, rtol=0, atol=1e-12 * np.abs(want).max()
    )


# --- 6. validation --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noisy():
    pm, w = _calibrated("vcma-default", SMALL_TILES, 37, 7, noise=True)
    return pm, w, TorchCrossbar(pm)


def test_constructor_refuses_wrong_arguments(noisy):
    pm, _, _ = noisy
    with pytest.raises(InputError, match="matrix must be a device.crossbar.ProgrammedMatrix, got ndarray"):
        TorchCrossbar(np.zeros((3, 3)))
    with pytest.raises(InputError, match="dtype must be torch.float32 or torch.float64, got torch.float16"):
        TorchCrossbar(pm, dtype=torch.float16)


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.zeros(37), r"x must be 2-D, got shape \(37,\)"),
        (torch.zeros(2, 36), r"x has 36 features but the programmed matrix expects 37"),
        (torch.zeros(2, 37, dtype=torch.int64), "x must be a floating-point tensor, got dtype torch.int64"),
        ([[0.0] * 37], "x must be a torch.Tensor .or numpy array., got list"),
    ],
)
def test_matmul_refuses_bad_inputs(noisy, x, match):
    with pytest.raises(InputError, match=match):
        noisy[2].matmul(x, torch.Generator())


def test_matmul_refuses_non_finite_inputs_naming_the_index(noisy):
    x = torch.zeros(3, 37)
    x[1, 2] = float("nan")
    with pytest.raises(InputError, match=r"x has a non-finite value nan at index \(1, 2\)"):
        noisy[2].matmul(x, torch.Generator())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where", [(0, 0), (4, 6), (7, 8)])
def test_all_finite_agrees_with_isfinite_all(dtype, bad, where):
    x = torch.randn(8, 9, dtype=dtype, generator=torch.Generator().manual_seed(3)) * 1e30
    if bad is not None:
        x[where] = bad
    assert all_finite(x) == bool(torch.isfinite(x).all())


def test_noise_needs_a_generator(noisy):
    with pytest.raises(InputError, match="read or ADC noise: pass generator=torch.Generator"):
        noisy[2].matmul(torch.zeros(2, 37))
    with pytest.raises(InputError, match="generator must be a torch.Generator, got Generator"):
        noisy[2].matmul(torch.zeros(2, 37), np.random.default_rng(0))


def test_noise_free_matrix_needs_no_generator():
    pm, _ = _matrix("vcma-default", SMALL_TILES, 37, 7)
    assert TorchCrossbar(pm).matmul(torch.zeros(2, 37)).shape == (2, 7)


def test_bad_deviates_are_refused(noisy):
    with pytest.raises(InputError, match=r"deviates\(0, 0, \(2, 42\)\) returned shape \(2, 41\)"):
        noisy[2].matmul(torch.zeros(2, 37), deviates=lambda p, c, s: torch.zeros(2, 41))
    with pytest.raises(InputError, match="deviates must be a callable"):
        noisy[2].matmul(torch.zeros(2, 37), deviates=np.zeros((2, 42)))


def test_bad_phase_is_refused_before_anything_is_charged(noisy):
    ledger = Ledger()
    with pytest.raises(InputError, match="unknown ledger phase 'training'"):
        noisy[2].matmul(torch.zeros(2, 37), torch.Generator(), ledger=ledger, phase="training")
    assert ledger == Ledger()


def test_calibration_refusals(noisy):
    pm, _, engine = noisy
    with pytest.raises(InputError, match="percentile must lie in \\[50, 100\\], got 49.0"):
        engine.calibrate_adc(torch.zeros(4, 37), percentile=49.0)
    with pytest.raises(InputError, match="at least one input row"):
        engine.calibrate_adc(torch.zeros(0, 37))
    with pytest.raises(InputError, match=r"target must have shape \(4, 7\), got \(4, 6\)"):
        engine.calibrate_output_gain(torch.zeros(4, 37), torch.zeros(4, 6), torch.Generator())
    with pytest.raises(InputError, match="target must be 2-D"):
        engine.calibrate_output_gain(torch.zeros(4, 37), torch.zeros(4), torch.Generator())


def test_refresh_refuses_bad_matrix_state():
    pm, _ = _matrix("vcma-default", SMALL_TILES, 37, 7)
    engine = TorchCrossbar(pm)
    pm.adc_range = pm.adc_range[:, :5]
    with pytest.raises(
        InputError, match=r"matrix.adc_range must be finite, > 0 and of shape \(3, 42\), got shape \(3, 5\)"
    ):
        engine.refresh()
    pm, _ = _matrix("vcma-default", SMALL_TILES, 37, 7)
    engine = TorchCrossbar(pm)
    pm.output_gain = np.ones(6)
    with pytest.raises(InputError, match=r"matrix.output_gain must be finite and of shape \(7,\), got shape \(6,\)"):
        engine.refresh()


def test_inputs_are_not_modified(noisy):
    x = torch.from_numpy(_inputs(4, 37))
    before = x.clone()
    noisy[2].matmul(x, torch.Generator().manual_seed(0))
    noisy[2].calibrate_adc(x)
    assert torch.equal(x, before)


# --- 5b. the shared and screened calibration paths against the plain ones ---------------------------


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize("changes", [{}, BIT_SERIAL, SMALL_TILES], ids=["amplitude", "bit_serial", "small_tiles"])
def test_screened_calibrate_adc_equals_reading_every_row(changes, dtype, rtol, monkeypatch):
    """The screen (candidate rows and columns by the current without IR drop) gives every row's ranges."""
    pm, _ = _matrix("vcma-default", changes, 300, 20)
    x = torch.from_numpy(_inputs(900, 300, seed=11))
    engine = TorchCrossbar(pm, dtype=dtype)
    engine.calibrate_adc(x, percentile=99.9, screen_rows=None)
    want = pm.adc_range.copy()
    full_reads = []
    monkeypatch.setattr(TorchCrossbar, "_exact_top", lambda self, *a: full_reads.append(1) or _EXACT_TOP(self, *a))
    engine.calibrate_adc(x, percentile=99.9)
    assert not full_reads  # the screen held: no chunk fell back to reading every row
    np.testing.assert_allclose(pm.adc_range, want, rtol=rtol, atol=0)
    engine.calibrate_adc(x, percentile=100.0, screen_rows=4)  # four candidates (falling back where unsafe)
    screened = pm.adc_range.copy()
    engine.calibrate_adc(x, percentile=100.0, screen_rows=None)
    np.testing.assert_allclose(screened, pm.adc_range, rtol=rtol, atol=0)


_EXACT_TOP = TorchCrossbar._exact_top


@pytest.mark.parametrize(
    "changes", [SMALL_TILES, {**SMALL_TILES, **BIT_SERIAL}, {}], ids=["small_tiles", "bit_serial", "amplitude"]
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_output_gain_from_shared_reads_equals_matmul(changes, dtype):
    """`calibrate_output_gain` given `calibration_reads` reads exactly what `matmul` reads: equal gains."""
    pm, w = _calibrated("vcma-default", changes, 70, 9, noise=True)
    x = torch.from_numpy(_inputs(50, 70, seed=5))
    engine = TorchCrossbar(pm, dtype=dtype)
    engine.block_rows = 16  # several row blocks, each with its own deviates
    target = torch.from_numpy(x.numpy() @ w)
    want = engine.calibrate_output_gain(x, target, torch.Generator().manual_seed(4)).copy()
    reads = engine.calibration_reads(x)
    got = engine.calibrate_output_gain(x, target, torch.Generator().manual_seed(4), reads=reads)
    np.testing.assert_array_equal(got, want)
    assert np.any(np.abs(got - 1) > 1e-3)
    with pytest.raises(InputError, match="rows"):
        engine.calibrate_output_gain(x[:10], target[:10], None, reads=reads)


@pytest.mark.parametrize(
    "changes",
    [{}, BIT_SERIAL, {"ir_drop": False}, {"read_noise": 0.0, "adc_noise": 0.0}],
    ids=["amplitude", "bit_serial", "no_ir_drop", "no_noise"],
)
def test_calibration_reads_sums_are_read_sums(changes):
    """`CalibrationReads.sums` = `device.statistical.read_sums` of the same DAC planes (float64 engine)."""
    from device.crossbar import dac_planes
    from device.statistical import read_sums

    pm, _ = _matrix("vcma-default", changes, 150, 13, noise=True)
    x = _inputs(40, 150)
    reads = TorchCrossbar(pm, dtype=torch.float64).calibration_reads(torch.from_numpy(x))
    planes = dac_planes(x, pm.cb)[0]
    assert len(reads.signed) == len(planes)
    for k, voltages in enumerate(planes):
        got, want = reads.sums(k), read_sums(pm, voltages)
        for field, a, b in zip(want._fields, got, want):
            assert (a is None) == (b is None), field
            if b is not None:
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.abs(b).max(), err_msg=field)
