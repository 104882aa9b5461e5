"""Scores of the models that use labels (vaegan_jax/labels.py): paper Table 1 and the
auxiliary classifier's accuracy. `python -m vaegan_jax.attributes --workdir W --evaluate`.

Conditional models (config.conditional), like the paper's Table 1 (section 4.2): an
attribute predictor is trained on the real training images (for classes compare's digit
classifier, vaegan_jax/classifier.py, on the same images; for attributes the same small
CNN with one sigmoid output per attribute); the model generates one image per held-out
label vector (prior codes, seeded); the predictor's output for each generated image
(class probabilities, or 2 * sigmoid - 1 per attribute) is compared with the requested
y: mean cosine similarity, mean squared error per entry, and accuracy (argmax for
classes, sign per attribute), and the FD of the generated images to the held-out ones
in the predictor's penultimate features. The same numbers for the held-out real
images (their own labels) are the ceiling the predictor allows.

Auxiliary heads (config.aux_weight > 0): the head's accuracy on the held-out images;
with `baseline`, beside a network of the same architecture (the discriminator and its
head) trained as a plain classifier on the labelled training examples alone (the ones
config.labeled_fraction keeps), with the run's optimizer, batch size and step count.
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

from vaegan_jax import classifier
from vaegan_jax import input_pipeline
from vaegan_jax import labels
from vaegan_jax import live_eval
from vaegan_jax import metrics
from vaegan_jax import networks
from vaegan_jax import objectives
from vaegan_jax import sampling
from vaegan_jax import train_state as ts

MAX_IMAGES = 10000  # training images for the predictor, held-out images scored


def _warn(msg: str) -> None:
  print(msg, file=sys.stderr, flush=True)


def labelled_images(config, split: str, *, hide: bool = False, limit: int = MAX_IMAGES):
  """(images [n, H, W, C], y [n, D]) of the labelled examples of a split: 'train' (the
  run's data; `hide`: without the labels config.labeled_fraction hides) or 'heldout'
  (live_eval.heldout's split, all labels)."""
  if split == 'train':
    c = config.copy_and_resolve_references()
    c.random_flip = False
    ds = input_pipeline.load(c)
  else:
    ds, name = live_eval.heldout(config)
    if name == config.split:
      _warn(f'note: {config.dataset} has no held-out split here; scoring the training '
            'images (set --config.val_fraction > 0 for one)')
  ds = labels.prepare(config, ds, hide=hide)
  idx = np.arange(ds.num_examples)
  y = ds.read_labels(idx)
  idx = idx[np.any(y != 0, axis=1)][:limit]
  images = ds.batch(idx, np.random.default_rng(config.seed)).astype(np.float32)
  return images, y[idx]


def scores(requested: np.ndarray, predicted: np.ndarray, kind: str) -> dict:
  """Table 1's numbers: mean cosine similarity and mean squared error per entry between
  requested labels and predictions, and accuracy (argmax for classes, sign for
  attributes)."""
  r, p = np.asarray(requested, np.float64), np.asarray(predicted, np.float64)
  cos = np.sum(r * p, 1) / np.maximum(
      np.linalg.norm(r, axis=1) * np.linalg.norm(p, axis=1), 1e-12)
  if kind == 'classes':
    accuracy = np.mean(np.argmax(r, 1) == np.argmax(p, 1))
  else:
    accuracy = np.mean(np.sign(p) == np.sign(r))
  return {'cosine': float(np.mean(cos)), 'mse': float(np.mean((r - p) ** 2)),
          'accuracy': float(accuracy), 'n': int(len(r))}


def train_predictor(images: np.ndarray, y: np.ndarray, kind: str, *, steps: int = 400,
                    seed: int = 0, batch_size: int = 64):
  """A DigitClassifier-shaped CNN trained on labelled images: (predict(images) -> class
  probabilities [n, K] ('classes') or 2 * sigmoid - 1 [n, A] ('attributes'),
  features(images) -> its penultimate activations [n, 64] (for classes compare's scaled
  features), the features FD is taken in)."""
  if kind == 'classes':
    split = classifier.Split(images, np.argmax(y, 1).astype(np.int32))
    clf = classifier.train_classifier(split, split, steps=steps, seed=seed)
    return lambda x: classifier.batched(
        lambda v: jax.nn.softmax(clf.apply(clf.params, v)[0]), x), clf.features
  module = classifier.DigitClassifier(num_classes=y.shape[1])
  params = module.init(jax.random.PRNGKey(seed), jnp.zeros((1,) + images.shape[1:]))
  params = params['params']
  tx = optax.adam(1e-3)
  opt_state = tx.init(params)

  def loss_fn(p, x, t):
    logits, _ = module.apply({'params': p}, x)
    return optax.sigmoid_binary_cross_entropy(logits, (t + 1) / 2).mean()

  @jax.jit
  def step(p, s, x, t):
    updates, s = tx.update(jax.grad(loss_fn)(p, x, t), s, p)
    return optax.apply_updates(p, updates), s

  rng = np.random.default_rng([seed, 12])
  for _ in range(steps):
    idx = rng.choice(len(images), min(batch_size, len(images)), replace=False)
    params, opt_state = step(params, opt_state, images[idx], y[idx])
  apply = jax.jit(lambda v: module.apply({'params': params}, v))
  return (lambda x: classifier.batched(lambda v: 2 * jax.nn.sigmoid(apply(v)[0]) - 1, x),
          lambda x: classifier.batched(lambda v: apply(v)[1], x).astype(np.float64))


def conditional_scores(config, nets, state, *, seed: int = 0,
                       predictor_steps: int = 400) -> dict:
  """{'generated': scores, 'heldout': scores, ...} of a conditional model (module doc).
  'generated' also has 'fd': the Frechet distance, in the predictor's features, to the
  held-out images (to compare models on the same split; no floor is given: the only
  other real images, the training ones, trained the predictor)."""
  kind = config.label_kind
  train_x, train_y = labelled_images(config, 'train')
  predict, features = train_predictor(train_x, train_y, kind, steps=predictor_steps,
                                      seed=config.seed)
  held_x, held_y = labelled_images(config, 'heldout')
  z = np.asarray(sampling.prior_z(config, jax.random.PRNGKey(seed), len(held_y)))
  gen = sampling.decode_all(nets, state, z, held_y.astype(np.float32))
  out = {'kind': kind, 'generated': scores(held_y, predict(gen), kind),
         'heldout': scores(held_y, predict(held_x), kind)}
  out['generated']['fd'] = metrics.frechet_distance(features(gen), features(held_x))
  return out


def head_predict(nets, state, images: np.ndarray, params=None, batch_stats=None):
  """The auxiliary head's logits [n, K] on images (eval-mode BatchNorm)."""
  params = state.params['discriminator'] if params is None else params
  batch_stats = state.batch_stats['discriminator'] if batch_stats is None else batch_stats
  fn = jax.jit(lambda x: networks.apply(nets.discriminator, params, batch_stats, x,
                                        False)[0][2])
  return classifier.batched(fn, images)


def head_accuracy(logits: np.ndarray, y: np.ndarray, kind: str) -> float:
  """Accuracy of head logits against labels y (argmax, or sign per attribute)."""
  if kind == 'classes':
    return float(np.mean(np.argmax(logits, 1) == np.argmax(y, 1)))
  return float(np.mean((logits > 0) == (y > 0)))


def supervised_baseline(config, train_x, train_y) -> tuple:
  """(params, batch_stats) of the discriminator and head trained on (train_x, train_y)
  alone: label loss only, the run's optimizer, batch size and step count."""
  nets = objectives.build_networks(config)
  module = nets.discriminator
  params, batch_stats = networks.init_variables(nets, jax.random.PRNGKey(config.seed),
                                                config)
  params, batch_stats = params['discriminator'], batch_stats['discriminator']
  tx = ts.make_optimizer(config)
  opt_state = tx.init(params)

  def loss_fn(p, bs, x, y):
    (_, _, logits), new_bs = networks.apply(module, p, bs, x, True)
    per_example, mask = objectives.L.label_loss(logits, y, config.label_kind)
    return objectives.L.masked_mean(per_example, mask), new_bs

  @jax.jit
  def step(p, bs, s, x, y):
    (_, bs), g = jax.value_and_grad(loss_fn, has_aux=True)(p, bs, x, y)
    updates, s = tx.update(g, s, p)
    return optax.apply_updates(p, updates), bs, s

  rng = np.random.default_rng([config.seed, 13])
  b = min(config.batch_size, len(train_x))
  for _ in range(int(config.num_train_steps)):
    idx = rng.choice(len(train_x), b, replace=False)
    params, batch_stats, opt_state = step(params, batch_stats, opt_state, train_x[idx],
                                          train_y[idx])
  return params, batch_stats


def aux_scores(config, nets, state, *, baseline: bool = False) -> dict:
  """{'head': held-out accuracy, 'labelled': n, ['baseline': accuracy]} (module doc)."""
  kind = config.label_kind
  held_x, held_y = labelled_images(config, 'heldout')
  out = {'kind': kind, 'labeled_fraction': float(config.labeled_fraction),
         'head': head_accuracy(head_predict(nets, state, held_x), held_y, kind),
         'n_heldout': int(len(held_y))}
  train_x, train_y = labelled_images(config, 'train', hide=True, limit=10 ** 9)
  out['labelled'] = int(len(train_y))
  if baseline:
    _warn(f'training the baseline: the same network on the {len(train_y)} labelled '
          f'training images alone, {config.num_train_steps} steps')
    p, bs = supervised_baseline(config, train_x, train_y)
    out['baseline'] = head_accuracy(head_predict(nets, state, held_x, p, bs), held_y, kind)
  return out
