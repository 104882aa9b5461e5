"""Distances between two sets of features: the Frechet distance (FID's formula) and KID.

Both take features [n, d] (from any network: compare's digit classifier, Inception) and
compute in float64.
"""

from __future__ import annotations

import numpy as np


def _sqrtm_psd(c: np.ndarray) -> np.ndarray:
  """Square root of a symmetric positive semi-definite matrix (eigenvalues < 0 -> 0)."""
  w, v = np.linalg.eigh((c + c.T) / 2)
  return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(mean [d], covariance [d, d]) of features [n, d], in float64 (n - 1 normalised)."""
  f = np.asarray(features, np.float64)
  return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance_from_stats(mu1, cov1, mu2, cov2) -> float:
  """|mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr sqrt(C1 C2), the Frechet (2-Wasserstein)^2
  distance of two Gaussians.

  tr sqrt(C1 C2) = tr sqrt(S1 C2 S1) with S1 = sqrt(C1): S1 C2 S1 is symmetric PSD, so
  both roots come from symmetric eigendecompositions (no complex parts, no scipy).
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  cov1 = np.atleast_2d(cov1).astype(np.float64)
  cov2 = np.atleast_2d(cov2).astype(np.float64)
  s1 = _sqrtm_psd(cov1)
  m = s1 @ cov2 @ s1
  tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum()
  d = mu1 - mu2
  return float(max(d @ d + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_sqrt, 0.0))


def frechet_distance(features1: np.ndarray, features2: np.ndarray) -> float:
  """Frechet distance of Gaussians fitted to two feature sets [n1, d] and [n2, d]."""
  return frechet_distance_from_stats(*gaussian_stats(features1),
                                     *gaussian_stats(features2))


def kernel_distance(features1: np.ndarray, features2: np.ndarray) -> float:
  """KID: unbiased squared MMD with the kernel k(a, b) = (a.b / d + 1)^3."""
  x = np.asarray(features1, np.float64)
  y = np.asarray(features2, np.float64)
  m, n, d = len(x), len(y), x.shape[1]
  kxx = (x @ x.T / d + 1.0) ** 3
  kyy = (y @ y.T / d + 1.0) ** 3
  kxy = (x @ y.T / d + 1.0) ** 3
  return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) +
               (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2.0 * kxy.mean())
