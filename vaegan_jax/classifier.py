"""The offline classifier whose features score samples, and the data splits it uses.

`load_split` gives compare's split of a labelled data set (the embedded digits, or a
folder of class folders, grey or colour): 80% train, 20% held out, chosen by the seed.
`train_classifier` trains a small CNN on the train split in seconds; its penultimate
activations, scaled to unit RMS on the held-out images, are the features of
vaegan_jax.metrics' FD and KID.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from vaegan_jax import errors
from vaegan_jax import input_pipeline
from vaegan_jax import sampling

VAL_FRACTION = 0.2  # held out by the seed
NUM_CLASSES = 10
FEATURE_DIM = 64
CHUNK = sampling.CHUNK
batched = sampling.batched  # fn over the rows of arrays, in jitted chunks


@dataclasses.dataclass
class Split:
  """Images float32 [n, H, W, C] in [-1, 1] and class labels int32 [n] of one split."""

  images: np.ndarray
  labels: np.ndarray


def data_fields(data: str, image_size: int, data_path: str = '',
                channels: int = 1) -> dict:
  """The config fields that make a model (or the classifier) read compare's data:
  images of `channels` channels (1: grey, 3: colour) at image_size, 20% of them held
  out by the seed."""
  fields = dict(dataset=data, image_size=image_size, channels=channels, crop='none',
                random_flip=False, val_fraction=VAL_FRACTION)
  if data == 'folder':  # the class folders, also where an attribute file sits beside them
    fields.update(data_path=data_path, folder_labels='classes')
  return fields


def load_split(split: str, seed: int = 0, *, data: str = 'digits', image_size: int = 16,
               data_path: str = '', channels: int = 1) -> Split:
  """The 'train' (80%) or 'validation' (held-out 20%, chosen by `seed`) split.

  data 'digits': input_pipeline.digits (grey); 'folder': a folder of images in class
  folders (DIR/<class>/*.png), whose folder names are the labels, read with `channels`
  channels (1 grey, 3 colour).
  """
  config = ml_collections.ConfigDict(dict(
      seed=seed, split=split, **data_fields(data, image_size, data_path, channels)))
  ds = input_pipeline.load(config)
  if ds.read_labels is None or ds.label_names not in (('digit',), ('class',)):
    raise errors.DataError(
        f'the feature classifier needs class labels: put the images of {data_path} in '
        'one folder per class (DIR/<class>/*.png)')
  idx = np.arange(ds.num_examples)
  images = ds.batch(idx, np.random.default_rng(seed)).astype(np.float32)
  return Split(images, ds.read_labels(idx)[:, 0].astype(np.int32))


def digits_split(split: str, seed: int = 0, image_size: int = 16) -> Split:
  """The 'train' (80%) or 'validation' (held-out 20%) digits of input_pipeline.digits."""
  return load_split(split, seed, data='digits', image_size=image_size)


# ------------------------------------------------------------------------ classifier


class DigitClassifier(nn.Module):
  """images [B, H, W, C] -> (logits [B, classes], features [B, 64]); grey or colour.

  conv 16 (3x3) - conv 32 (3x3, stride 2) - dense 64 (the feature layer) - dense 10.
  """

  features: int = FEATURE_DIM
  num_classes: int = NUM_CLASSES

  @nn.compact
  def __call__(self, x: jax.Array):
    x = nn.relu(nn.Conv(16, (3, 3))(x))
    x = nn.relu(nn.Conv(32, (3, 3), strides=(2, 2))(x))
    x = x.reshape(x.shape[0], -1)
    f = nn.relu(nn.Dense(self.features)(x))
    return nn.Dense(self.num_classes)(f), f


@dataclasses.dataclass
class Classifier:
  """A trained DigitClassifier: its parameters, jitted forward pass and scores.

  `scale` is set once so that the held-out digits' features have unit root mean
  square: the kernel of KID assumes features of order 1, and FD scales with it alike.
  """

  params: Any
  apply: Callable[[Any, jax.Array], tuple[jax.Array, jax.Array]]
  steps: int
  num_classes: int = NUM_CLASSES
  heldout_accuracy: float = float('nan')
  scale: float = 1.0

  def features(self, images: np.ndarray) -> np.ndarray:
    """Penultimate activations times `scale`, float64 [n, 64]."""
    f = batched(lambda x: self.apply(self.params, x)[1], images).astype(np.float64)
    return f * self.scale

  def predict(self, images: np.ndarray) -> np.ndarray:
    """Predicted classes, int [n]."""
    return batched(lambda x: jnp.argmax(self.apply(self.params, x)[0], -1), images)

  def probabilities(self, images: np.ndarray) -> np.ndarray:
    """Class probabilities (the softmax of the logits), float [n, num_classes]."""
    return batched(lambda x: jax.nn.softmax(self.apply(self.params, x)[0], -1), images)


def train_classifier(train: Split, heldout: Split, *, steps: int = 400,
                     batch_size: int = 64, learning_rate: float = 1e-3,
                     seed: int = 0) -> Classifier:
  """Trains DigitClassifier with Adam on `train`; scores and scales it on `heldout`."""
  num_classes = int(max(train.labels.max(), heldout.labels.max())) + 1
  module = DigitClassifier(num_classes=num_classes)
  params = module.init(jax.random.PRNGKey(seed), jnp.zeros((1,) + train.images.shape[1:]))
  params = params['params']
  tx = optax.adam(learning_rate)
  opt_state = tx.init(params)

  def loss_fn(p, x, y):
    logits, _ = module.apply({'params': p}, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

  @jax.jit
  def step(p, s, x, y):
    grads = jax.grad(loss_fn)(p, x, y)
    updates, s = tx.update(grads, s, p)
    return optax.apply_updates(p, updates), s

  rng = np.random.default_rng([seed, 11])
  n = len(train.images)
  for _ in range(steps):
    idx = rng.choice(n, min(batch_size, n), replace=False)
    params, opt_state = step(params, opt_state, train.images[idx], train.labels[idx])
  apply = jax.jit(lambda p, x: module.apply({'params': p}, x))
  clf = Classifier(params, apply, steps, num_classes)
  clf.heldout_accuracy = float(np.mean(clf.predict(heldout.images) == heldout.labels))
  rms = float(np.sqrt(np.mean(clf.features(heldout.images) ** 2)))
  clf.scale = 1.0 / rms if rms > 0 else 1.0
  return clf


def seed_classifier(seed: int, *, steps: int = 400, **split_args):
  """compare's split and classifier for `seed`: (train, heldout, classifier, the held-out
  images' features). `split_args`: data, image_size, data_path, channels (load_split)."""
  train = load_split('train', seed, **split_args)
  heldout = load_split('validation', seed, **split_args)
  clf = train_classifier(train, heldout, steps=steps, seed=seed)
  return train, heldout, clf, clf.features(heldout.images)
