"""How a model is scored, written once: FD and KID of generated images against a
reference's features, and the error of its reconstructions of the reference images.

compare, live evaluation (config.eval_every) and `python -m vaegan_jax.evaluate` all
call these; they differ only in the feature function (`embed`: images -> features
[N, F], vaegan_jax/features.py or compare's classifier) and in which images are the
reference.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
from PIL import Image
from PIL import ImageFilter

from vaegan_jax import metrics
from vaegan_jax import sampling

Embed = Callable[[np.ndarray], np.ndarray]

CLASS_SHARE = 0.02  # a class "appears" among the samples above this share of them
BLUR_SIGMA = 1.0  # pixels: the blurred real images of the "real data, blurred" row


def blurred(images: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
  """images [n, H, W, C] in [-1, 1] after a Gaussian blur of `sigma` pixels (PIL's,
  on the 8-bit images), same shape and range."""
  out = np.empty_like(images, dtype=np.float32)
  for i, im in enumerate(images):
    u = np.clip((im + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    pil = Image.fromarray(u[..., 0] if u.shape[-1] == 1 else u)
    b = np.asarray(pil.filter(ImageFilter.GaussianBlur(sigma)), np.float32)
    out[i] = (b / 127.5 - 1.0).reshape(im.shape)
  return out


def classes_covered(predictions: np.ndarray, num_classes: int) -> int:
  """How many classes appear in more than CLASS_SHARE of the predicted classes of
  generated images (a generator that drops classes scores fewer)."""
  counts = np.bincount(np.asarray(predictions), minlength=num_classes)
  return int(np.sum(counts > CLASS_SHARE * len(predictions)))


@dataclasses.dataclass(frozen=True)
class Reference:
  """The reference of FD/KID: its feature statistics, and (when there are images) the
  features for KID and the images (with labels, for a conditional model) whose
  reconstructions are scored."""
  mu: np.ndarray
  sigma: np.ndarray
  features: np.ndarray | None = None
  images: np.ndarray | None = None
  labels: np.ndarray | None = None


def reference(embed: Embed, images: np.ndarray, labels: np.ndarray | None = None
              ) -> Reference:
  """The Reference of `images` [N, H, W, C] in `embed`'s features."""
  f = embed(images)
  return Reference(*metrics.gaussian_stats(f), features=f, images=images, labels=labels)


def from_stats(mu: np.ndarray, sigma: np.ndarray) -> Reference:
  """A Reference of statistics only (pytorch-fid's .npz): FD, no KID, no images."""
  return Reference(np.asarray(mu, np.float64), np.asarray(sigma, np.float64))


def feature_distances(f: np.ndarray, ref: Reference) -> dict:
  """{'fd', 'kid'} of features f [N, F] against `ref` (kid None for a statistics-only
  ref); ValueError when F is not the reference's feature count."""
  if f.shape[1] != ref.mu.shape[0]:
    raise ValueError(f'the reference has {ref.mu.shape[0]} features, the images '
                     f'{f.shape[1]}')
  return dict(fd=metrics.frechet_distance_from_stats(*metrics.gaussian_stats(f),
                                                     ref.mu, ref.sigma),
              kid=None if ref.features is None else metrics.kernel_distance(
                  f, ref.features))


def distances(embed: Embed, images: np.ndarray, ref: Reference) -> dict:
  """{'fd', 'kid'} of `images` against `ref` in `embed`'s features."""
  return feature_distances(embed(images), ref)


def reconstruction(nets, state, ref: Reference, embed: Embed | None = None) -> dict:
  """{'recon_mse'} of the model's reconstructions of ref.images (with ref.labels),
  and {'recon_fd'} in `embed`'s features when given; {} without an encoder or
  reference images."""
  if ref.images is None or not sampling.has_encoder(nets, state):
    return {}
  x_rec = sampling.reconstruct_all(nets, state, ref.images, ref.labels)
  out = dict(recon_mse=float(np.mean((x_rec - ref.images) ** 2)))
  if embed is not None:
    out['recon_fd'] = distances(embed, x_rec, ref)['fd']
  return out


def score(nets, state, embed: Embed, ref: Reference, z: np.ndarray,
          y: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
  """({'fd', 'kid'[, 'recon_mse']}, the decoded images) of the codes z [N, Z] (with
  labels y for a conditional model): FD/KID of Dec(z) against `ref`, and the
  reconstruction error of ref.images for a model with an encoder."""
  images = sampling.decode_all(nets, state, z, y)
  return {**distances(embed, images, ref), **reconstruction(nets, state, ref)}, images
