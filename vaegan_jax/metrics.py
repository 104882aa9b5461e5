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


def _binomial_down(x: np.ndarray) -> np.ndarray:
  """[n, H, W, C] -> [n, H/2, W/2, C]: a 5-tap binomial blur (reflected edges), every
  second pixel (the Laplacian pyramid's reduce step, Burt & Adelson 1983)."""
  k = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
  p = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode='reflect')
  h = sum(k[i] * p[:, i:i + x.shape[1]] for i in range(5))
  v = sum(k[i] * h[:, :, i:i + x.shape[2]] for i in range(5))
  return v[:, ::2, ::2]


def laplacian_pyramid(images: np.ndarray, min_size: int = 8) -> list[np.ndarray]:
  """The band-pass levels of `images` [n, H, W, C], finest first, down to the first
  level under 2 * min_size pixels, which is kept whole (the low-pass level)."""
  x, levels = np.asarray(images, np.float64), []
  while x.shape[1] >= 2 * min_size and x.shape[1] % 2 == 0 and x.shape[2] % 2 == 0:
    d = _binomial_down(x)
    levels.append(x - np.repeat(np.repeat(d, 2, 1), 2, 2))
    x = d
  levels.append(x)
  return levels


def sliced_wasserstein(real: np.ndarray, fake: np.ndarray, *, patch: int = 7,
                       patches_per_image: int = 64, directions: int = 256,
                       min_size: int = 8, seed: int = 0) -> list[float]:
  """Multi-scale sliced Wasserstein distance between two image sets [n, H, W, C].

  Karras, Aila, Laine, Lehtinen, "Progressive Growing of GANs", ICLR 2018, section 5:
  at each level of a Laplacian pyramid (laplacian_pyramid: fine detail first, the
  low-pass colours last), `patches_per_image` random `patch` x `patch` patches of each
  image, every dimension normalised by the real patches' mean and standard deviation,
  projected on `directions` random unit vectors; the level's distance is the mean
  absolute difference of the sorted projections (the 1-D Wasserstein-1 distance, averaged
  over directions). Needs no network: fine levels see texture and sharpness, coarse
  ones shape and colour. Returns one distance per level (lower is closer); the two
  sets are cut to the smaller one's size. Deterministic in `seed`.
  """
  rng = np.random.default_rng(seed)
  n = min(len(real), len(fake))
  out = []
  for lr, lf in zip(laplacian_pyramid(real[:n], min_size),
                    laplacian_pyramid(fake[:n], min_size)):
    s = min(patch, lr.shape[1])

    def cut(level):
      ys = rng.integers(0, level.shape[1] - s + 1, (n, patches_per_image))
      xs = rng.integers(0, level.shape[2] - s + 1, (n, patches_per_image))
      rows = (np.arange(n)[:, None, None, None], ys[..., None, None] + np.arange(s)[:, None],
              xs[..., None, None] + np.arange(s)[None, :])
      return level[rows].reshape(n * patches_per_image, -1)

    a, b = cut(lr), cut(lf)
    mu, sd = a.mean(0), a.std(0) + 1e-8
    a, b = (a - mu) / sd, (b - mu) / sd
    d = rng.standard_normal((a.shape[1], directions))
    d /= np.linalg.norm(d, axis=0)
    out.append(float(np.mean(np.abs(np.sort(a @ d, 0) - np.sort(b @ d, 0)))))
  return out
