"""Tests of diffusion/metrics/fid_kid.py: FID, KID, precision/recall and the batch report.

Tolerances: FID identities hold to 1e-8 relative (sqrtm of a well-conditioned 2048-free matrix);
KID and precision/recall are checked against brute-force O(N²) twins to 1e-10, and KID's
unbiasedness by exact enumeration of every sample on a finite population.
"""

import itertools
import json

import numpy as np
import pytest
import scipy.spatial.distance

from device.errors import InputError
from diffusion.metrics import fid_kid
from diffusion.metrics.fid_kid import QualityError, ReferenceStats


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# --- Gaussian statistics and FID ----------------------------------------------------------------


def test_gaussian_stats_float64_mean_and_unbiased_covariance():
    x = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    mu, sigma = fid_kid.gaussian_stats(x)
    assert mu.dtype == sigma.dtype == np.float64
    centred = x.astype(np.float64) - x.astype(np.float64).mean(0)
    np.testing.assert_allclose(mu, x.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma, centred.T @ centred / 49, rtol=1e-12)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.zeros(5), "2-D"),
        (np.zeros((1, 3)), "at least 2 rows"),
        (np.full((3, 2), np.inf), "non-finite"),
        (np.zeros((3, 2), complex), "real"),
    ],
)
def test_gaussian_stats_rejects_bad_features(x, match):
    with pytest.raises(InputError, match=match):
        fid_kid.gaussian_stats(x)


def test_fid_of_identical_statistics_is_zero():
    rng = np.random.default_rng(1)
    mu, sigma = rng.standard_normal(16), _random_spd(rng, 16)
    assert fid_kid.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)


def test_fid_closed_form_for_diagonal_covariances():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.standard_normal(12), rng.standard_normal(12)
    s1, s2 = rng.uniform(0.1, 3.0, 12), rng.uniform(0.1, 3.0, 12)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert fid_kid.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)


def test_fid_is_symmetric():
    rng = np.random.default_rng(3)
    mu1, mu2, s1, s2 = rng.standard_normal(10), rng.standard_normal(10), _random_spd(rng, 10), _random_spd(rng, 10)
    assert fid_kid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        fid_kid.frechet_distance(mu2, s2, mu1, s1), rel=1e-9
    )


def test_fid_refuses_a_large_imaginary_root():
    # Σ₂ = diag(1, -1) is not a covariance: √(Σ₁Σ₂) has an imaginary entry as large as its real one.
    with pytest.raises(QualityError, match="imaginary part 1"):
        fid_kid.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.diag([1.0, -1.0]))


def test_fid_retries_with_eps_when_the_root_is_not_finite(monkeypatch):
    real_sqrtm = fid_kid.scipy.linalg.sqrtm
    calls = []

    def flaky_sqrtm(a):
        calls.append(a.copy())
        return np.full_like(a, np.nan) if len(calls) == 1 else real_sqrtm(a)

    monkeypatch.setattr(fid_kid.scipy.linalg, "sqrtm", flaky_sqrtm)
    s = np.diag([1.0, 4.0])
    with pytest.warns(RuntimeWarning, match="retrying with 1e-06"):
        value = fid_kid.frechet_distance(np.zeros(2), s, np.zeros(2), s)
    np.testing.assert_allclose(calls[1], (s + 1e-6 * np.eye(2)) @ (s + 1e-6 * np.eye(2)))
    assert value == pytest.approx(0.0, abs=1e-5)


def test_fid_raises_when_the_retry_is_not_finite_either(monkeypatch):
    monkeypatch.setattr(fid_kid.scipy.linalg, "sqrtm", lambda a: np.full_like(a, np.nan))
    with pytest.warns(RuntimeWarning), pytest.raises(QualityError, match="not finite even with"):
        fid_kid.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros(3), np.eye(3), np.zeros(2), np.eye(2)), "mu1 has d = 3 but mu2 has d = 2"),
        ((np.zeros(3), np.eye(2), np.zeros(3), np.eye(3)), r"sigma1 has shape \(2, 2\)"),
        ((np.zeros((3, 1)), np.eye(3), np.zeros(3), np.eye(3)), "mu1 must be a 1-D"),
        ((np.zeros(3), np.eye(3), np.zeros(3), np.full((3, 3), np.nan)), "sigma2 contains non-finite"),
    ],
)
def test_fid_rejects_bad_moments(args, match):
    with pytest.raises(InputError, match=match):
        fid_kid.frechet_distance(*args)


@pytest.mark.parametrize("n", [3, 10, 29, 45])  # n ≤ d: eigenvalue route; n > d: sqrtm fallback
def test_fid_to_features_matches_sqrtm_route(n):
    rng = np.random.default_rng(n)
    d = 30
    mu_ref, sigma_ref = rng.standard_normal(d), _random_spd(rng, d)
    x = rng.standard_normal((n, d)) * 1.5 + 0.3
    expected = fid_kid.frechet_distance(*fid_kid.gaussian_stats(x), mu_ref, sigma_ref)
    assert fid_kid.frechet_distance_to_features(x, mu_ref, sigma_ref) == pytest.approx(expected, rel=1e-8)


def test_fid_to_features_refuses_a_non_psd_reference():
    x = np.random.default_rng(0).standard_normal((3, 4))  # n ≤ d: the eigenvalue route
    with pytest.raises(QualityError, match="not positive semi-definite"):
        fid_kid.frechet_distance_to_features(x, np.zeros(4), -np.eye(4))
    with pytest.raises(InputError, match="d = 4 columns but mu_ref has 2"):
        fid_kid.frechet_distance_to_features(x, np.zeros(2), np.eye(2))


# --- KID ------------------------------------------------------------------------------------------


def _brute_force_mmd2(x, y):
    d, m = x.shape[1], x.shape[0]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_mmd2_matches_brute_force():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 5)), rng.standard_normal((6, 5)) + 0.5
    assert fid_kid.mmd2_unbiased(x, y) == pytest.approx(_brute_force_mmd2(x, y), rel=1e-12)


def test_mmd2_is_unbiased_by_exact_enumeration():
    """E[estimator] over every size-2 sample (with replacement) of two 3-point populations equals the
    population MMD²; the biased V-statistic (diagonal kept) does not, so the test can fail."""
    rng = np.random.default_rng(5)
    pop_x, pop_y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)) + 0.7
    kernel = fid_kid.polynomial_kernel
    population = kernel(pop_x, pop_x).mean() + kernel(pop_y, pop_y).mean() - 2 * kernel(pop_x, pop_y).mean()
    samples = list(itertools.product(range(3), repeat=2))
    unbiased, biased = [], []
    for ix, iy in itertools.product(samples, samples):
        x, y = pop_x[list(ix)], pop_y[list(iy)]
        unbiased.append(fid_kid.mmd2_unbiased(x, y))
        biased.append(kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean())
    assert np.mean(unbiased) == pytest.approx(population, rel=1e-10)
    assert abs(np.mean(biased) - population) > 0.1 * abs(population)


def test_kid_same_distribution_is_zero_within_its_std_and_shift_is_clearly_positive():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    same = fid_kid.kid(a, b, subsets=50, subset_size=100, seed=1)
    shifted = fid_kid.kid(a, b + 0.5, subsets=50, subset_size=100, seed=1)
    assert abs(same["mean"]) < same["std"]
    assert shifted["mean"] > 5 * shifted["std"] and shifted["mean"] > 5 * same["std"]
    assert same == fid_kid.kid(a, b, subsets=50, subset_size=100, seed=1)  # seeded: reproducible


def test_kid_subset_size_defaults_to_the_smaller_set():
    rng = np.random.default_rng(7)
    result = fid_kid.kid(rng.standard_normal((16, 8)), rng.standard_normal((300, 8)), subsets=3)
    assert (result["subsets"], result["subset_size"]) == (3, 16)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"subset_size": 17}, r"subset_size must be an integer in \[2, min\(N_a, N_b\) = 16\]"),
        ({"subset_size": 1}, "subset_size"),
        ({"subsets": 0}, "subsets must be a positive integer"),
    ],
)
def test_kid_rejects_bad_subsets(kwargs, match):
    rng = np.random.default_rng(8)
    with pytest.raises(InputError, match=match):
        fid_kid.kid(rng.standard_normal((16, 4)), rng.standard_normal((20, 4)), **kwargs)


def test_kid_rejects_mismatched_dimensions():
    with pytest.raises(InputError, match="d = 4 but features_b has d = 5"):
        fid_kid.kid(np.zeros((4, 4)), np.zeros((4, 5)))


# --- precision / recall ---------------------------------------------------------------------------


def _brute_force_pr(real, fake, k):
    def radii(x):
        return np.sort(scipy.spatial.distance.cdist(x, x), axis=1)[:, k]

    covered = lambda p, c, r: np.mean((scipy.spatial.distance.cdist(p, c) <= r[None, :]).any(axis=1))  # noqa: E731
    return covered(fake, real, radii(real)), covered(real, fake, radii(fake))


def test_precision_recall_of_identical_sets_is_one():
    x = np.random.default_rng(9).standard_normal((40, 6))
    result = fid_kid.precision_recall(x, x.copy(), k=3)
    assert (result["precision"], result["recall"]) == (1.0, 1.0)


def test_precision_recall_matches_brute_force_at_any_chunk_size():
    rng = np.random.default_rng(10)
    real, fake = rng.standard_normal((60, 5)), rng.standard_normal((45, 5)) * 1.4 + 0.4
    expected = _brute_force_pr(real, fake, 3)
    for chunk in (7, 1024):
        result = fid_kid.precision_recall(real, fake, k=3, chunk=chunk)
        assert (result["precision"], result["recall"]) == pytest.approx(expected, abs=1e-12)
    assert 0.0 < expected[0] < 1.0 and 0.0 < expected[1] < 1.0  # a case that exercises both sides


def test_precision_counts_fakes_outside_the_real_manifold():
    real = np.random.default_rng(11).standard_normal((50, 4))
    fake = np.concatenate([real[:25], real[25:] + 100.0])
    assert fid_kid.precision_recall(real, fake, k=3)["precision"] == 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"k": 0}, "k must be a positive integer"), ({"k": 5}, "more than 5 rows"), ({"chunk": 0}, "chunk")],
)
def test_precision_recall_rejects_bad_arguments(kwargs, match):
    x = np.zeros((5, 2))
    with pytest.raises(InputError, match=match):
        fid_kid.precision_recall(x, x, **kwargs)


# --- the batch report -------------------------------------------------------------------------------


@pytest.fixture
def small_reference() -> ReferenceStats:
    rng = np.random.default_rng(12)
    feats = rng.standard_normal((300, 32))
    mu, sigma = fid_kid.gaussian_stats(feats)
    record = {
        "dataset": "synthetic",
        "split": "test",
        "n": 300,
        "weights": {"sha256": "ab"},
        "protocol": {"resize": "r"},
    }
    return ReferenceStats(mu=mu, sigma=sigma, features=feats[:200], record=record)


def test_batch_quality_is_json_ready_and_labels_small_n(small_reference):
    fake = np.random.default_rng(13).standard_normal((16, 32)) + 0.2
    report = fid_kid.batch_quality(fake, small_reference, kid_subsets=10)
    json.dumps(report)
    assert report["n"] == 16 and report["batch_fid"]["n"] == 16 and report["batch_fid"]["reference_n"] == 300
    assert "not comparable to FID@10k" in report["batch_fid"]["note"]
    expected = fid_kid.frechet_distance_to_features(fake, small_reference.mu, small_reference.sigma)
    assert report["batch_fid"]["value"] == pytest.approx(expected, rel=1e-12)
    assert report["batch_kid"] == {**fid_kid.kid(fake, small_reference.features, subsets=10), "reference_features": 200}
    assert report["batch_kid"]["subset_size"] == 16
    assert {k: report["fid_calibrated"][k] for k in ("value", "n", "source")} == {
        "value": None,
        "n": None,
        "source": None,
    }
    assert report["reference"] == {
        "dataset": "synthetic",
        "split": "test",
        "n": 300,
        "weights_sha256": "ab",
        "protocol": {"resize": "r"},
    }


def test_batch_quality_carries_the_calibrated_fid_and_handles_one_image(small_reference):
    calibrated = {"value": 12.5, "n": 10000, "source": "calibration.json#software/ddpm/50"}
    report = fid_kid.batch_quality(np.zeros((1, 32)), small_reference, fid_calibrated=calibrated)
    assert report["batch_fid"]["value"] is None and report["batch_kid"]["mean"] is None
    assert {k: report["fid_calibrated"][k] for k in calibrated} == calibrated
