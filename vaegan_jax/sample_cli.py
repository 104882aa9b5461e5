"""Images from a trained workdir: prior samples, reconstructions, interpolations.

The library half of `sample.py`. Everything comes from the workdir alone: the config
that train.py saved beside the checkpoints (config.json) and an orbax checkpoint
(the latest, or `step`). BatchNorm runs in eval mode (running statistics). A run that
keeps a moving average of its encoder and decoder (config.ema_decay > 0) is sampled
with the averaged parameters unless `ema=False` (sample.py --no_ema).

Modes (`num` = N):
  sample:       N decoded codes; a square grid (a conditional model: with labels, see
                `label_rows`, and the prior's codes). `sampler='prior'` (the paper's):
                z ~ N(0, prior_scale^2 I) drawn from PRNGKey(seed). `sampler='gmm'`
                (models with an encoder): z from the ex-post Gaussian mixture of the
                posterior means of the first mixture.FIT_IMAGES training images
                (latent_density; Ghosh et al. 2020), which the trainer stores beside
                each checkpoint in WORKDIR/latent_gmm/ (vaegan_jax/mixture.py; fitted
                from the training data on first use where it is missing).
                `sampler='auto'` (the default): for the VAE-GAN the run's
                config.auto_sampler (default 'channels': the prior for colour
                images, the mixture for grey ones), 'gmm' for the other models with an encoder,
                'prior' for those without; when the mixture is neither stored nor can
                be fitted (the training data is not there), one warning line and the
                prior.
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
from vaegan_jax import errors
from vaegan_jax import input_pipeline
from vaegan_jax import labels as labels_lib
from vaegan_jax import latent_density
from vaegan_jax import mixture
from vaegan_jax import objectives
from vaegan_jax import sampling
from vaegan_jax import train_state as ts

MODES = ('sample', 'reconstruct', 'interpolate')
SAMPLERS = ('auto', 'prior', 'gmm')
# 'auto': config.auto_sampler for a model with an encoder. The mixture's samples score
# better than the prior's for every model with an encoder on real MNIST (3 seeds), the
# VAE-GAN's prior samples better on colour photographs (docs/colour.md), hence the
# default config's auto_sampler='channels'.
DEFAULT_SAMPLER = 'auto'
INTERPOLATION_STEPS = 8


UsageError = errors.UsageError


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
    raise errors.CheckpointError(f'workdir {workdir} does not exist')
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


def _data(config, n: int, ds=None) -> np.ndarray:
  """The first `n` training images, float32 [n, H, W, C] in [-1, 1] (deterministic);
  `ds`: the config's data set when the caller has loaded it already."""
  ds = input_pipeline.load(config) if ds is None else ds
  if n > ds.num_examples:
    raise UsageError(f'--num={n} needs {n} data images but {config.dataset} has '
                     f'{ds.num_examples}')
  return ds.batch(np.arange(n), np.random.default_rng(config.seed)).astype(np.float32)


def fit_gmm(config, nets, state, cache: str | None = None) -> dict:
  """The ex-post GMM of the codes of the first mixture.FIT_IMAGES training images (all
  of them if fewer): the one the trainer stored in the .npz `cache` when it wrote the
  checkpoint, else fitted from the training data now (and stored there)."""
  if cache:
    gmm = mixture.load(cache)
    if gmm is not None:
      return gmm
  if not sampling.has_encoder(nets, state):
    raise UsageError(f'model {config.model!r} has no encoder: --sampler=gmm fits a '
                     'mixture to encoded images (use --sampler=prior)')
  ds = input_pipeline.load(config)
  n = min(mixture.FIT_IMAGES, ds.num_examples)
  _warn(f'fitting a {latent_density.COMPONENTS}-component mixture to the codes of {n} '
        f'training images' + (f' (cached in {cache})' if cache else ''))
  try:
    gmm = mixture.fit(config, nets, state, ds)
  except latent_density.FitError as e:
    raise UsageError(f'--sampler=gmm: {e}') from e
  if cache:
    try:
      mixture.store(cache, gmm)
    except OSError as e:  # a read-only workdir: no cache, same samples
      _warn(f'warning: cannot cache the mixture in {cache}: {e.strerror or e}')
  return gmm


def gmm_cache(workdir: str, config, state, ema: bool = True) -> str:
  """Where the mixture of a checkpoint's codes is kept: WORKDIR/latent_gmm/<step>.npz
  (<step>_raw.npz for the raw parameters of a run that also keeps averaged ones)."""
  return mixture.path(workdir, config, int(state.step), ema)


def auto_sampler(config, nets, state) -> str:
  """What sampler='auto' draws from: 'prior' for a model without an encoder, else the
  model's own choice (objectives.Model.sampler): 'gmm' for the VAE and the AAE, whose
  decoders never see prior codes (their mixture's samples were the better ones on MNIST
  and on colour photographs alike); for the VAE-GAN, whose decoder the GAN term trains
  on prior codes, config.auto_sampler, where 'channels' means 'prior' for colour images
  and 'gmm' for grey ones ('gmm' for a run saved before the field)."""
  if not sampling.has_encoder(nets, state):
    return 'prior'
  choice = objectives.get_model(config.model).sampler
  if choice == 'config':
    choice = config.get('auto_sampler', 'gmm')
  if choice == 'channels':
    return 'prior' if config.channels > 1 else 'gmm'
  return choice


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
  fitted or read from `cache`, see fit_gmm); 'auto' is auto_sampler's choice, and
  'prior' where the mixture cannot be fitted (a warning line says why)."""
  check_sampler(sampler)
  auto = sampler == 'auto'
  if auto:
    sampler = auto_sampler(config, nets, state)
  if sampler == 'gmm':
    try:
      gmm = fit_gmm(config, nets, state, cache)
    except (UsageError, errors.DataError) as e:
      if not auto:
        raise
      _warn(f'warning: no codes\' mixture ({e}); sampling from the prior instead '
            '(--sampler=prior to choose it)')
    else:
      return latent_density.sample(gmm, num, seed), 'gmm'
  return np.asarray(sampling.prior_z(config, jax.random.PRNGKey(seed), num)), 'prior'


def _label_data(config):
  """The training set with batches' labels as y (nothing hidden)."""
  return labels_lib.prepare(config, input_pipeline.load(config), hide=False)


def training_labels(config, num: int, seed: int) -> np.ndarray:
  """`num` label rows y drawn (with replacement, from `seed`) from the labelled training
  examples; class labels come back sorted, so a grid shows the classes in order."""
  ds = _label_data(config)
  y = ds.read_labels(np.arange(ds.num_examples))
  y = y[np.any(y != 0, axis=1)]
  if not len(y):
    raise UsageError(f'{config.dataset} has no labelled training example to draw from: '
                     'give --labels')
  y = y[np.random.default_rng([seed, 3]).integers(0, len(y), num)]
  if config.label_kind == 'classes':
    y = y[np.argsort(np.argmax(y, 1), kind='stable')]
  return y


def _read_label_file(path: str, config) -> np.ndarray:
  """Label rows [m, D] from a .npy or text file (one row of D numbers per line)."""
  try:
    rows = np.load(path) if path.endswith('.npy') else np.loadtxt(path, ndmin=2)
  except (OSError, ValueError) as e:
    raise UsageError(f'cannot read --labels file {path}: {e}') from e
  rows = np.asarray(rows, np.float32).reshape(-1, np.shape(rows)[-1] if np.ndim(rows) else 1)
  d = len(config.label_names)
  if rows.shape[1] != d or not len(rows):
    raise UsageError(f'--labels file {path} holds rows of {rows.shape[1]} values; this model '
                     f'takes {d} ({", ".join(config.label_names)})')
  return rows


def label_rows(config, spec: str | None, num: int, seed: int):
  """(y [num, D], grid columns or None) for a conditional model's `num` samples.

  spec None: drawn from the training labels (training_labels). Otherwise a --labels
  value (labels.parse: classes '7' or '3,5'; attributes 'Smiling=1,Male=-1', the
  unnamed ones drawn from the training labels) or a file of label rows; each row given
  fills one grid row.
  """
  if spec is None:
    return training_labels(config, num, seed), None
  if not isinstance(spec, str):  # label rows [m, D] (the Python API)
    return labels_lib.grid_rows(np.asarray(spec, np.float32), num)
  if os.path.exists(spec):
    return labels_lib.grid_rows(_read_label_file(spec, config), num)
  try:
    rows = labels_lib.parse(spec, config)
  except errors.ConfigError as e:
    raise UsageError(str(e)) from None
  if config.label_kind == 'classes':
    return labels_lib.grid_rows(rows, num)
  given = ~np.isnan(rows[0])
  y = training_labels(config, num, seed)  # the attributes not given keep drawn values
  y[:, given] = rows[0, given]
  return y, None


def check_labels(config, nets, spec: str | None) -> None:
  """One-line UsageErrors for --labels on a model that takes none."""
  if spec is not None and not sampling.is_conditional(nets):
    raise UsageError('--labels applies to conditional models (trained with '
                     '--config.conditional=True); this one takes no labels')


def _data_y(config, n: int):
  """Labels y [n, D] of the first n training images (None for a model without)."""
  if not config.get('conditional', False):
    return None
  return _label_data(config).read_labels(np.arange(n))


def samples(config, nets, state, sampler: str, num: int, seed: int,
            cache: str | None = None, label_spec=None):
  """(`num` decoded codes [num, H, W, C], the sampler used, the grid's layout: None
  (square), columns (a row per given label) or, for class labels drawn from the
  training set, each image's class (a row per class, see `class_grid`)).

  Codes from `codes`; a conditional model decodes prior codes (its mixture is not
  implemented) with the labels of `label_spec` (label_rows).
  """
  check_labels(config, nets, label_spec)
  if not sampling.is_conditional(nets):
    z, used = codes(config, nets, state, sampler, num, seed, cache)
    return sampling.decode_all(nets, state, z), used, None
  if sampler == 'gmm':
    raise UsageError('--sampler=gmm is not implemented for conditional models: use '
                     '--sampler=prior')
  y, cols = label_rows(config, label_spec, num, seed)
  z, used = codes(config, nets, state, 'prior', num, seed, cache)
  images = sampling.decode_all(nets, state, z, y.astype(np.float32))
  if cols is None and config.label_kind == 'classes':
    cols = np.argmax(y, 1)
  return images, used, cols


def class_grid(images: np.ndarray, classes: np.ndarray) -> np.ndarray:
  """A grid with one row per class (in order), white tiles after a row's last image."""
  present = np.unique(classes)
  cols = max(int(np.sum(classes == c)) for c in present)
  tiles = []
  for c in present:
    row = images[classes == c]
    tiles += [row, np.ones((cols - len(row),) + images.shape[1:], images.dtype)]
  return sampling.grid(np.concatenate(tiles), cols=cols)


def generate(config, nets, state, mode: str, num: int, seed: int,
             sampler: str = DEFAULT_SAMPLER, gmm_cache: str | None = None,
             label_spec: str | None = None):
  """(generated images [M, H, W, C], uint8 grid) for one mode; see the module doc.
  A conditional model's samples take the labels of `label_spec` (label_rows); its
  reconstructions and interpolations the data images' own labels."""
  check_labels(config, nets, label_spec)
  if mode == 'sample':
    images, _, layout = samples(config, nets, state, sampler, num, seed, gmm_cache,
                                label_spec)
    if isinstance(layout, np.ndarray):
      return images, class_grid(images, layout)
    return images, sampling.grid(images, layout)
  if label_spec is not None:
    raise UsageError(f'--labels applies to --mode=sample (got --mode={mode}); '
                     'reconstructions use the images\' own labels')
  if mode == 'reconstruct':
    if not sampling.has_encoder(nets, state):
      raise UsageError(f'model {config.model!r} has no encoder: --mode=reconstruct '
                       'needs one (use --mode=sample or interpolate)')
    x = _data(config, num)
    images = sampling.reconstruct_all(nets, state, x, _data_y(config, num))
    return images, sampling.side_by_side(x, images)
  if mode == 'interpolate':
    rows = max(1, num // INTERPOLATION_STEPS)
    y = None
    if sampling.has_encoder(nets, state):
      y2 = _data_y(config, 2 * rows)
      z = sampling.encode_all(nets, state, _data(config, 2 * rows), y2)
      if y2 is not None:  # each path keeps the labels of its first image
        y = np.repeat(y2[0::2], INTERPOLATION_STEPS, axis=0)
    else:
      z = sampling.prior_z(config, jax.random.PRNGKey(seed), 2 * rows)
    images = np.asarray(jax.jit(
        lambda s, a, b, y: sampling.interpolations(nets, s, a, b, INTERPOLATION_STEPS,
                                                   y))(state, z[0::2], z[1::2], y))
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
                sampler: str = DEFAULT_SAMPLER, labels: str | None = None) -> np.ndarray:
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
    labels: a conditional model's labels for mode 'sample' (sample.py --labels: '7',
      '3,5', 'Smiling=1,Male=-1' or a file of label rows; see `label_rows`); None: drawn
      from the training set's labels.

  Returns:
    The generated images, float32 [M, H, W, C] in [-1, 1].

  Raises:
    UsageError, errors.CheckpointError, errors.DataError: with a
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
                          gmm_cache(workdir, config, state, ema), labels)
  images = images.astype(np.float32)
  write_output(out, lambda p: sampling.save_png(grid, p))
  if save_array:
    write_output(save_array, lambda p: np.save(p, images))
  return images
