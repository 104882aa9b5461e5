"""FD/KID during training (config.eval_every), so a user sees a run improve or collapse.

Every `eval_every` steps (and at the last step) the trainer scores `eval_num` prior samples
of a fixed z (the averaged parameters when the run keeps them, as sample.py shows) against
`eval_num` held-out images with `eval_features` (vaegan_jax/features.py), plus the
reconstruction MSE of the held-out images for models with an encoder. Held out means the
data set's 'validation' split, else its 'test' split (tfds mnist/cifar10; digits and
folders need --config.val_fraction > 0 for one); without either the training images are
the reference, and the first line says so. Results go to the progress line (or a line
of their own at a step that logs nothing else), TensorBoard (eval/fd, eval/kid,
eval/recon_mse) and WORKDIR/eval.jsonl (one JSON object per evaluation). A conditional
model's samples are decoded with the held-out images' labels and its reconstructions
with their own. Numbers from a few thousand samples are biased upwards against those
from 10,000 (docs/evaluation.md, "How many samples"); use them to follow one run, and `python -m
vaegan_jax.evaluate` for numbers to report.
"""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np

from vaegan_jax import errors
from vaegan_jax import features as feats
from vaegan_jax import input_pipeline
from vaegan_jax import labels
from vaegan_jax import sampling
from vaegan_jax import scoring
from vaegan_jax import train_state as ts

LOG_FILE = 'eval.jsonl'


def heldout(config):
  """(data set, split name) of the images to score against: see the module doc."""
  for split in ('validation', 'test'):
    if split == config.split:
      continue
    c = config.copy_and_resolve_references()
    c.split, c.random_flip = split, False
    try:
      ds = input_pipeline.load(c)
    except errors.DataError:
      continue
    if ds.num_examples >= 2:
      return ds, split
  c = config.copy_and_resolve_references()
  c.random_flip = False
  return input_pipeline.load(c), config.split


class LiveEval:
  """Built once before training (reference features); called at evaluation steps."""

  def __init__(self, config, nets, workdir: str):
    self.nets = nets
    self.path = os.path.join(workdir, LOG_FILE)
    ds, self.split = heldout(config)
    n_ref = min(config.eval_num, ds.num_examples)
    self.x = ds.batch(np.arange(n_ref), np.random.default_rng(config.seed))
    # A colour folder: compare's classifier of its class folders (the digits' reads grey).
    folder = dict(data_path=config.data_path, image_size=config.image_size,
                  channels=3) if config.dataset == 'folder' and config.channels == 3 else None
    self.fn = feats.feature_fn(
        config.eval_features, self.x.shape[1:],
        inception_weights=config.eval_inception_weights or None,
        flag='--config.eval_features', folder=folder, seed=config.seed)
    self.z = np.asarray(sampling.prior_z(config, jax.random.PRNGKey(config.seed + 2),
                                         config.eval_num))
    self.features = config.eval_features
    y = self.y_z = None
    if sampling.is_conditional(nets):  # samples get the held-out images' labels
      y = labels.prepare(config, ds, hide=False).read_labels(np.arange(n_ref))
      self.y_z = np.resize(y, (config.eval_num, y.shape[1]))
    self.ref = scoring.reference(self.fn, self.x, y)
    note = '' if self.split != config.split else (
        ' (no held-out split: the training images; set --config.val_fraction > 0 to hold '
        'some out)')
    self.description = (
        f'live evaluation every {config.eval_every} steps: {config.eval_num} samples '
        f'against {n_ref} {self.split} images, {self.features} features{note}')

  def __call__(self, state, step: int) -> dict:
    """{'eval/fd': ..., 'eval/kid': ..., ['eval/recon_mse': ...]} of `state` (a host
    copy); appended to WORKDIR/eval.jsonl."""
    t = time.time()
    scores, _ = scoring.score(self.nets, ts.averaged(state), self.fn, self.ref, self.z,
                              self.y_z)
    out = {f'eval/{k}': v for k, v in scores.items()}
    with open(self.path, 'a') as f:
      f.write(json.dumps({'step': step, **{k[5:]: v for k, v in out.items()},
                          'features': self.features, 'n': len(self.z), 'n_ref': len(self.x),
                          'ref_split': self.split,
                          'seconds': round(time.time() - t, 2)}) + '\n')
    return out


def summary(results: dict) -> str:
  """'eval fd 12.3 kid 0.0123 recon_mse 0.0456' for the progress line."""
  return 'eval ' + ' '.join(f'{k[5:]} {v:.4g}' for k, v in results.items())
