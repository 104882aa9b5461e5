"""Trains the whole family on the digits with one budget and scores every model alike.

  python -m vaegan_jax.compare --data digits [--steps 2000] [--out runs/compare]
      [--models vae,dcgan,wgan,aae,vaegan] [--batch_size B] [--num_samples 1000]
      [--seed 0] [--classifier_steps 400]

The digits are split once (seed `--seed`): 80% train (1,438 images), 20% held out (359).
First a small CNN digit classifier is trained on the train split (a few seconds); its
64 penultimate activations (times one constant that gives the held-out digits' features
unit root mean square) are the feature space of the scores. Then each model is
trained from `configs/<model>_digits.py` for `--steps` steps on the train split alone,
in `OUT/<model>` (re-running the command resumes there), and scored on the held-out
split:

  FD:         Frechet distance between Gaussians fitted to the features of N prior
              samples (z = prior_scale * N(0, I), one fixed key) and of the held-out
              images; lower is better. The "real data" row scores min(N, 1438) train
              images the same way: the floor a perfect generator would reach with the
              same number of samples.
  KID:        unbiased squared MMD with the cubic polynomial kernel
              k(a, b) = (a.b / d + 1)^3 in the same features (0 in expectation for a
              perfect generator, whatever N).
  recon MSE:  mean squared error per pixel (images in [-1, 1]) of the decoded posterior
              means of the held-out images; only for models with an encoder.

OUT receives `samples.png` (a row of held-out digits, then one row of prior samples
per model, same z where the latent sizes agree), `results.md` (the table, also
printed at the end) and `results.json` (the same numbers). A model whose training
diverges gets a 'diverged' row and the others still run. Errors (an unknown model or
data set, a missing config file) print one line and exit 2.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
import time
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from vaegan_jax import input_pipeline
from vaegan_jax import objectives
from vaegan_jax import sampling
from vaegan_jax import trainer
from vaegan_jax import validation

MODELS = ('vae', 'dcgan', 'wgan', 'aae', 'vaegan')
DATA = ('digits',)
VAL_FRACTION = 0.2
IMAGE_SIZE = 16
NUM_CLASSES = 10
FEATURE_DIM = 64
SAMPLES_PER_ROW = 16  # images per row of samples.png
FIGURE_SCALE = 4  # nearest-neighbour upscaling of the 16x16 digits in samples.png
LABEL_WIDTH = 110  # pixels at the left of each row of samples.png for its name
CHUNK = 256  # examples per call of a jitted network (the last chunk is padded)

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UsageError(validation.ConfigError):
  """A bad compare argument; a ConfigError, so cli.run prints it as one line."""


# ------------------------------------------------------------------------------ data


@dataclasses.dataclass
class Split:
  """Images float32 [n, 16, 16, 1] in [-1, 1] and digit labels int32 [n] of one split."""

  images: np.ndarray
  labels: np.ndarray


def digits_split(split: str, seed: int = 0) -> Split:
  """The 'train' (80%) or 'validation' (held-out 20%) digits of input_pipeline.digits."""
  config = ml_collections.ConfigDict(dict(
      seed=seed, split=split, val_fraction=VAL_FRACTION, image_size=IMAGE_SIZE,
      channels=1, random_flip=False))
  ds = input_pipeline.digits(config)
  idx = np.arange(ds.num_examples)
  images = ds.batch(idx, np.random.default_rng(seed)).astype(np.float32)
  return Split(images, ds.read_labels(idx)[:, 0].astype(np.int32))


def _batched(fn: Callable[[np.ndarray], Any], x: np.ndarray,
             chunk: int = CHUNK) -> np.ndarray:
  """fn over x in chunks of `chunk` rows (the last padded), so fn compiles once."""
  out = []
  for i in range(0, len(x), chunk):
    part = np.asarray(x[i:i + chunk])
    m = len(part)
    if m < chunk:
      part = np.concatenate([part, np.zeros((chunk - m,) + part.shape[1:], part.dtype)])
    out.append(np.asarray(fn(part))[:m])
  return np.concatenate(out)


# ------------------------------------------------------------------------ classifier


class DigitClassifier(nn.Module):
  """images [B, 16, 16, 1] -> (logits [B, 10], features [B, 64]).

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
  heldout_accuracy: float = float('nan')
  scale: float = 1.0

  def features(self, images: np.ndarray) -> np.ndarray:
    """Penultimate activations times `scale`, float64 [n, 64]."""
    f = _batched(lambda x: self.apply(self.params, x)[1], images).astype(np.float64)
    return f * self.scale

  def predict(self, images: np.ndarray) -> np.ndarray:
    """Predicted digits, int [n]."""
    return _batched(lambda x: jnp.argmax(self.apply(self.params, x)[0], -1), images)


def train_classifier(train: Split, heldout: Split, *, steps: int = 400,
                     batch_size: int = 64, learning_rate: float = 1e-3,
                     seed: int = 0) -> Classifier:
  """Trains DigitClassifier with Adam on `train`; scores and scales it on `heldout`."""
  module = DigitClassifier()
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
  clf = Classifier(params, apply, steps)
  clf.heldout_accuracy = float(np.mean(clf.predict(heldout.images) == heldout.labels))
  rms = float(np.sqrt(np.mean(clf.features(heldout.images) ** 2)))
  clf.scale = 1.0 / rms if rms > 0 else 1.0
  return clf


# ---------------------------------------------------------------------------- scores


def _sqrtm_psd(c: np.ndarray) -> np.ndarray:
  """Square root of a symmetric positive semi-definite matrix (eigenvalues < 0 -> 0)."""
  w, v = np.linalg.eigh((c + c.T) / 2)
  return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(mean [d], covariance [d, d]) of features [n, d], in float64 (n - 1 normalised)."""
  f = np.asarray(features, np.float64)
  return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance_from_stats(mu1, cov1, mu2, cov2) -> float:
  """|mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr sqrt(C1 C2), the Frechet (2-Wasserstein)^2
  distance of two Gaussians.

  tr sqrt(C1 C2) = tr sqrt(S1 C2 S1) with S1 = sqrt(C1): S1 C2 S1 is symmetric PSD, so
  both roots come from symmetric eigendecompositions (no complex parts, no scipy).
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  cov1 = np.atleast_2d(cov1).astype(np.float64)
  cov2 = np.atleast_2d(cov2).astype(np.float64)
  s1 = _sqrtm_psd(cov1)
  m = s1 @ cov2 @ s1
  tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum()
  d = mu1 - mu2
  return float(max(d @ d + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_sqrt, 0.0))


def frechet_distance(features1: np.ndarray, features2: np.ndarray) -> float:
  """Frechet distance of Gaussians fitted to two feature sets [n1, d] and [n2, d]."""
  return frechet_distance_from_stats(*gaussian_stats(features1),
                                     *gaussian_stats(features2))


def kernel_distance(features1: np.ndarray, features2: np.ndarray) -> float:
  """KID: unbiased squared MMD with the kernel k(a, b) = (a.b / d + 1)^3."""
  x = np.asarray(features1, np.float64)
  y = np.asarray(features2, np.float64)
  m, n, d = len(x), len(y), x.shape[1]
  kxx = (x @ x.T / d + 1.0) ** 3
  kyy = (y @ y.T / d + 1.0) ** 3
  kxy = (x @ y.T / d + 1.0) ** 3
  return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) +
               (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2.0 * kxy.mean())


# -------------------------------------------------------------------------- models


def load_config(model: str) -> ml_collections.ConfigDict:
  """get_config() of configs/<model>_digits.py."""
  path = os.path.join(_REPO, 'configs', f'{model}_digits.py')
  if not os.path.exists(path):
    raise UsageError(f'no config for model {model!r}: {os.path.relpath(path)} does not '
                     'exist')
  if _REPO not in sys.path:  # config files import `configs.default`
    sys.path.insert(0, _REPO)
  spec = importlib.util.spec_from_file_location(
      f'configs.{os.path.splitext(os.path.basename(path))[0]}', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def model_config(model: str, steps: int, seed: int = 0,
                 overrides: dict | None = None) -> ml_collections.ConfigDict:
  """The config compare trains `model` with: its digits config on the train split,
  `steps` steps, images and a checkpoint only at the end, then the `overrides` that
  the config has (others are skipped)."""
  config = load_config(model)
  updates = dict(dataset='digits', seed=seed, num_train_steps=steps,
                 val_fraction=VAL_FRACTION, split='train', image_every=0,
                 checkpoint_every=steps, log_every=max(1, steps // 10))
  updates.update({k: v for k, v in (overrides or {}).items() if k in config})
  try:
    config.update(updates)
  except (TypeError, ValueError, KeyError) as e:
    raise UsageError(f'bad override for {model}: {e}') from e
  if config.image_size != IMAGE_SIZE or config.channels != 1:
    raise UsageError(f'{model}: compare needs {IMAGE_SIZE}x{IMAGE_SIZE}x1 digits '
                     f'(config has image_size={config.image_size}, '
                     f'channels={config.channels})')
  return config


class _Prefixed:
  """A text stream that starts every line written to `stream` with `prefix`."""

  def __init__(self, stream, prefix: str):
    self.stream, self.prefix, self.at_line_start = stream, prefix, True

  def write(self, text: str) -> int:
    for piece in text.splitlines(keepends=True):
      if self.at_line_start:
        self.stream.write(self.prefix)
      self.stream.write(piece)
      self.at_line_start = piece.endswith('\n')
    return len(text)

  def flush(self) -> None:
    self.stream.flush()


def _evaluate(config, nets, state, heldout: Split, classifier: Classifier,
              heldout_features: np.ndarray, num_samples: int,
              seed: int) -> tuple[dict, np.ndarray]:
  """(scores, prior samples [num_samples, H, W, C]) of one trained model."""
  z = np.asarray(sampling.prior_z(config, jax.random.PRNGKey(seed), num_samples))
  decode = jax.jit(lambda s, z: sampling.decode(nets, s, z))
  samples = _batched(lambda z: decode(state, z), z)
  features = classifier.features(samples)
  result = dict(prior_scale=float(config.prior_scale),
                fd=frechet_distance(features, heldout_features),
                kid=kernel_distance(features, heldout_features), recon_mse=None)
  if nets.encoder is not None and 'encoder' in state.params:
    recon = jax.jit(lambda s, x: sampling.reconstructions(nets, s, x))
    x_rec = _batched(lambda x: recon(state, x), heldout.images)
    result['recon_mse'] = float(np.mean((x_rec - heldout.images) ** 2))
  return result, samples


# --------------------------------------------------------------------------- outputs


def _font(size: int = 14):
  try:
    return ImageFont.load_default(size=size)
  except TypeError:  # Pillow < 10.1: the fixed-size bitmap font
    return ImageFont.load_default()


def write_figure(rows: Sequence[tuple[str, np.ndarray | None]], path: str) -> None:
  """One row of SAMPLES_PER_ROW images per (name, images [n, H, W, 1] or None)."""
  tiles = []
  for _, images in rows:
    if images is None:  # a diverged model: an empty (white) row
      images = np.ones((SAMPLES_PER_ROW, IMAGE_SIZE, IMAGE_SIZE, 1), np.float32)
    tiles.append(sampling.grid(images[:SAMPLES_PER_ROW], cols=SAMPLES_PER_ROW))
  h, w = (FIGURE_SCALE * s for s in tiles[0].shape[:2])
  fig = Image.new('L', (LABEL_WIDTH + w, h * len(rows)), 255)
  draw, font = ImageDraw.Draw(fig), _font()
  for i, ((name, _), tile) in enumerate(zip(rows, tiles)):
    fig.paste(Image.fromarray(tile[..., 0]).resize((w, h), Image.NEAREST),
              (LABEL_WIDTH, i * h))
    top, bottom = draw.textbbox((0, 0), name, font=font)[1::2]
    draw.text((6, i * h + (h - (bottom - top)) // 2 - top), name, fill=0, font=font)
  fig.save(path)


def _fmt(value, spec: str) -> str:
  return '—' if value is None else format(value, spec)


def results_table(results: dict) -> str:
  """The markdown table of a compare() result."""
  lines = ['| model | steps | train time (s) | recon MSE (held-out) | FD (held-out) | '
           'KID (held-out) |', '|---|---:|---:|---:|---:|---:|']
  for name, r in results['models'].items():
    if r.get('diverged'):
      lines.append(f'| {name} | — | {r["train_time_s"]:.1f} | '
                   f'diverged: {r["diverged"]} | — | — |')
      continue
    lines.append(f'| {name} | {r["steps"]} | {r["train_time_s"]:.1f} | '
                 f'{_fmt(r["recon_mse"], ".4f")} | {r["fd"]:.4g} | {r["kid"]:.4g} |')
  floor = results['data_floor']
  lines.append(f'| real data ({floor["num_images"]} train images) | — | — | — | '
               f'{floor["fd"]:.4g} | {floor["kid"]:.4g} |')
  return '\n'.join(lines)


def _markdown(results: dict) -> str:
  clf, models = results['classifier'], results['models']
  batches = ', '.join(f'{m} {r["batch_size"]}' for m, r in models.items())
  scales = ', '.join(f'{m} {r["prior_scale"]:g}' for m, r in models.items()
                     if r['prior_scale'] not in (None, 1.0))
  return '\n'.join([
      f'# The family on the digits, {results["steps"]} steps each',
      '',
      f'Every model trained on the {results["train_examples"]} training digits '
      f'(16x16x1, seed {results["seed"]}; batch size {batches}) and scored on the '
      f'{results["heldout_examples"]} held-out digits.' +
      (f' Prior scale: {scales} (1 for the others).' if scales else ''),
      '',
      results_table(results),
      '',
      f'Feature space: a small CNN digit classifier trained for {clf["steps"]} steps on '
      f'the training digits, held-out accuracy {clf["heldout_accuracy"]:.3f}; its '
      f'{FEATURE_DIM} penultimate activations, scaled once to unit root mean square on '
      'the held-out digits, are the features.',
      '',
      f'- **FD**: Frechet distance between Gaussians fitted to the features of '
      f'{results["num_samples"]} prior samples (z = prior_scale * N(0, I)) and of the '
      'held-out digits. Lower is better; the real-data row (training digits against '
      'held-out digits, as many as there are samples) is what a perfect generator '
      'would score.',
      '- **KID**: unbiased squared MMD with the kernel (a.b / d + 1)^3 in the same '
      'features; 0 in expectation for a perfect generator.',
      '- **recon MSE**: mean squared error per pixel (images in [-1, 1]) of the decoded '
      'posterior means of the held-out digits; — for models without an encoder.',
      '- **train time**: wall time of training, compilation included.',
      '',
  ])


# --------------------------------------------------------------------------- compare


def _check_args(data, steps, models, num_samples, classifier_steps):
  if data not in DATA:
    raise UsageError(f'unsupported --data {data!r}: compare supports only '
                     f'{", ".join(DATA)}')
  if not isinstance(steps, int) or steps < 1:
    raise UsageError(f'--steps must be >= 1 (got {steps})')
  if not isinstance(num_samples, int) or num_samples < 2:
    raise UsageError(f'--num_samples must be >= 2 (got {num_samples})')
  if not isinstance(classifier_steps, int) or classifier_steps < 1:
    raise UsageError(f'--classifier_steps must be >= 1 (got {classifier_steps})')
  if not models:
    raise UsageError('--models is empty: name at least one of ' + ', '.join(MODELS))
  unknown = [m for m in models if m not in MODELS]
  if unknown:
    raise UsageError(f'unknown model {unknown[0]!r} in --models; choose from '
                     f'{", ".join(MODELS)}')


def compare(steps: int, out_dir: str, *, models: Sequence[str] = MODELS,
            num_samples: int = 1000, overrides: dict | None = None,
            classifier_steps: int = 400, seed: int = 0, data: str = 'digits',
            out=sys.stdout) -> dict:
  """Trains each of `models` for `steps` steps on the digits and scores them alike.

  Args:
    steps: training steps of every model.
    out_dir: gets <model>/ (each model's workdir), samples.png, results.md and
      results.json.
    models: names from MODELS; duplicates are dropped.
    num_samples: prior samples scored per model.
    overrides: config fields set on every model's config after compare's own (only
      the fields a config has; a field no config has is an error).
    classifier_steps: Adam steps of the feature classifier.
    seed: the data split, every model's config.seed, the classifier and the z of the
      prior samples.
    data: the data set; only 'digits'.
    out: progress and the final table are printed here.

  Returns:
    The contents of results.json: {'models': {name: {'steps' (None if diverged),
    'batch_size', 'train_time_s', 'recon_mse' (None without an encoder), 'fd', 'kid',
    'prior_scale', 'diverged' (None or where)}}, 'data_floor': {'fd', 'kid',
    'num_images'}, 'classifier': {'steps', 'heldout_accuracy'}, and the run's
    settings and paths. A diverged model has None for its scores.

  Raises:
    UsageError, input_pipeline.DataError, checkpointing.CheckpointError: one line
    (cli.run prints it).
  """
  models = tuple(dict.fromkeys(models))
  _check_args(data, steps, models, num_samples, classifier_steps)
  configs = {m: model_config(m, steps, seed, overrides) for m in models}
  missing = [k for k in (overrides or {}) if not any(k in c for c in configs.values())]
  if missing:
    raise UsageError(f'override {missing[0]!r} is not a field of any model config')
  train, heldout = digits_split('train', seed), digits_split('validation', seed)
  for config in configs.values():
    validation.validate(config, len(train.images))
  os.makedirs(out_dir, exist_ok=True)

  def log(msg):
    print(msg, file=out, flush=True)

  t = time.perf_counter()
  clf = train_classifier(train, heldout, steps=classifier_steps, seed=seed)
  log(f'classifier: {classifier_steps} steps in {time.perf_counter() - t:.1f} s, '
      f'held-out accuracy {clf.heldout_accuracy:.3f} ({len(train.images)} train / '
      f'{len(heldout.images)} held-out digits)')
  if clf.heldout_accuracy < 0.9:
    log('warning: classifier accuracy < 0.9: raise --classifier_steps for a feature '
        'space that knows the digits')
  heldout_features = clf.features(heldout.images)
  n_floor = min(num_samples, len(train.images))
  floor_idx = np.sort(np.random.default_rng([seed, 13]).choice(
      len(train.images), n_floor, replace=False))
  floor_features = clf.features(train.images[floor_idx])
  results = dict(
      data=data, steps=steps, seed=seed, num_samples=num_samples,
      train_examples=len(train.images), heldout_examples=len(heldout.images),
      classifier=dict(steps=classifier_steps, heldout_accuracy=clf.heldout_accuracy),
      data_floor=dict(fd=frechet_distance(floor_features, heldout_features),
                      kid=kernel_distance(floor_features, heldout_features),
                      num_images=n_floor),
      models={})
  rows = [('held-out data', heldout.images)]
  for i, (model, config) in enumerate(configs.items()):
    log(f'== {model} ({i + 1}/{len(configs)}): {steps} steps, batch {config.batch_size}')
    workdir = os.path.join(out_dir, model)
    t = time.perf_counter()
    try:
      state = trainer.train_and_evaluate(config, workdir,
                                         out=_Prefixed(out, f'[{model}] '),
                                         write_summaries=False)
    except trainer.TrainingDiverged as e:
      elapsed = time.perf_counter() - t
      log(f'[{model}] diverged: {e}')
      results['models'][model] = dict(steps=None, batch_size=config.batch_size,
                                       train_time_s=elapsed, recon_mse=None, fd=None,
                                       kid=None, prior_scale=None,
                                       diverged=str(e).split(':')[0])
      rows.append((f'{model} (diverged)', None))
      continue
    elapsed = time.perf_counter() - t
    scores, samples = _evaluate(config, objectives.build_networks(config), state,
                                heldout, clf, heldout_features, num_samples, seed)
    results['models'][model] = dict(steps=int(state.step), batch_size=config.batch_size,
                                    train_time_s=elapsed, diverged=None, **scores)
    rows.append((model, samples))
    log(f'[{model}] trained in {elapsed:.1f} s; FD {scores["fd"]:.4g}, KID '
        f'{scores["kid"]:.4g}, recon MSE {_fmt(scores["recon_mse"], ".4f")}')

  paths = {k: os.path.join(out_dir, f) for k, f in
           (('samples_png', 'samples.png'), ('results_md', 'results.md'),
            ('results_json', 'results.json'))}
  results.update(paths)
  write_figure(rows, paths['samples_png'])
  with open(paths['results_md'], 'w') as f:
    f.write(_markdown(results))
  with open(paths['results_json'], 'w') as f:
    json.dump(results, f, indent=2)
  log('')
  log(results_table(results))
  log(f'classifier held-out accuracy {clf.heldout_accuracy:.3f}; FD/KID: lower is '
      'better, the real-data row is the floor')
  log(f'wrote {paths["samples_png"]}, {paths["results_md"]}, {paths["results_json"]}')
  return results


# ------------------------------------------------------------------------------- CLI


def main(argv):
  from absl import flags  # pylint: disable=g-import-not-at-top
  from vaegan_jax import cli  # pylint: disable=g-import-not-at-top
  from vaegan_jax import xla_flags  # pylint: disable=g-import-not-at-top
  if len(argv) > 1:
    print(f'error: unexpected arguments {argv[1:]}; flags look like --name=value',
          file=sys.stderr)
    sys.exit(2)
  xla_flags.set_cpu_flags()  # before the first JAX computation starts the backend
  cli.quiet_logging()
  f = flags.FLAGS

  def run():
    overrides = {} if f.batch_size is None else {'batch_size': f.batch_size}
    compare(f.steps, f.out, models=[m.strip() for m in f.models.split(',') if m.strip()],
            num_samples=f.num_samples, overrides=overrides,
            classifier_steps=f.classifier_steps, seed=f.seed, data=f.data)

  return cli.run(run)


def _define_flags() -> None:
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string('data', 'digits', 'Data set; only digits is supported.')
  flags.DEFINE_integer('steps', 2000, 'Training steps of every model.')
  flags.DEFINE_string('out', os.path.join('runs', 'compare'),
                      'Output folder: <model>/ workdirs, samples.png, results.md/.json.')
  flags.DEFINE_string('models', ','.join(MODELS), 'Comma-separated models to train.')
  flags.DEFINE_integer('batch_size', None, 'Batch size of every model (default: each '
                       "config's own).")
  flags.DEFINE_integer('num_samples', 1000, 'Prior samples scored per model.')
  flags.DEFINE_integer('classifier_steps', 400, 'Adam steps of the feature classifier.')
  flags.DEFINE_integer('seed', 0, 'Data split, model seeds, classifier and prior z.')


if __name__ == '__main__':
  from absl import app  # pylint: disable=g-import-not-at-top
  from vaegan_jax import cli as _cli  # pylint: disable=g-import-not-at-top
  _define_flags()
  app.run(main, flags_parser=_cli.parse_flags)
