"""Pixel error against sharpness for reconstructions from a small code, without a model.

  python scripts/perception_distortion.py --data folder --data_path DIR --image_size 32
      --channels 3 [--seed 0] [--thumb 4] [--ks 1,4,16,64]

The code of a patch is its thumb x thumb x C average-pooled thumbnail (4x4x3 = 48 numbers
for 32x32 colour, a code of the order of a 16-number latent). For each held-out image the k
training images whose codes are nearest stand in for p(x | code):
- "mean of k": their average, an estimate of E[x | code], the reconstruction with the
  lowest pixel error for that code (what a pixel loss drives a decoder toward: blur);
- "one of k": one of them drawn at random, a reconstruction that is itself a real image
  with that code (what a discriminator drives a decoder toward: sharp).
Prints each one's pixel MSE (images in [-1, 1]) and its FD in compare's classifier
features against the held-out images (compare's split and classifier for --seed; real
training images, compare's seeded draw, score the floor). Blau and Michaeli ("The Perception-Distortion
Tradeoff", CVPR 2018) show that a reconstruction distributed as the real images given the
code has twice the MSE of E[x | code]: a decoder that draws texture its code does not
hold cannot also have the lowest pixel error.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=g-import-not-at-top

from vaegan_jax import classifier  # pylint: disable=g-import-not-at-top
from vaegan_jax import compare  # pylint: disable=g-import-not-at-top
from vaegan_jax import metrics  # pylint: disable=g-import-not-at-top


def thumbnails(images: np.ndarray, thumb: int) -> np.ndarray:
  n, h, w, c = images.shape
  f = h // thumb
  return images.reshape(n, thumb, f, thumb, f, c).mean(axis=(2, 4)).reshape(n, -1)


def neighbours(codes: np.ndarray, bank: np.ndarray, k: int) -> np.ndarray:
  """Indices [n, k] of the k nearest rows of `bank` to each row of `codes` (L2)."""
  d = (codes ** 2).sum(1)[:, None] - 2 * codes @ bank.T + (bank ** 2).sum(1)[None]
  return np.argsort(d, axis=1)[:, :k]


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--data', default='folder')
  p.add_argument('--data_path', default='')
  p.add_argument('--image_size', type=int, default=32)
  p.add_argument('--channels', type=int, default=3)
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--thumb', type=int, default=4)
  p.add_argument('--ks', default='1,4,16,64')
  a = p.parse_args()
  if a.image_size % a.thumb:
    sys.exit(f'error: --thumb {a.thumb} must divide --image_size {a.image_size}')
  train, held, clf, held_feats = classifier.seed_classifier(
      a.seed, data=a.data, image_size=a.image_size, data_path=a.data_path,
      channels=a.channels)
  x = held.images
  fd = lambda images: metrics.frechet_distance(clf.features(images), held_feats)
  floor = train.images[compare.floor_indices(a.seed, len(train.images), len(x))]
  print(f'{len(train.images)} training / {len(x)} held-out images; code: '
        f'{a.thumb}x{a.thumb}x{a.channels} thumbnail')
  print(f'real training images: FD {fd(floor):.3f}')
  ks = [int(s) for s in a.ks.split(',')]
  nearest = neighbours(thumbnails(x, a.thumb), thumbnails(train.images, a.thumb), max(ks))
  rng = np.random.default_rng(a.seed)
  print('| k | MSE, mean of k | FD, mean of k | MSE, one of k | FD, one of k | MSE ratio |')
  print('|---:|---:|---:|---:|---:|---:|')
  for k in ks:
    idx = nearest[:, :k]
    mean = train.images[idx].mean(axis=1)
    one = train.images[idx[np.arange(len(x)), rng.integers(0, k, len(x))]]
    mse_mean = float(np.mean((mean - x) ** 2))
    mse_one = float(np.mean((one - x) ** 2))
    print(f'| {k} | {mse_mean:.4f} | {fd(mean):.3f} | {mse_one:.4f} | {fd(one):.3f} | '
          f'{mse_one / mse_mean:.2f} |')


if __name__ == '__main__':
  main()
