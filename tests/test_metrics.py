"""vaegan_jax.metrics: the Frechet distance and KID against closed forms and definitions."""

import numpy as np
import pytest

from vaegan_jax import metrics


def _gaussian(rng, n, mean, cov):
  return rng.multivariate_normal(mean, cov, size=n)


def _random_cov(rng, d):
  a = rng.normal(size=(d, d))
  return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_of_identical_sets_is_zero():
  rng = np.random.default_rng(0)
  f = _gaussian(rng, 400, rng.normal(size=6), _random_cov(rng, 6))
  scale = np.trace(np.cov(f, rowvar=False))
  assert metrics.frechet_distance(f, f) <= 1e-6 * scale


def test_frechet_distance_matches_closed_forms():
  rng = np.random.default_rng(1)
  # Diagonal covariances: FD = |m1 - m2|^2 + |s1 - s2|^2 exactly.
  m1, m2 = rng.normal(size=5), rng.normal(size=5)
  s1, s2 = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
  fd = metrics.frechet_distance_from_stats(m1, np.diag(s1**2), m2, np.diag(s2**2))
  np.testing.assert_allclose(fd, np.sum((m1 - m2)**2) + np.sum((s1 - s2)**2), rtol=1e-9)
  # Full covariances: against scipy's general (non-symmetric) matrix square root.
  linalg = pytest.importorskip('scipy.linalg')
  a = _gaussian(rng, 300, rng.normal(size=4), _random_cov(rng, 4))
  b = _gaussian(rng, 200, rng.normal(size=4), _random_cov(rng, 4))
  ma, ca = a.mean(0), np.cov(a, rowvar=False)
  mb, cb = b.mean(0), np.cov(b, rowvar=False)
  expected = (np.sum((ma - mb)**2) + np.trace(ca) + np.trace(cb)
              - 2 * np.trace(linalg.sqrtm(ca @ cb)).real)
  np.testing.assert_allclose(metrics.frechet_distance(a, b), expected, rtol=1e-8)


def test_frechet_distance_is_symmetric_and_grows_with_a_mean_shift():
  rng = np.random.default_rng(2)
  a = _gaussian(rng, 300, np.zeros(5), _random_cov(rng, 5))
  b = _gaussian(rng, 250, np.zeros(5), _random_cov(rng, 5))
  np.testing.assert_allclose(metrics.frechet_distance(a, b),
                             metrics.frechet_distance(b, a), rtol=1e-9)
  direction = rng.normal(size=5)
  fds = [metrics.frechet_distance(a, b + t * direction) for t in (0, 0.5, 1, 2, 4)]
  assert all(x < y for x, y in zip(fds, fds[1:])), fds
  # A pure shift of the same set adds exactly |shift|^2.
  np.testing.assert_allclose(metrics.frechet_distance(a, a + direction),
                             np.sum(direction**2), rtol=1e-6)


def test_kernel_distance_is_the_unbiased_mmd_and_separates_distributions():
  rng = np.random.default_rng(3)
  x, y = rng.normal(size=(5, 3)), rng.normal(size=(6, 3))
  k = lambda a, b: (a @ b / 3 + 1) ** 3
  xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
  yy = sum(k(y[i], y[j]) for i in range(6) for j in range(6) if i != j) / 30
  xy = sum(k(x[i], y[j]) for i in range(5) for j in range(6)) / 30
  np.testing.assert_allclose(metrics.kernel_distance(x, y), xx + yy - 2 * xy, rtol=1e-9)
  a, b = rng.normal(size=(500, 8)), rng.normal(size=(500, 8))
  same, shifted = metrics.kernel_distance(a, b), metrics.kernel_distance(a, b + 0.5)
  assert abs(same) < 0.05 * shifted
