"""The Python API: train a run, load it, sample, encode, decode, interpolate, edit.

    import vaegan_jax
    model = vaegan_jax.load('runs/default')          # step=None (latest), ema=True
    images = model.sample(64, seed=0)                # float32 [64, H, W, C] in [-1, 1]
    codes = model.encode(images)                     # posterior means [64, Z]
    recon = model.reconstruct(images)                # == model.decode(model.encode(images))

Arrays in may be NumPy or JAX, float in [-1, 1] or uint8 in [0, 255]; arrays out are
NumPy float32. Any batch size: the networks run in fixed chunks of CHUNK rows (the last
padded), so each method compiles once. `model.sample(n, seed=s)` is the array of
`sample.py --num n --seed s --save_array` (both call sample_cli.samples). Everything
comes from the workdir (config.json, the checkpoint, the codes' mixture the trainer
stored beside it: vaegan_jax/mixture.py); only `edit` reads the training labels, once
per checkpoint (then cached in WORKDIR/attribute_vectors/). Bad input raises a
errors.ConfigError (or errors.DataError, errors.CheckpointError)
whose message is one line saying what is wrong.
"""

from __future__ import annotations

import os

from absl import logging
import numpy as np

from vaegan_jax import attribute_vectors
from vaegan_jax import config_files
from vaegan_jax import errors
from vaegan_jax import labels as labels_lib
from vaegan_jax import objectives
from vaegan_jax import recipes
from vaegan_jax import sample_cli
from vaegan_jax import sampling
from vaegan_jax import train_state as ts
from vaegan_jax import trainer

CHUNK = sampling.CHUNK  # rows per call of a jitted network
UsageError = errors.UsageError


def get_config(name_or_path: str = 'default', **overrides):
  """A config: a shipped config's name ('default', 'celeba', 'mnist', ...; see
  `vaegan_jax.config_files.names()`) or the path of a file with get_config(), with
  `overrides` (field=value) applied. Setting `model` switches to that model's training
  recipe (vaegan_jax/recipes.py) as `--config.model=X` does, except the fields also
  given. The config is locked: a misspelt field raises."""
  path = config_files.path(name_or_path)
  try:
    config = config_files.load(path)
  except (OSError, ImportError, SyntaxError, AttributeError) as e:
    raise errors.ConfigError(f'cannot load config {path}: {e}') from e
  config.lock()
  if 'model' in overrides:
    recipes.switch(config, overrides['model'], keep=set(overrides))
  for key, value in overrides.items():
    if key not in config:
      raise errors.ConfigError(f'config has no field {key!r}')
    config[key] = value
  return config


def train(config, workdir: str, **kwargs) -> 'Model':
  """Trains `config` (a ConfigDict, or a name or path for get_config) in `workdir`, or
  resumes the run there; what train.py calls. Returns the trained Model (the averaged
  parameters of a run that keeps them). kwargs go to trainer.train_and_evaluate (out=,
  write_summaries=, on_log=)."""
  if isinstance(config, (str, os.PathLike)):
    config = get_config(os.fspath(config))
  state = trainer.train_and_evaluate(config, workdir, **kwargs)
  return Model(config, objectives.build_networks(config), ts.averaged(state), workdir)


def load(workdir: str, step: int | None = None, ema: bool = True) -> 'Model':
  """The run in `workdir` at checkpoint `step` (None: the newest that restores); with
  `ema` the averaged parameters of a run that keeps them (config.ema_decay > 0)."""
  verbosity = logging.get_verbosity()
  logging.set_verbosity(logging.ERROR)  # orbax's notes on a read-only manager
  try:
    config, nets, state = sample_cli.restore(workdir, step, ema=ema)
  finally:
    logging.set_verbosity(verbosity)
  return Model(config, nets, state, workdir, ema)


def save_grid(images, path: str, cols: int | None = None) -> str:
  """Writes images [N, H, W, C] (or [N, S, H, W, C]: a row per image) in [-1, 1] as a
  PNG grid; returns the path."""
  images = np.asarray(images, np.float32)
  if images.ndim == 5:
    cols = images.shape[1]
    images = images.reshape((-1,) + images.shape[2:])
  sample_cli.write_output(path, lambda p: sampling.save_png(sampling.grid(images, cols), p))
  return path


class Model:
  """A trained run: its config, networks and (eval-mode) parameters at one step."""

  def __init__(self, config, nets, state, workdir: str | None = None, ema: bool = True):
    self.config, self.nets, self.state = config, nets, state
    self.workdir, self.ema = workdir, ema
    self.step = int(state.step)
    self.image_shape = (int(config.image_size), int(config.image_size),
                        int(config.channels))

  def __repr__(self):
    return (f'Model({self.config.model}, step {self.step}, images '
            f'{"x".join(map(str, self.image_shape))}, latent {self.config.latent_dim}, '
            f'workdir {self.workdir!r})')

  @property
  def has_encoder(self) -> bool:
    return sampling.has_encoder(self.nets, self.state)

  @property
  def conditional(self) -> bool:
    return sampling.is_conditional(self.nets)

  # ------------------------------------------------------------------ inputs

  def _images(self, images, what: str = 'images') -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 3:
      x = x[None]
    if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
      raise UsageError(f'{what} of shape {tuple(np.shape(images))} do not fit this model: '
                       f'it takes [N, {", ".join(map(str, self.image_shape))}] (or one '
                       'image without N)')
    if x.dtype == np.uint8:
      return x.astype(np.float32) / 127.5 - 1.0
    if not np.issubdtype(x.dtype, np.floating):
      raise UsageError(f'{what} must be float in [-1, 1] or uint8 in [0, 255] (got '
                       f'{x.dtype})')
    return x.astype(np.float32)

  def _codes(self, codes) -> np.ndarray:
    z = np.asarray(codes, np.float32)
    if z.ndim == 1:
      z = z[None]
    if z.ndim != 2 or z.shape[1] != int(self.config.latent_dim):
      raise UsageError(f'codes of shape {np.shape(codes)} do not fit this model: it takes '
                       f'[N, {self.config.latent_dim}]')
    return z

  def _labels(self, labels, num: int) -> np.ndarray | None:
    """Label rows y [num, D] for a conditional model (None for another)."""
    if not self.conditional:
      if labels is not None:
        raise UsageError('labels= applies to conditional models (trained with '
                         'conditional=True); this one takes no labels')
      return None
    if labels is None:
      raise UsageError('this model is conditional: give labels= (a class such as "7", '
                       f'or rows [N, {len(self.config.label_names)}])')
    if isinstance(labels, str):
      try:
        rows = labels_lib.parse(labels, self.config)
      except errors.ConfigError as e:
        raise UsageError(str(e)) from None
      if np.isnan(rows).any():
        raise UsageError(f'labels={labels!r} leaves attributes unset: give every one, '
                         'or rows of all of them')
    else:
      rows = np.asarray(labels, np.float32).reshape(-1, len(self.config.label_names))
    if len(rows) == 1:
      rows = np.repeat(rows, num, axis=0)
    if len(rows) != num:
      raise UsageError(f'{len(rows)} label rows for {num} images: give one row or {num}')
    return rows.astype(np.float32)

  def _need_encoder(self, what: str) -> None:
    if not self.has_encoder:
      raise UsageError(f'model {self.config.model!r} has no encoder: {what} needs one '
                       '(decode or interpolate codes instead)')

  # ------------------------------------------------------------------ methods

  def sample(self, num: int, seed: int = 0, sampler: str = 'auto', labels=None):
    """`num` generated images, float32 [num, H, W, C] in [-1, 1]: decoded codes from
    `sampler` ('auto': the run's default, see sample_cli.auto_sampler; 'prior':
    z ~ N(0, prior_scale^2 I) from PRNGKey(seed); 'gmm': the codes' mixture). A
    conditional model takes `labels` (a spec such as '7' or 'Smiling=1', or rows
    [num, D]); None: drawn from the training labels, as sample.py."""
    if not isinstance(num, int) or num < 1:
      raise UsageError(f'num must be an int >= 1 (got {num!r})')
    spec = labels
    if labels is not None and not isinstance(labels, str):
      spec = self._labels(labels, num)
    cache = (sample_cli.gmm_cache(self.workdir, self.config, self.state, self.ema)
             if self.workdir else None)
    images, _, _ = sample_cli.samples(self.config, self.nets, self.state, sampler, num,
                                      seed, cache, spec)
    return np.asarray(images, np.float32)

  def encode(self, images, labels=None) -> np.ndarray:
    """Posterior means [N, Z] of images [N, H, W, C] (one image [H, W, C]: [Z])."""
    self._need_encoder('encode')
    x = self._images(images)
    y = self._labels(labels, len(x))
    z = np.asarray(sampling.encode_all(self.nets, self.state, x, y), np.float32)
    return z[0] if np.ndim(images) == 3 else z

  def decode(self, codes, labels=None) -> np.ndarray:
    """Images [N, H, W, C] in [-1, 1] of codes [N, Z] (one code [Z]: [H, W, C])."""
    z = self._codes(codes)
    y = self._labels(labels, len(z))
    x = np.asarray(sampling.decode_all(self.nets, self.state, z, y), np.float32)
    return x[0] if np.ndim(codes) == 1 else x

  def reconstruct(self, images, labels=None) -> np.ndarray:
    """decode(encode(images)): the decoded posterior means, [N, H, W, C]."""
    return self.decode(self.encode(images, labels), labels)

  def interpolate(self, a, b, steps: int = 8, labels=None) -> np.ndarray:
    """Decoded linear paths between two images (or two codes [Z]), both ends
    included: [steps, H, W, C]; between two batches of P: [P, steps, H, W, C]."""
    if not isinstance(steps, int) or steps < 2:
      raise UsageError(f'steps must be an int >= 2 (got {steps!r})')
    single = np.ndim(a) in (1, 3)
    za, zb = (self._codes(v) if np.ndim(v) <= 2 else self._codes(self.encode(v, labels))
              for v in (a, b))
    if za.shape != zb.shape:
      raise UsageError(f'interpolate: a and b hold {len(za)} and {len(zb)} items')
    z = np.asarray(sampling.linear_paths(za, zb, steps), np.float32)
    y = None
    if labels is not None:
      y = np.repeat(self._labels(labels, len(za)), steps, axis=0)
    x = self.decode(z, y)
    x = x.reshape((len(za), steps) + x.shape[1:])
    return x[0] if single else x

  def attribute_vectors(self) -> dict:
    """Every attribute's vector (attribute_vectors.vectors): mean code with the attribute
    minus mean code without, from the training images and labels (cached)."""
    self._need_encoder('an attribute vector')
    if self.conditional:
      raise UsageError('a conditional model takes its attributes as input: decode or '
                       'sample with labels= instead of edit')
    cache = (attribute_vectors.cache_path(self.workdir, self.config, self.state, self.ema)
             if self.workdir else None)
    return attribute_vectors.vectors(self.config, self.nets, self.state, cache)

  def edit(self, images, attribute, scale=1.0) -> np.ndarray:
    """decode(encode(images) + scale * v), v the vector of `attribute` (a class such as
    '7', an attribute name such as 'Smiling', or a column index): [N, H, W, C]; for a
    sequence of scales, [N, len(scale), H, W, C] (Larsen et al. 2016, sec. 4.1)."""
    vecs = self.attribute_vectors()
    column = attribute_vectors.resolve_attribute(str(attribute), vecs['kind'], vecs['names'])
    v = np.asarray(vecs['vectors'][column], np.float32)
    mu = self.encode(images)
    one = mu.ndim == 1
    mu = np.atleast_2d(mu)
    scales = np.atleast_1d(np.asarray(scale, np.float32))
    z = mu[:, None] + scales[None, :, None] * v
    x = self.decode(z.reshape(-1, z.shape[-1])).reshape(z.shape[:2] + self.image_shape)
    if np.ndim(scale) == 0:
      x = x[:, 0]
    return x[0] if one else x


__all__ = ['Model', 'get_config', 'load', 'save_grid', 'train']
