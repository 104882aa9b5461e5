"""Image features for FID/KID: pytorch-fid's Inception (pool3) or compare's classifier.

The one place `evaluate` and the trainer's live evaluation (vaegan_jax/live_eval.py) get
their feature extractor from, so both report the same numbers for the same images.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from vaegan_jax import classifier
from vaegan_jax import errors
from vaegan_jax import inception
from vaegan_jax import validation

FEATURES = validation.EVAL_FEATURES


def check(kind: str, flag: str = '--features') -> None:
  if kind not in FEATURES:
    raise errors.ConfigError(f'unknown {flag} {kind!r}; choose one of '
                             f'{", ".join(FEATURES)}')


def feature_fn(kind: str, image_shape, *, inception_weights: str | None = None,
               classifier_steps: int = 400, flag: str = '--features',
               folder: dict | None = None, seed: int = 0
               ) -> Callable[[np.ndarray], np.ndarray]:
  """images [N, H, W, C] in [-1, 1] -> features float64 [N, d].

  inception: pytorch-fid's network (weights from `inception_weights` or pytorch-fid's
  cache; errors.WeightsMissing when there are none). classifier: compare's
  classifier trained for `classifier_steps`: with `folder` (classifier.load_split's
  data_path, image_size, channels) on that folder's class folders and split of `seed`,
  as compare scores it; else on the embedded digits at the images' size (square
  grayscale images only).
  """
  check(kind, flag)
  if kind == 'inception':
    variables = inception.load(inception_weights)
    return lambda x: inception.features(variables, x)
  if folder is not None:
    train = classifier.load_split('train', seed, data='folder', **folder)
    held = classifier.load_split('validation', seed, data='folder', **folder)
    return classifier.train_classifier(train, held, steps=classifier_steps,
                                       seed=seed).features
  size, channels = image_shape[0], image_shape[-1]
  if channels != 1 or image_shape[0] != image_shape[1]:
    raise errors.ConfigError(
        f'{flag}=classifier reads square grayscale images (the digit classifier); these '
        f'are {tuple(image_shape)}: use {flag}=inception')
  train = classifier.digits_split('train', 0, size)
  held = classifier.digits_split('validation', 0, size)
  clf = classifier.train_classifier(train, held, steps=classifier_steps, seed=0)
  return clf.features
