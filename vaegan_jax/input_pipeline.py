"""Data: the embedded digits and tfds `celeb_a`, as batches in [-1, 1], [B, H, W, C].

The batch for step k is a pure function of (seed, k): the order is a seeded permutation
per epoch, so a run resumed at step k continues the same stream. Full pipelines for
other data sets come later; this module is where they go.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
from PIL import Image, ImageFilter


class DataError(Exception):
  """A data set is missing or unusable; the message says how to fix it."""


@dataclasses.dataclass
class Dataset:
  """A finite set of examples read by index, and how to turn them into model images.

  Attributes:
    num_examples: number of training examples.
    read: indices [n] -> uint8 or float images [n, ...] (raw, before preprocessing).
    preprocess: (raw images, rng) -> float32 [n, H, W, C] in [-1, 1].
  """

  num_examples: int
  read: Callable[[np.ndarray], np.ndarray]
  preprocess: Callable[[np.ndarray, np.random.Generator], np.ndarray]

  def batch(self, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return self.preprocess(self.read(indices), rng)


def _resize(images: np.ndarray, size: int, blur_sigma: float = 0.0) -> np.ndarray:
  """uint8 [n, h, w, c] -> float32 [n, size, size, c] in [-1, 1] (bilinear, optional blur)."""
  out = []
  for im in images:
    c = im.shape[-1]
    pil = Image.fromarray(im[..., 0] if c == 1 else im)
    if blur_sigma > 0:
      pil = pil.filter(ImageFilter.GaussianBlur(blur_sigma))
    pil = pil.resize((size, size), Image.BILINEAR)
    a = np.asarray(pil, np.float32)
    out.append(a[..., None] if a.ndim == 2 else a)
  return np.stack(out) / 127.5 - 1.0


def _maybe_flip(x: np.ndarray, rng: np.random.Generator, enabled: bool) -> np.ndarray:
  if not enabled:
    return x
  flip = rng.random(x.shape[0]) < 0.5
  return np.where(flip[:, None, None, None], x[:, :, ::-1], x)


def digits(config) -> Dataset:
  """scikit-learn's 1,797 8x8 handwritten digits (shipped in the package), upscaled."""
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  if config.channels != 1:
    raise DataError(f'digits are grayscale: set --config.channels=1 (got {config.channels})')
  raw = (load_digits().images * (255.0 / 16.0)).round().astype(np.uint8)[..., None]
  images = _resize(raw, config.image_size)
  return Dataset(
      num_examples=len(images),
      read=lambda idx: images[idx],
      preprocess=lambda x, rng: _maybe_flip(x, rng, config.random_flip))


CELEBA_AUTHORS_CROP = (40, 188, 15, 163)  # rows, cols of the 218x178 aligned image


def celeba_preprocess(images: np.ndarray, rng: np.random.Generator, *, size: int,
                      crop: str, flip: bool) -> np.ndarray:
  """CelebA aligned 218x178 uint8 -> [n, size, size, 3] in [-1, 1] (SPEC 7).

  'authors': crop rows 40:188, cols 15:163 (148x148), Gaussian blur of sigma
  sqrt(148/size)/2 against aliasing, resize. 'center108': the 108x108 centre crop.
  """
  if crop == 'authors':
    r0, r1, c0, c1 = CELEBA_AUTHORS_CROP
    blur = float(np.sqrt((r1 - r0) / size) / 2.0)
  elif crop == 'center108':
    h, w = images.shape[1:3]
    r0, c0 = (h - 108) // 2, (w - 108) // 2
    r1, c1, blur = r0 + 108, c0 + 108, 0.0
  else:
    raise DataError(f"unknown celeba_crop {crop!r}; use 'authors' or 'center108'")
  return _maybe_flip(_resize(images[:, r0:r1, c0:c1], size, blur), rng, flip)


def celeb_a(config) -> Dataset:
  """tfds `celeb_a` train split read with tfds.data_source (no tensorflow needed)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  data_dir = config.data_dir or None
  try:
    source = tfds.data_source('celeb_a', split='train', data_dir=data_dir, download=False)
  except Exception as e:  # pylint: disable=broad-except
    try:
      builder = tfds.builder('celeb_a', data_dir=data_dir)
      where, prepared = builder.data_dir, builder.is_prepared()
    except Exception:  # pylint: disable=broad-except
      where, prepared = data_dir or '~/tensorflow_datasets', False
    if not prepared:
      raise DataError(
          f'CelebA is not prepared in {where}: put the celeb_a files in tfds\' manual '
          'download dir and run `tfds build celeb_a --file_format=array_record`, or set '
          '--config.data_dir to a tfds data dir that holds it') from e
    raise DataError(f'tfds cannot read celeb_a in {where} ({type(e).__name__}): it must '
                    'be prepared with `tfds build celeb_a --file_format=array_record`') from e
  if config.channels != 3:
    raise DataError(f'celeb_a is RGB: set --config.channels=3 (got {config.channels})')
  return Dataset(
      num_examples=len(source),
      read=lambda idx: np.stack([source[int(i)]['image'] for i in idx]),
      preprocess=lambda x, rng: celeba_preprocess(
          x, rng, size=config.image_size, crop=config.celeba_crop,
          flip=config.random_flip))


SOURCES = {'digits': digits, 'celeb_a': celeb_a}


def load(config) -> Dataset:
  """The training set named by config.dataset."""
  if config.dataset not in SOURCES:
    raise DataError(f'unknown dataset {config.dataset!r}; choose one of {sorted(SOURCES)}')
  return SOURCES[config.dataset](config)


def batch_indices(num_examples: int, batch_size: int, seed: int, step: int) -> np.ndarray:
  """Indices of the batch for `step`: epoch e uses permutation(seed, e); the last
  incomplete batch of an epoch is dropped so every batch has `batch_size` examples."""
  per_epoch = num_examples // batch_size
  epoch, i = divmod(step, per_epoch)
  perm = np.random.default_rng([seed, epoch]).permutation(num_examples)
  return perm[i * batch_size:(i + 1) * batch_size]


def batch_for_step(ds: Dataset, batch_size: int, seed: int, step: int) -> dict:
  """{'image': float32 [B, H, W, C]} for `step`, deterministic in (seed, step)."""
  idx = batch_indices(ds.num_examples, batch_size, seed, step)
  rng = np.random.default_rng([seed, step, 1])
  return {'image': ds.batch(idx, rng).astype(np.float32)}


def iterate(ds: Dataset, batch_size: int, seed: int, start_step: int, prefetch: int = 2):
  """Endless batches from `start_step` on, prepared `prefetch` steps ahead in a thread."""
  import concurrent.futures  # pylint: disable=g-import-not-at-top
  pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
  pending = [pool.submit(batch_for_step, ds, batch_size, seed, s)
             for s in range(start_step, start_step + prefetch)]
  step = start_step + prefetch
  try:
    while True:
      batch = pending.pop(0).result()
      pending.append(pool.submit(batch_for_step, ds, batch_size, seed, step))
      step += 1
      yield batch
  finally:
    pool.shutdown(wait=False, cancel_futures=True)
