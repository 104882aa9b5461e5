"""Images from a trained workdir: prior samples, reconstructions, interpolations.

The library half of `sample.py`. Everything comes from the workdir alone: the config
that train.py saved beside the checkpoints (config.json) and an orbax checkpoint
(the latest, or `step`). BatchNorm runs in eval mode (running statistics). A run that
keeps a moving average of its encoder and decoder (config.ema_decay > 0) is sampled
with the averaged parameters unless `ema=False` (sample.py --no_ema).

Modes (`num` = N):
  sample:       N decoded codes; a square grid. `sampler='prior'` (the paper's):
                z ~ N(0, prior_scale^2 I) drawn from PRNGKey(seed). `sampler='gmm'`
                (models with an encoder): z from the ex-post Gaussian mixture of the
                posterior means of the first GMM_FIT_IMAGES training images
                (latent_density; Ghosh et al. 2020), fitted once per checkpoint and
                cached in WORKDIR/latent_gmm/. `sampler='auto'` (the default): 'gmm'
                for a model with an encoder, 'prior' for one without; when the
                mixture cannot be fitted (the training data is not there), one warning
                line and the prior.
  reconstruct:  the first N data images (deterministic) and their reconstructions
                (decoded posterior means, or codes of a deterministic encoder), side
                by side: each original is followed by its reconstruction in the next
                column. Needs an encoder.
  interpolate:  P = max(1, N // 8) rows of 8 images each: row i decodes the linear path
                between the posterior means of data images 2i and 2i + 1 (both ends
                included). A model without an encoder interpolates between pairs of prior
                samples drawn from PRNGKey(seed) instead.

The returned array (and --save_array) holds only generated images, float32
[M, H, W, C] in [-1, 1]: M = N for sample and reconstruct, 8 * P for interpolate.
"""

from __future__ import annotations

import os
import sys

import jax
import numpy as np

from vaegan_jax import checkpointing
from vaegan_jax import classifier
from vaegan_jax import input_pipeline
from vaegan_jax import latent_density
from vaegan_jax import objectives
from vaegan_jax import sampling
from vaegan_jax import train_state as ts
from vaegan_jax import validation

MODES = ('sample', 'reconstruct', 'interpolate')
SAMPLERS = ('auto', 'prior', 'gmm')
# The mixture's samples score better than the prior's for every model with an encoder
# (README "The family": real MNIST, 3 seeds); the paper's prior stays --sampler=prior.
DEFAULT_SAMPLER = 'auto'
GMM_FIT_IMAGES = 10000  # training images whose codes the ex-post mixture is fitted to
INTERPOLATION_STEPS = 8


class UsageError(validation.ConfigError):
  """A bad sampling argument; a ConfigError, so cli.run prints it as one line."""


def _warn(msg: str) -> None:
  print(msg, file=sys.stderr, flush=True)


def restore(workdir: str, step: int | None = None, warn=_warn, ema: bool = True):
  """(config, nets, state) of the run in `workdir` at `step` (default: the newest
  checkpoint that restores; `warn` gets one line per damaged newer one skipped).

  With `ema` (default) and a run that keeps a moving average of its parameters
  (config.ema_decay > 0), the state's parameters are the averaged ones.
  """
  if not workdir:
    raise UsageError('--workdir is required')
  if not os.path.isdir(workdir):
    raise checkpointing.CheckpointError(f'workdir {workdir} does not exist')
  config = checkpointing.load_config(workdir)
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  abstract = jax.eval_shape(lambda: ts.create(config, nets, txs))
  mngr = checkpointing.manager(workdir, read_only=True)
  try:
    state = checkpointing.restore(mngr, abstract, step, warn=warn)
  finally:
    mngr.close()
  return config, nets, ts.averaged(state) if ema else state


def _has_encoder(nets, state) -> bool:
  return nets.encoder is not None and 'encoder' in state.params


def _data(config, n: int, ds=None) -> np.ndarray:
  """The first `n` training images, float32 [n, H, W, C] in [-1, 1] (deterministic);
  `ds`: the config's data set when the caller has loaded it already."""
  ds = input_pipeline.load(config) if ds is None else ds
  if n > ds.num_examples:
    raise UsageError(f'--num={n} needs {n} data images but {config.dataset} has '
                     f'{ds.num_examples}')
  return ds.batch(np.arange(n), np.random.default_rng(config.seed)).astype(np.float32)


def fit_gmm(config, nets, state, cache: str | None = None) -> dict:
  """The ex-post GMM of the codes of the first GMM_FIT_IMAGES training images (all of
  them if fewer), read from / written to the .npz `cache` when given."""
  if cache and os.path.exists(cache):
    with np.load(cache) as f:
      return {k: f[k] for k in f.files}
  if not _has_encoder(nets, state):
    raise UsageError(f'model {config.model!r} has no encoder: --sampler=gmm fits a '
                     'mixture to encoded images (use --sampler=prior)')
  ds = input_pipeline.load(config)
  n = min(GMM_FIT_IMAGES, ds.num_examples)
  _warn(f'fitting a {latent_density.COMPONENTS}-component mixture to the codes of {n} '
        f'training images' + (f' (cached in {cache})' if cache else ''))
  encode = jax.jit(lambda s, x: sampling.encode(nets, s, x))
  codes = classifier.batched(lambda x: encode(state, x), _data(config, n, ds))
  try:
    gmm = latent_density.fit(codes, seed=config.seed)
  except latent_density.FitError as e:
    raise UsageError(f'--sampler=gmm: {e}') from e
  if cache:
    try:
      os.makedirs(os.path.dirname(cache), exist_ok=True)
      tmp = cache + '.tmp.npz'
      np.savez(tmp, **gmm)
      os.replace(tmp, cache)
    except OSError as e:  # a read-only workdir: no cache, same samples
      _warn(f'warning: cannot cache the mixture in {cache}: {e.strerror or e}')
  return gmm


def gmm_cache(workdir: str, config, state, ema: bool = True) -> str:
  """Where the mixture of a checkpoint's codes is cached: WORKDIR/latent_gmm/<step>.npz
  (<step>_raw.npz for the raw parameters of a run that also keeps averaged ones)."""
  raw = '_raw' if not ema and config.ema_decay > 0 else ''
  return os.path.join(workdir, 'latent_gmm', f'{int(state.step)}{raw}.npz')


def check_sampler(sampler: str, mode: str = 'sample') -> None:
  """One-line UsageErrors for an unknown sampler or a mixture asked for outside 'sample'."""
  if sampler not in SAMPLERS:
    raise UsageError(f'unknown --sampler {sampler!r}; choose one of {", ".join(SAMPLERS)}')
  if sampler == 'gmm' and mode != 'sample':
    raise UsageError(f'--sampler={sampler} applies to --mode=sample only (got '
                     f'--mode={mode})')


def codes(config, nets, state, sampler: str, num: int, seed: int,
          cache: str | None = None) -> tuple[np.ndarray, str]:
  """(`num` codes [num, Z] to decode, the sampler that drew them): prior draws from
  PRNGKey(seed) ('prior'), or draws from the mixture of the training codes ('gmm',
  fitted or read from `cache`, see fit_gmm); 'auto' is 'gmm' for a model with an
  encoder whose mixture can be fitted, else 'prior' (a warning line says why)."""
  check_sampler(sampler)
  auto = sampler == 'auto'
  if auto:
    sampler = 'gmm' if _has_encoder(nets, state) else 'prior'
  if sampler == 'gmm':
    try:
      gmm = fit_gmm(config, nets, state, cache)
    except (UsageError, input_pipeline.DataError) as e:
      if not auto:
        raise
      _warn(f'warning: no codes\' mixture ({e}); sampling from the prior instead '
            '(--sampler=prior to choose it)')
    else:
      return latent_density.sample(gmm, num, seed), 'gmm'
  return np.asarray(sampling.prior_z(config, jax.random.PRNGKey(seed), num)), 'prior'


def generate(config, nets, state, mode: str, num: int, seed: int,
             sampler: str = DEFAULT_SAMPLER, gmm_cache: str | None = None):
  """(generated images [M, H, W, C], uint8 grid) for one mode; see the module doc."""
  decode = jax.jit(lambda s, z: sampling.decode(nets, s, z))
  if mode == 'sample':
    z, _ = codes(config, nets, state, sampler, num, seed, gmm_cache)
    images = np.asarray(decode(state, z))
    return images, sampling.grid(images)
  if mode == 'reconstruct':
    if not _has_encoder(nets, state):
      raise UsageError(f'model {config.model!r} has no encoder: --mode=reconstruct '
                       'needs one (use --mode=sample or interpolate)')
    x = _data(config, num)
    images = np.asarray(jax.jit(
        lambda s, x: sampling.reconstructions(nets, s, x))(state, x))
    return images, sampling.side_by_side(x, images)
  if mode == 'interpolate':
    rows = max(1, num // INTERPOLATION_STEPS)
    if _has_encoder(nets, state):
      z = jax.jit(lambda s, x: sampling.encode(nets, s, x))(state, _data(config, 2 * rows))
    else:
      z = sampling.prior_z(config, jax.random.PRNGKey(seed), 2 * rows)
    images = np.asarray(jax.jit(
        lambda s, a, b: sampling.interpolations(nets, s, a, b, INTERPOLATION_STEPS))(
            state, z[0::2], z[1::2]))
    return images, sampling.grid(images, cols=INTERPOLATION_STEPS)
  raise UsageError(f'unknown --mode {mode!r}; choose one of {", ".join(MODES)}')


def write_output(path: str, write) -> None:
  """write(path) after making its folder; an OSError becomes one UsageError line."""
  try:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write(path)
  except OSError as e:
    raise UsageError(f'cannot write {path}: {e.strerror or e}') from e


def check_output(path: str) -> None:
  """A UsageError now, before any work, when `path` cannot become a file: it is a folder,
  or an existing part of its folder path is a file."""
  path = os.path.abspath(path)
  if os.path.isdir(path):
    raise UsageError(f'cannot write {path}: it is a folder')
  parent = os.path.dirname(path)
  while not os.path.exists(parent) and os.path.dirname(parent) != parent:
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    raise UsageError(f'cannot write {path}: {parent} is a file, not a folder')


def sample_main(workdir: str, step: int | None = None, num: int = 64, seed: int = 0,
                mode: str = 'sample', out: str | None = None,
                save_array: str | None = None, ema: bool = True,
                sampler: str = DEFAULT_SAMPLER) -> np.ndarray:
  """Writes the `mode` grid of the run in `workdir` to the PNG `out`.

  Args:
    workdir: a train.py workdir (config.json and checkpoints/).
    step: checkpoint step; None for the latest.
    num: number of images (interpolate: num // 8 rows of 8, at least one row).
    seed: seeds the prior (or mixture) samples.
    mode: 'sample', 'reconstruct' or 'interpolate'.
    out: PNG path of the grid (required).
    save_array: if set, also saves the generated images there (.npy, float32
      [M, H, W, C] in [-1, 1]; the originals of reconstruct are not included).
    ema: use the run's averaged parameters when it keeps them (config.ema_decay > 0);
      False: the raw ones.
    sampler: mode 'sample' only: 'prior', 'gmm' (the ex-post mixture of the
      training codes, cached in WORKDIR/latent_gmm/<step>[_raw].npz) or 'auto' (gmm
      where the model has an encoder; see `codes`).

  Returns:
    The generated images, float32 [M, H, W, C] in [-1, 1].

  Raises:
    UsageError, checkpointing.CheckpointError, input_pipeline.DataError: with a
    one-line message (cli.run prints it).
  """
  if mode not in MODES:
    raise UsageError(f'unknown --mode {mode!r}; choose one of {", ".join(MODES)}')
  if not isinstance(num, int) or num < 1:
    raise UsageError(f'--num must be >= 1 (got {num})')
  if not out:
    raise UsageError('--out is required (a .png path)')
  check_sampler(sampler, mode)
  for path in (out, save_array):
    if path:
      check_output(path)
  config, nets, state = restore(workdir, step, ema=ema)
  images, grid = generate(config, nets, state, mode, num, seed, sampler,
                          gmm_cache(workdir, config, state, ema))
  images = images.astype(np.float32)
  write_output(out, lambda p: sampling.save_png(grid, p))
  if save_array:
    write_output(save_array, lambda p: np.save(p, images))
  return images
