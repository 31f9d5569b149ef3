"""Statistical checks for the emulated MTJ true-random bit source and its Gaussian noise.

Bit tests follow NIST SP 800-22 Rev. 1a: A. Rukhin, J. Soto, J. Nechvatal, M. Smid, E. Barker,
S. Leigh, M. Levenson, M. Vangel, D. Banks, A. Heckert, J. Dray, S. Vo, L. E. Bassham III,
"A Statistical Test Suite for Random and Pseudorandom Number Generators for Cryptographic
Applications", NIST Special Publication 800-22 Revision 1a (April 2010). Section numbers below
(2.1 ... 2.13) refer to that document; igamc is the regularised upper incomplete gamma function
Q(a, x) (`scipy.special.gammaincc`), erfc the complementary error function, Phi the standard
normal CDF.

Every test takes `bits`, a 1-D array of 0/1 values of integer or bool dtype, and returns a
p-value; `serial` returns its two p-values as a tuple. Inputs are validated: a non-binary value,
a non-integer dtype, a wrong ndim, or fewer bits than the test's NIST minimum raises
`InputError`. `strict=False` relaxes only the length/parameter recommendations to what the
statistic needs to be defined, so the short worked examples of SP 800-22 can be reproduced;
p-values from such short inputs are not trustworthy. The caller's array is never modified.
With default parameters the suite reproduces the Appendix B p-values for the first 10^6 bits of
e to 6 decimals (tests/device/test_randomness.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from device.errors import InputError


@dataclass(frozen=True)
class RandomnessTestResult:
    """One p-value of `run_nist_suite`: test name, p-value and whether p_value >= alpha."""

    name: str
    p_value: float
    passed: bool


@dataclass(frozen=True)
class GaussianCheck:
    """Result of `normality_checks`.

    ks_p: Kolmogorov-Smirnov p-value against N(0, 1); kurtosis: excess (Fisher) kurtosis
    g2 = m4/m2^2 - 3 (biased moment estimator); kurtosis_z = g2 / sqrt(24/n) and kurtosis_p its
    two-sided normal p-value (large-sample standard error of g2 under normality; Joanes &
    Gill, The Statistician 47, 183 (1998)); mean, std (ddof=0) and n of the samples.
    """

    ks_p: float
    kurtosis: float
    kurtosis_z: float
    kurtosis_p: float
    mean: float
    std: float
    n: int


class _RequirementError(InputError):
    """A valid sequence misses a length or parameter requirement of a test (the suite skips it)."""


def _as_bits(bits, test: str) -> np.ndarray:
    """Validate `bits` and return a fresh int8 copy (the caller's array is never touched)."""
    arr = np.asarray(bits)
    if arr.ndim != 1:
        raise InputError(f"{test}: bits must be a 1-D array; got ndim={arr.ndim}, shape={arr.shape}")
    if arr.dtype.kind not in "biu":
        raise InputError(f"{test}: bits must have an integer or bool dtype; got dtype={arr.dtype}")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{test}: bits must be 0 or 1; got {arr[i].item()!r} at index {i}")
    return arr.astype(np.int8)


def _need(test: str, ok: bool, requirement: str, got: str) -> None:
    if not ok:
        raise _RequirementError(f"{test}: needs {requirement}; got {got}")


def _pm1(b: np.ndarray) -> np.ndarray:
    """X_i = 2 eps_i - 1."""
    return 2 * b.astype(np.int64) - 1


def frequency(bits, *, strict: bool = True) -> float:
    """Frequency (monobit) test, SP 800-22 section 2.1.

    S_n = sum(2 eps_i - 1), s_obs = |S_n| / sqrt(n), P = erfc(s_obs / sqrt(2)) (2.1.4).
    NIST minimum n >= 100 (2.1.7); strict=False accepts n >= 1.
    """
    b = _as_bits(bits, "frequency")
    n = b.size
    _need("frequency", n >= (100 if strict else 1), f"n >= {100 if strict else 1} bits", f"n={n}")
    s_obs = abs(int(_pm1(b).sum())) / math.sqrt(n)
    return float(special.erfc(s_obs / math.sqrt(2.0)))


def block_frequency(bits, *, block_size: int = 128, strict: bool = True) -> float:
    """Frequency test within a block, SP 800-22 section 2.2.

    N = floor(n/M) blocks, pi_i = ones in block i / M, chi2 = 4 M sum (pi_i - 1/2)^2,
    P = igamc(N/2, chi2/2) (2.2.4). Strict: n >= 100 and M >= 20 (2.2.7); NIST's companion
    advice M > 0.01 n and N < 100 is not enforced (its own default M=128 breaks it at n=10^6).
    strict=False needs only M >= 1 and one block.
    """
    b = _as_bits(bits, "block_frequency")
    n, m = b.size, int(block_size)
    if strict:
        _need("block_frequency", n >= 100, "n >= 100 bits", f"n={n}")
        _need("block_frequency", m >= 20, "block_size M >= 20", f"M={m}")
    _need("block_frequency", m >= 1 and n >= m, "block_size M >= 1 and n >= M", f"M={m}, n={n}")
    n_blocks = n // m
    pi = b[: n_blocks * m].reshape(n_blocks, m).sum(axis=1, dtype=np.int64) / m
    chi2 = 4.0 * m * float(np.sum((pi - 0.5) ** 2))
    return float(special.gammaincc(n_blocks / 2.0, chi2 / 2.0))


def runs(bits, *, strict: bool = True) -> float:
    """Runs test, SP 800-22 section 2.3.

    pi = ones/n; if |pi - 1/2| >= tau = 2/sqrt(n) the frequency prerequisite fails and, as in
    NIST, P = 0.0 is returned. Otherwise V_n = 1 + #{k : eps_k != eps_k+1} and
    P = erfc(|V_n - 2 n pi (1-pi)| / (2 sqrt(2n) pi (1-pi))) (2.3.4). NIST minimum n >= 100
    (2.3.7); strict=False accepts n >= 2.
    """
    b = _as_bits(bits, "runs")
    n = b.size
    _need("runs", n >= (100 if strict else 2), f"n >= {100 if strict else 2} bits", f"n={n}")
    pi = int(b.sum(dtype=np.int64)) / n
    if abs(pi - 0.5) >= 2.0 / math.sqrt(n):
        return 0.0
    v_obs = 1 + int(np.count_nonzero(b[1:] != b[:-1]))
    num = abs(v_obs - 2.0 * n * pi * (1.0 - pi))
    return float(special.erfc(num / (2.0 * math.sqrt(2.0 * n) * pi * (1.0 - pi))))


# SP 800-22 section 2.4.2 table and 3.4 probabilities: (n_min, M, lowest class v <= lo, highest
# class v >= hi, pi_i). The M=8 and M=128 pi are the exact values of the NIST reference code.
_LONGEST_RUN_TABLE = (
    (750_000, 10_000, 10, 16, (0.0882, 0.2092, 0.2483, 0.1933, 0.1208, 0.0675, 0.0727)),
    (6_272, 128, 4, 9, (0.1174035788, 0.242955959, 0.249363483, 0.17517706, 0.102701071, 0.112398847)),
    (128, 8, 1, 4, (0.21484375, 0.3671875, 0.23046875, 0.1875)),
)


def _longest_runs_per_row(blocks: np.ndarray) -> np.ndarray:
    """Longest run of ones in each row of a 2-D 0/1 array, vectorised over rows."""
    rows = blocks.shape[0]
    padded = np.zeros((rows, blocks.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = blocks
    d = np.diff(padded, axis=1)
    start_r, start_c = np.nonzero(d == 1)
    _, end_c = np.nonzero(d == -1)
    out = np.zeros(rows, dtype=np.int64)
    np.maximum.at(out, start_r, end_c - start_c)
    return out


def longest_run(bits, *, strict: bool = True) -> float:
    """Test for the longest run of ones in a block, SP 800-22 section 2.4.

    M chosen from the 2.4.2 table by n (n >= 128: M=8; n >= 6272: M=128; n >= 750,000: M=10^4);
    N = floor(n/M) blocks; v_i = blocks whose longest run falls in class i (lowest and highest
    classes open-ended); chi2 = sum (v_i - N pi_i)^2 / (N pi_i), P = igamc(K/2, chi2/2) with K
    = classes - 1 (2.4.4). NIST minimum n >= 128; strict=False accepts n >= 8 (M=8 variant).
    """
    b = _as_bits(bits, "longest_run")
    n = b.size
    _need("longest_run", n >= (128 if strict else 8), f"n >= {128 if strict else 8} bits", f"n={n}")
    _, m, lo, hi, pi = next(row for row in _LONGEST_RUN_TABLE if n >= row[0] or row[1] == 8)
    n_blocks = n // m
    longest = _longest_runs_per_row(b[: n_blocks * m].reshape(n_blocks, m))
    v = np.bincount(np.clip(longest, lo, hi) - lo, minlength=hi - lo + 1)
    expected = n_blocks * np.asarray(pi)
    chi2 = float(np.sum((v - expected) ** 2 / expected))
    return float(special.gammaincc((len(pi) - 1) / 2.0, chi2 / 2.0))


def _rank_probability(r: int, m: int, q: int) -> float:
    """P(rank = r) of a random m x q matrix over GF(2), SP 800-22 section 3.5."""
    log2p = r * (q + m - r) - m * q
    prod = 1.0
    for i in range(r):
        prod *= (1 - 2.0 ** (i - q)) * (1 - 2.0 ** (i - m)) / (1 - 2.0 ** (i - r))
    return 2.0**log2p * prod


_RANK_M = 32
_RANK_P_FULL = _rank_probability(32, 32, 32)  # 0.2888 in 2.5.4
_RANK_P_MINUS1 = _rank_probability(31, 32, 32)  # 0.5776
_RANK_P_REST = 1.0 - _RANK_P_FULL - _RANK_P_MINUS1  # 0.1336


def _gf2_ranks(rows: np.ndarray) -> np.ndarray:
    """Ranks over GF(2) of a stack of matrices whose rows are packed into uint64 words.

    rows has shape (N, M): rows[k, i] is row i of matrix k, bit j of the word is column j
    (up to 64 columns). Gauss-Jordan elimination runs column by column over the whole stack at
    once; the input is not modified.
    """
    rows = np.array(rows, dtype=np.uint64)  # copy
    n_mat, m = rows.shape
    idx = np.arange(n_mat)
    used = np.zeros((n_mat, m), dtype=bool)
    rank = np.zeros(n_mat, dtype=np.int64)
    for col in range(64):
        has = ((rows >> np.uint64(col)) & np.uint64(1)).astype(bool)
        cand = has & ~used
        found = cand.any(axis=1)
        if not found.any():
            continue
        piv = cand.argmax(axis=1)
        pivot_row = rows[idx, piv]
        elim = has & found[:, None]
        elim[idx, piv] = False
        rows = np.where(elim, rows ^ pivot_row[:, None], rows)
        used[idx[found], piv[found]] = True
        rank += found
    return rank


def binary_matrix_rank(bits, *, strict: bool = True) -> float:
    """Binary matrix rank test with 32 x 32 matrices, SP 800-22 section 2.5.

    N = floor(n / 1024) matrices filled row by row; F_32, F_31 = matrices of full rank and rank
    31, chi2 = (F_32 - 0.2888N)^2/(0.2888N) + (F_31 - 0.5776N)^2/(0.5776N)
    + (N - F_32 - F_31 - 0.1336N)^2/(0.1336N), P = exp(-chi2/2) (2.5.4), with the exact
    probabilities of section 3.5. NIST minimum n >= 38 M Q = 38,912 (2.5.7); strict=False
    needs one matrix (n >= 1024).
    """
    b = _as_bits(bits, "binary_matrix_rank")
    n, mq = b.size, _RANK_M * _RANK_M
    need = 38 * mq if strict else mq
    _need("binary_matrix_rank", n >= need, f"n >= {need} bits (32x32 matrices)", f"n={n}")
    n_mat = n // mq
    weights = np.uint64(1) << np.arange(_RANK_M, dtype=np.uint64)
    packed = (b[: n_mat * mq].reshape(n_mat, _RANK_M, _RANK_M).astype(np.uint64) * weights).sum(axis=2, dtype=np.uint64)
    ranks = _gf2_ranks(packed)
    observed = np.array([np.sum(ranks == _RANK_M), np.sum(ranks == _RANK_M - 1), 0], dtype=float)
    observed[2] = n_mat - observed[0] - observed[1]
    expected = n_mat * np.array([_RANK_P_FULL, _RANK_P_MINUS1, _RANK_P_REST])
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    return float(math.exp(-chi2 / 2.0))


def spectral(bits, *, strict: bool = True) -> float:
    """Discrete Fourier transform (spectral) test, SP 800-22 Rev. 1a section 2.6.

    S = DFT(2 eps - 1), M = |S_0 ... S_{n/2-1}|, T = sqrt(ln(1/0.05) n), N_0 = 0.95 n / 2,
    N_1 = #{M < T}, d = (N_1 - N_0) / sqrt(n 0.95 0.05 / 4), P = erfc(|d| / sqrt(2)) (2.6.4,
    with the Rev. 1a threshold and variance). NIST minimum n >= 1000 (2.6.7); strict=False
    accepts n >= 2. The 2.6.4/2.6.8 worked examples print N_1 = 4 and 46 where this formula
    gives 5 and 48 for the printed inputs (an erratum: every |S_j| of 1001010011 is <= sqrt(20)
    < T); the implementation reproduces NIST's Appendix B result for e (P = 0.847187).
    """
    b = _as_bits(bits, "spectral")
    n = b.size
    _need("spectral", n >= (1000 if strict else 2), f"n >= {1000 if strict else 2} bits", f"n={n}")
    modulus = np.abs(np.fft.rfft(_pm1(b).astype(np.float64))[: n // 2])
    threshold = math.sqrt(math.log(1.0 / 0.05) * n)
    n0 = 0.95 * n / 2.0
    n1 = int(np.count_nonzero(modulus < threshold))
    d = (n1 - n0) / math.sqrt(n * 0.95 * 0.05 / 4.0)
    return float(special.erfc(abs(d) / math.sqrt(2.0)))


def _template_bits(template, test: str) -> np.ndarray:
    if isinstance(template, str):
        if not template or set(template) - {"0", "1"}:
            raise InputError(f"{test}: template must be a non-empty string of 0/1; got {template!r}")
        template = [int(c) for c in template]
    t = _as_bits(template, f"{test} (template)")
    if not 1 <= t.size <= 30:
        raise InputError(f"{test}: template length must be 1..30 bits; got {t.size}")
    return t


def _is_aperiodic(t: np.ndarray) -> bool:
    """True when no proper prefix of t equals the suffix of the same length (no self-overlap)."""
    return not any(np.array_equal(t[:k], t[-k:]) for k in range(1, t.size))


def _window_codes(b: np.ndarray, m: int, circular: bool) -> np.ndarray:
    """Integer code of every m-bit window (first bit most significant); circular wraps the end."""
    ext = np.concatenate([b, b[: m - 1]]) if circular else b
    count = b.size if circular else b.size - m + 1
    codes = np.zeros(count, dtype=np.int64)
    for k in range(m):
        codes = (codes << 1) | ext[k : k + count]
    return codes


def non_overlapping_template(bits, *, template="000000001", n_blocks: int = 8, strict: bool = True) -> float:
    """Non-overlapping template matching test, SP 800-22 section 2.7.

    N blocks of M = floor(n/N) bits; W_j = non-overlapping matches of the m-bit template B in
    block j; mu = (M - m + 1) / 2^m, sigma^2 = M (1/2^m - (2m - 1)/2^{2m}),
    chi2 = sum (W_j - mu)^2 / sigma^2, P = igamc(N/2, chi2/2) (2.7.4). B must be aperiodic (as
    NIST's templates are), so matches never overlap and W_j is a plain match count. Strict:
    N <= 100 (2.7.7) and mu >= 5 (the usual chi-square rule of thumb; NIST gives no explicit n).
    strict=False needs M >= m.
    """
    test = "non_overlapping_template"
    b = _as_bits(bits, test)
    t = _template_bits(template, test)
    m, n, nb = t.size, b.size, int(n_blocks)
    if not _is_aperiodic(t):
        raise InputError(f"{test}: template must be aperiodic (no self-overlap); got {template!r}")
    _need(test, nb >= 1, "n_blocks N >= 1", f"N={nb}")
    block = n // nb
    if strict:
        _need(test, nb <= 100, "n_blocks N <= 100", f"N={nb}")
        need = nb * (5 * 2**m + m - 1)
        _need(test, n >= need, f"n >= {need} bits (mean matches per block >= 5 for m={m}, N={nb})", f"n={n}")
    _need(test, block >= m, f"block length M = n // N >= template length {m}", f"M={block}")
    target = int(_window_codes(t, m, circular=False)[0])
    hits = (_window_codes(b[: nb * block], m, circular=False) == target).astype(np.int64)
    hits = np.concatenate([hits, np.zeros(m - 1, dtype=np.int64)]).reshape(nb, block)
    w = hits[:, : block - m + 1].sum(axis=1)
    mu = (block - m + 1) / 2.0**m
    var = block * (1.0 / 2.0**m - (2.0 * m - 1.0) / 2.0 ** (2 * m))
    chi2 = float(np.sum((w - mu) ** 2) / var)
    return float(special.gammaincc(nb / 2.0, chi2 / 2.0))


#: Largest pattern length for serial / approximate entropy (2^m counters must fit in memory).
_MAX_M = 24


def _pattern_counts(b: np.ndarray, m: int) -> list[np.ndarray]:
    """Circular counts of all k-bit patterns; element j of the list holds k = m - j bits.

    Counts for k-1 are the marginals of counts for k: the top k-1 bits of a circular k-window
    form the circular (k-1)-window at the same position.
    """
    counts = [np.bincount(_window_codes(b, m, circular=True), minlength=2**m)]
    for _ in range(m):
        counts.append(counts[-1].reshape(-1, 2).sum(axis=1))
    return counts


def serial(bits, *, m: int = 16, strict: bool = True) -> tuple[float, float]:
    """Serial test, SP 800-22 section 2.11; returns (P1, P2).

    psi2_k = 2^k / n sum nu_i^2 - n over circular k-bit pattern counts (psi2_0 = psi2_-1 = 0);
    del = psi2_m - psi2_{m-1}, del2 = psi2_m - 2 psi2_{m-1} + psi2_{m-2},
    P1 = igamc(2^{m-2}, del/2), P2 = igamc(2^{m-3}, del2/2) (2.11.4). Strict: m < floor(log2 n)
    - 2 (2.11.7); strict=False needs n >= m. Always 2 <= m <= 24.
    """
    b = _as_bits(bits, "serial")
    n, m = b.size, int(m)
    _need("serial", 2 <= m <= _MAX_M, f"block length 2 <= m <= {_MAX_M}", f"m={m}")
    if strict:
        _need("serial", n >= 2 and m < math.floor(math.log2(n)) - 2, "m < floor(log2 n) - 2", f"m={m}, n={n}")
    _need("serial", n >= m, "n >= m", f"m={m}, n={n}")
    counts = _pattern_counts(b, m)
    psi = [
        2.0 ** (m - j) / n * float(np.sum(counts[j].astype(np.float64) ** 2)) - n if m - j >= 1 else 0.0
        for j in range(3)
    ]
    del1, del2 = psi[0] - psi[1], psi[0] - 2.0 * psi[1] + psi[2]
    return (float(special.gammaincc(2.0 ** (m - 2), del1 / 2.0)), float(special.gammaincc(2.0 ** (m - 3), del2 / 2.0)))


def approximate_entropy(bits, *, m: int = 10, strict: bool = True) -> float:
    """Approximate entropy test, SP 800-22 section 2.12.

    phi(k) = sum_i C_i ln C_i over circular k-bit pattern frequencies C_i = count_i / n;
    ApEn = phi(m) - phi(m+1), chi2 = 2n (ln 2 - ApEn), P = igamc(2^{m-1}, chi2/2) (2.12.4).
    Strict: m < floor(log2 n) - 5 (2.12.7); strict=False needs n > m. Always 1 <= m <= 24.
    """
    b = _as_bits(bits, "approximate_entropy")
    n, m = b.size, int(m)
    _need("approximate_entropy", 1 <= m <= _MAX_M, f"block length 1 <= m <= {_MAX_M}", f"m={m}")
    if strict:
        _need(
            "approximate_entropy", n >= 2 and m < math.floor(math.log2(n)) - 5, "m < floor(log2 n) - 5", f"m={m}, n={n}"
        )
    _need("approximate_entropy", n > m, "n > m", f"m={m}, n={n}")
    counts = _pattern_counts(b, m + 1)

    def phi(c: np.ndarray) -> float:
        freq = c[c > 0] / n
        return float(np.sum(freq * np.log(freq)))

    apen = phi(counts[1]) - phi(counts[0])
    chi2 = 2.0 * n * (math.log(2.0) - apen)
    return float(special.gammaincc(2.0 ** (m - 1), chi2 / 2.0))


def cumulative_sums(bits, *, mode: str = "forward", strict: bool = True) -> float:
    """Cumulative sums (cusum) test, SP 800-22 section 2.13; mode "forward" or "backward".

    S_k = partial sums of X = 2 eps - 1 (of the reversed sequence for "backward"),
    z = max_k |S_k|, P = 1 - sum_{k=(-n/z+1)/4}^{(n/z-1)/4} [Phi((4k+1)z/sqrt n) -
    Phi((4k-1)z/sqrt n)] + sum_{k=(-n/z-3)/4}^{(n/z-1)/4} [Phi((4k+3)z/sqrt n) -
    Phi((4k+1)z/sqrt n)] (2.13.4), summation limits truncated toward zero as in the NIST code.
    NIST minimum n >= 100 (2.13.7); strict=False accepts n >= 1.
    """
    b = _as_bits(bits, "cumulative_sums")
    if mode not in ("forward", "backward"):
        raise InputError(f"cumulative_sums: mode must be 'forward' or 'backward'; got {mode!r}")
    n = b.size
    _need("cumulative_sums", n >= (100 if strict else 1), f"n >= {100 if strict else 1} bits", f"n={n}")
    x = _pm1(b if mode == "forward" else b[::-1])
    z = int(np.max(np.abs(np.cumsum(x))))
    q, sq = n // z, math.sqrt(n)
    k1 = np.arange(int((-q + 1) / 4), int((q - 1) / 4) + 1)
    k2 = np.arange(int((-q - 3) / 4), int((q - 1) / 4) + 1)
    sum1 = np.sum(special.ndtr((4 * k1 + 1) * z / sq) - special.ndtr((4 * k1 - 1) * z / sq))
    sum2 = np.sum(special.ndtr((4 * k2 + 3) * z / sq) - special.ndtr((4 * k2 + 1) * z / sq))
    return float(1.0 - sum1 + sum2)


def run_nist_suite(bits, alpha: float = 0.01) -> list[RandomnessTestResult]:
    """Run every test above that applies to len(bits), with NIST's default parameters.

    A test whose strict length minimum is not met is skipped (omitted from the list), not
    failed. Serial and approximate entropy use m = min(default, largest m NIST allows for n),
    i.e. min(16, floor(log2 n) - 3) and min(10, floor(log2 n) - 6), and are skipped when that is
    below 2 resp. 1. Names: frequency, block_frequency, runs, longest_run, binary_matrix_rank,
    spectral, non_overlapping_template, approximate_entropy, serial_1, serial_2,
    cumulative_sums_forward, cumulative_sums_backward. passed = p_value >= alpha. Fewer than
    100 bits (no test applies) or alpha outside (0, 1) raise InputError.
    """
    if not 0.0 < alpha < 1.0:
        raise InputError(f"run_nist_suite: alpha must be in (0, 1); got {alpha!r}")
    b = _as_bits(bits, "run_nist_suite")
    if b.size < 100:
        raise InputError(f"run_nist_suite: needs n >= 100 bits (smallest NIST minimum); got n={b.size}")
    log2n = math.floor(math.log2(b.size))
    plan = [
        ("frequency", lambda: frequency(b)),
        ("block_frequency", lambda: block_frequency(b)),
        ("runs", lambda: runs(b)),
        ("longest_run", lambda: longest_run(b)),
        ("binary_matrix_rank", lambda: binary_matrix_rank(b)),
        ("spectral", lambda: spectral(b)),
        ("non_overlapping_template", lambda: non_overlapping_template(b)),
        ("approximate_entropy", lambda: approximate_entropy(b, m=min(10, log2n - 6))),
        ("serial", lambda: serial(b, m=min(16, log2n - 3))),
        ("cumulative_sums_forward", lambda: cumulative_sums(b, mode="forward")),
        ("cumulative_sums_backward", lambda: cumulative_sums(b, mode="backward")),
    ]
    results = []
    for name, test in plan:
        try:
            p = test()
        except _RequirementError:
            continue
        named = [(f"{name}_1", p[0]), (f"{name}_2", p[1])] if isinstance(p, tuple) else [(name, p)]
        results += [RandomnessTestResult(nm, pv, pv >= alpha) for nm, pv in named]
    return results


def normality_checks(samples) -> GaussianCheck:
    """Check that `samples` (any shape, flattened) look like N(0, 1) draws.

    KS: scipy.stats.kstest against the standard normal CDF, exact distribution for n <= 10^4,
    Kolmogorov's limiting distribution above (scipy's "auto" can take seconds at n = 10^6 when p
    is tiny; the two agree to ~1e-4 there). Kurtosis: g2 = m4 / m2^2 - 3, whose
    standard error under normality is sqrt(24/n) for large n, so z = g2 / sqrt(24/n) and
    p = 2 (1 - Phi(|z|)). Non-numeric or non-finite input and n < 8 raise InputError.
    """
    arr = np.asarray(samples)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"normality_checks: samples must be real numbers; got dtype={arr.dtype}")
    x = arr.astype(np.float64).ravel()
    if x.size < 8:
        raise InputError(f"normality_checks: needs n >= 8 samples; got n={x.size}")
    if not np.all(np.isfinite(x)):
        i = int(np.argmax(~np.isfinite(x)))
        raise InputError(f"normality_checks: samples must be finite; got {x[i].item()!r} at flat index {i}")
    n = x.size
    ks_p = float(stats.kstest(x, "norm", method="exact" if n <= 10_000 else "asymp").pvalue)
    g2 = float(stats.kurtosis(x, fisher=True, bias=True))
    z = g2 / math.sqrt(24.0 / n)
    return GaussianCheck(
        ks_p=ks_p,
        kurtosis=g2,
        kurtosis_z=z,
        kurtosis_p=float(2.0 * stats.norm.sf(abs(z))),
        mean=float(x.mean()),
        std=float(x.std()),
        n=n,
    )
