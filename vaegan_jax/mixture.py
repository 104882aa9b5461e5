"""The codes' mixture of a checkpoint, kept in its workdir so that sampling needs no data.

The default sampler of a model with an encoder decodes codes drawn from a Gaussian
mixture fitted to the posterior means of the first FIT_IMAGES training images
(latent_density; Ghosh et al. 2020). The trainer fits it when it writes a checkpoint and
stores it as WORKDIR/latent_gmm/<step>.npz (<step>_raw.npz for the raw parameters of a
run that also keeps averaged ones), so `sample.py`, `evaluate` and `vaegan_jax.load()`
on a machine without the training data draw the same images as on the training machine.
A checkpoint without the file (one saved by a signal, or by an older version) gets it on
first use, from the training data.
"""

from __future__ import annotations

import os

import numpy as np

from vaegan_jax import latent_density
from vaegan_jax import sampling

FIT_IMAGES = 10000  # training images whose codes the mixture is fitted to (at most)
FOLDER = 'latent_gmm'


def path(workdir: str, config, step: int, ema: bool = True, folder: str = FOLDER) -> str:
  """WORKDIR/<folder>/<step>.npz (folder: latent_gmm), or <step>_raw.npz for the raw
  parameters of a run that also keeps a moving average of them (config.ema_decay > 0):
  where a checkpoint's derived arrays are kept."""
  raw = '_raw' if not ema and config.get('ema_decay', 0.0) > 0 else ''
  return os.path.join(workdir, folder, f'{int(step)}{raw}.npz')


def applies(config, nets, state) -> bool:
  """Whether the run has a mixture: a model with an encoder, not conditional (a
  conditional model samples its prior with labels)."""
  return (sampling.has_encoder(nets, state) and not sampling.is_conditional(nets))


def fit(config, nets, state, ds) -> dict:
  """The mixture of the codes of the first min(FIT_IMAGES, size) images of the
  training data set `ds` (read as ds.batch(indices, default_rng(config.seed)));
  latent_density.FitError when there are too few or they are not finite."""
  n = min(FIT_IMAGES, ds.num_examples)
  x = ds.batch(np.arange(n), np.random.default_rng(config.seed)).astype(np.float32)
  codes = sampling.encode_all(nets, state, x)
  return latent_density.fit(codes, seed=config.seed)


def load(file: str) -> dict | None:
  """The stored mixture, or None when there is none (or it cannot be read)."""
  try:
    with np.load(file, allow_pickle=False) as f:
      gmm = {k: f[k] for k in f.files}
  except (OSError, ValueError, EOFError):
    return None
  return gmm if {'weights', 'means', 'covariances'} <= set(gmm) else None


def store(file: str, gmm: dict) -> None:
  """Writes `gmm` to `file` atomically (a kill leaves the old file or none)."""
  os.makedirs(os.path.dirname(file), exist_ok=True)
  tmp = file + '.tmp.npz'
  np.savez(tmp, **gmm)
  os.replace(tmp, file)


def prune(workdir: str, keep_steps) -> None:
  """Removes the stored mixtures of checkpoints that are gone (max_to_keep)."""
  folder = os.path.join(workdir, FOLDER)
  if not os.path.isdir(folder):
    return
  keep = {int(s) for s in keep_steps}
  for name in os.listdir(folder):
    stem = name.split('.')[0].split('_')[0]
    if stem.isdigit() and int(stem) not in keep:
      try:
        os.remove(os.path.join(folder, name))
      except OSError:
        pass


def write_for_checkpoint(config, nets, state, ds, workdir: str, averaged) -> list[str]:
  """Fits and stores the mixture of the checkpointed `state` (the averaged parameters'
  via `averaged(state)` and, for a run that keeps both, the raw ones'); returns the
  files written. A run without a mixture (see `applies`), or whose codes cannot be
  fitted (too few images), writes nothing: sampling then fits it when asked."""
  if not applies(config, nets, state):
    return []
  written = []
  variants = [(True, averaged(state))]
  if config.get('ema_decay', 0.0) > 0:
    variants.append((False, state))
  for ema, s in variants:
    try:
      gmm = fit(config, nets, s, ds)
    except latent_density.FitError:
      return written
    file = path(workdir, config, int(state.step), ema)
    store(file, gmm)
    written.append(file)
  return written
