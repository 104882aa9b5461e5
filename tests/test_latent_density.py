"""vaegan_jax.latent_density: the ex-post Gaussian mixture of the latent codes."""

import numpy as np
import pytest

from vaegan_jax import latent_density


def _clusters(n_per=400, seed=0):
  """Two well-separated anisotropic Gaussians in 3-D, 1:3 weights."""
  rng = np.random.default_rng(seed)
  a = rng.normal(size=(n_per, 3)) * [0.5, 0.1, 0.2] + [4.0, 0.0, 0.0]
  b = rng.normal(size=(3 * n_per, 3)) @ np.array([[1.0, 0.5, 0], [0, 0.3, 0], [0, 0, 0.2]])
  b += [-4.0, 1.0, 0.0]
  return np.concatenate([a, b])


def test_fit_recovers_the_components():
  gmm = latent_density.fit(_clusters(), components=2, seed=0)
  order = np.argsort(gmm['means'][:, 0])  # [b, a]
  np.testing.assert_allclose(gmm['weights'][order], [0.75, 0.25], atol=0.01)
  np.testing.assert_allclose(gmm['means'][order], [[-4, 1, 0], [4, 0, 0]], atol=0.1)
  cov_b = np.array([[1.0, 0.5, 0], [0, 0.3, 0], [0, 0, 0.2]])
  cov_b = cov_b.T @ cov_b
  np.testing.assert_allclose(gmm['covariances'][order[0]], cov_b, atol=0.1)
  np.testing.assert_allclose(gmm['covariances'][order[1]],
                             np.diag([0.25, 0.01, 0.04]), atol=0.03)


def test_samples_follow_the_mixture_and_are_deterministic():
  gmm = dict(weights=np.array([0.25, 0.75]),
             means=np.array([[4.0, 0.0], [-4.0, 1.0]]),
             covariances=np.array([np.diag([0.25, 0.01]), [[1.0, 0.6], [0.6, 0.5]]]))
  z = latent_density.sample(gmm, 40000, seed=3)
  assert z.shape == (40000, 2) and z.dtype == np.float32
  np.testing.assert_array_equal(z, latent_density.sample(gmm, 40000, seed=3))
  assert not np.array_equal(z, latent_density.sample(gmm, 40000, seed=4))
  right = z[:, 0] > 0
  assert abs(right.mean() - 0.25) < 0.01
  np.testing.assert_allclose(z[right].mean(0), [4.0, 0.0], atol=0.02)
  np.testing.assert_allclose(np.cov(z[~right].T), [[1.0, 0.6], [0.6, 0.5]], atol=0.04)


def test_bad_codes_are_refused_with_one_line():
  with pytest.raises(latent_density.FitError, match='at least 20 codes'):
    latent_density.fit(np.zeros((5, 3)))
  codes = _clusters()
  codes[3, 1] = np.nan
  with pytest.raises(latent_density.FitError, match='NaN'):
    latent_density.fit(codes, components=2)
