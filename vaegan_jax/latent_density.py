"""Ex-post density estimation in the latent space: a Gaussian mixture fitted to the
posterior means of the training images, sampled in place of the prior.

Ghosh, Sajjadi, Vergari, Black, Schoelkopf, "From Variational to Deterministic
Autoencoders", ICLR 2020, section 4 ("ex-post density estimation"): a 10-component,
full-covariance GMM on the training codes of a trained autoencoder (VAE, WAE, RAE)
gives better samples than the prior, because it puts no mass in the regions between
the posteriors that the decoder never learned to decode. Nothing is trained: the
decoder and encoder stay as they are.
"""

from __future__ import annotations

import numpy as np

COMPONENTS = 10  # Ghosh et al. 2020


class FitError(ValueError):
  """Too few or non-finite codes to fit the mixture."""


def fit(codes: np.ndarray, components: int = COMPONENTS, seed: int = 0) -> dict:
  """A full-covariance GMM of `codes` [N, Z] (EM, sklearn): {'weights' [K],
  'means' [K, Z], 'covariances' [K, Z, Z]}, float64."""
  from sklearn.mixture import GaussianMixture  # pylint: disable=g-import-not-at-top
  codes = np.asarray(codes, np.float64)
  if codes.ndim != 2 or len(codes) < 2 * components:
    raise FitError(f'a {components}-component mixture needs at least {2 * components} '
                   f'codes [N, Z]; got shape {codes.shape}')
  if not np.all(np.isfinite(codes)):
    raise FitError('the codes contain NaN or inf: the encoder diverged')
  gmm = GaussianMixture(components, covariance_type='full', reg_covar=1e-6,
                        max_iter=500, n_init=1, random_state=seed).fit(codes)
  return dict(weights=gmm.weights_, means=gmm.means_, covariances=gmm.covariances_)


def sample(gmm: dict, num: int, seed: int = 0) -> np.ndarray:
  """`num` codes [num, Z] (float32) from the mixture: a component by its weight, then
  mean + L eps with L L^T its covariance and eps ~ N(0, I); deterministic in `seed`."""
  rng = np.random.default_rng(seed)
  weights = np.asarray(gmm['weights'], np.float64)
  k = rng.choice(len(weights), size=num, p=weights / weights.sum())
  chol = np.linalg.cholesky(np.asarray(gmm['covariances'], np.float64))
  eps = rng.standard_normal((num, chol.shape[-1]))
  z = np.asarray(gmm['means'])[k] + np.einsum('nij,nj->ni', chol[k], eps)
  return z.astype(np.float32)
