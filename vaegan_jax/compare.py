"""Trains the family on labelled images with one budget and scores every model alike.

  python -m vaegan_jax.compare [--data digits] [--image_size 16] [--steps 2000]
      [--seeds 1] [--seed 0] [--out runs/compare] [--models vae,dcgan,wgan,aae,vaegan]
      [--batch_size B] [--num_samples 1000] [--classifier_steps 400] [--set FIELD=VALUE]
  python -m vaegan_jax.compare --data folder --data_path DIR --image_size 28 ...

Data: the embedded digits, or a folder of grayscale (or converted) images in class
folders (DIR/<class>/*.png), resized to --image_size. For each seed s the images are
split (seeded) into 80% train and 20% held out. A small CNN classifier is trained on
the train split (a few seconds); its 64 penultimate activations (times one constant
that gives the held-out images' features unit root mean square) are the feature
space of the scores. Then each model is trained from `configs/<model>_digits.py` (its
own recipe; data, size and seed set by compare) for `--steps` steps on the train split
alone, in `OUT/seed<s>/<model>` (re-running the command resumes there; the training
time and the discriminator's update fractions of earlier sessions, killed ones
included, are kept in `compare_run.json` beside the checkpoints, written at every log
window), and scored on the held-out split:

  FD:         Frechet distance between Gaussians fitted to the features of N prior
              samples (z = prior_scale * N(0, I), one fixed key) and of the held-out
              images; lower is better. The "real data" row scores min(N, train size)
              train images the same way: the floor a perfect generator would reach
              with the same number of samples. The "real data, blurred" row scores
              the same images after a Gaussian blur of scoring.BLUR_SIGMA pixels: what
              images without fine detail score (smooth blobs of the right colours).
  FD, GMM:    (models with an encoder) the FD of N decoded codes drawn from a
              10-component Gaussian mixture fitted to the posterior means of the
              training images (ex-post density estimation, Ghosh et al. 2020;
              latent_density, `sample.py --sampler=gmm`).
  FD, auto:   the FD of what `sample.py`'s default sampler draws from (the config's
              auto_sampler, 'gmm' or 'prior', for a model with an encoder; the prior
              for one without), and which that is.
  KID:        unbiased squared MMD with the cubic polynomial kernel
              k(a, b) = (a.b / d + 1)^3 in the same features (0 in expectation for a
              perfect generator, whatever N).
  classes:    how many classes the classifier finds in more than 2% of the samples.
  recon MSE:  mean squared error per pixel (images in [-1, 1]) of the decoded posterior
              means of the held-out images; only for models with an encoder.
  D updated:  the fraction of the second half's steps on which the discriminator was
              updated (the equilibrium rule can skip it).

With --seeds N > 1 the table gives mean ± standard deviation over the seeds and on how
many seeds each model had the lowest FD (prior samples; and with the mixture's FD for
the models that have one). OUT receives `samples.png` (the first seed's: a row of
held-out images, then one row of prior samples per model, same z where the latent
sizes agree, followed for a model with an encoder by a row of its mixture samples),
`results.md` (the table, also printed at the end), `results.json` (every seed's
numbers) and `seed<s>/results.json`. A model whose training diverges gets a 'diverged'
entry and the others still run. Errors (an unknown model or data set, a folder without
class folders) print one line, exit 2.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
from typing import Sequence

import jax
import ml_collections
import numpy as np

from vaegan_jax import classifier
from vaegan_jax import compare_report as report
from vaegan_jax import config_files
from vaegan_jax import errors
from vaegan_jax import features as feats
from vaegan_jax import latent_density
from vaegan_jax import objectives
from vaegan_jax import recipes
from vaegan_jax import sample_cli
from vaegan_jax import sampling
from vaegan_jax import scoring
from vaegan_jax import train_state as ts
from vaegan_jax import trainer
from vaegan_jax import validation

MODELS = tuple(objectives.MODELS)  # --models' default: every model, the baselines first
DATA = ('digits', 'folder')


UsageError = errors.UsageError


# -------------------------------------------------------------------------- models


COLOUR_CONFIG = 'colour'  # the networks compare trains on colour images by default


def parse_sets(items: Sequence[str]) -> dict:
  """{field: value} of --set FIELD=VALUE items; VALUE is read as a Python literal
  (True, 2.0, (64, 32)) and kept as text where it is not one ('gmm')."""
  fields = {}
  for item in items:
    name, eq, text = (part.strip() for part in item.partition('='))
    if not eq or not name:
      raise UsageError(f'--set {item!r}: write FIELD=VALUE, e.g. --set dis_blur=True')
    try:
      fields[name] = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      fields[name] = text
  return fields


def floor_indices(seed: int, num_train: int, num: int) -> np.ndarray:
  """Sorted indices of the min(num, num_train) training images of the "real data" row
  (seeded by `seed`): the floor a perfect generator would reach."""
  return np.sort(np.random.default_rng([seed, 13]).choice(
      num_train, min(num, num_train), replace=False))


def _config_file(name: str) -> ml_collections.ConfigDict:
  """get_config() of a config file: a path, or a shipped config's name ('colour';
  config_files.path)."""
  try:
    return config_files.load(name)
  except errors.NoConfig as e:
    raise UsageError(str(e)) from None


def networks_config(base: str, channels: int) -> str:
  """The config whose networks compare trains: `base`, or by default '' (each model's
  digits config) for grey images and COLOUR_CONFIG for colour ones."""
  return base or (COLOUR_CONFIG if channels == 3 else '')


def load_config(model: str, base: str = '') -> ml_collections.ConfigDict:
  """The config compare trains `model` from, before compare's data fields.

  base '': configs/<model>_digits.py (the digits networks, the model's recipe); a
  config name or path: that config's networks with `model`'s recipe
  (recipes.apply), e.g. 'colour' (configs/colour.py) for colour images.
  """
  if not base:
    return _config_file(f'{model}_digits')
  config = _config_file(base)
  recipes.switch(config, model)
  return config


def model_config(model: str, steps: int, seed: int = 0, overrides: dict | None = None,
                 *, data: str = 'digits', image_size: int = 16, data_path: str = '',
                 channels: int = 1, base: str = '') -> ml_collections.ConfigDict:
  """The config compare trains `model` with: `load_config(model, base)` (its own
  recipe; base '' means the digits networks for grey images and configs/colour.py's
  for colour ones) on the train split of compare's data at `image_size` and
  `channels`, `steps` steps, images and a checkpoint only at the end, then the
  `overrides` that the config has (others are skipped)."""
  config = load_config(model, networks_config(base, channels))
  updates = dict(seed=seed, num_train_steps=steps, split='train', image_every=0,
                 checkpoint_every=steps, log_every=max(1, steps // 20),
                 **classifier.data_fields(data, image_size, data_path, channels))
  updates.update({k: v for k, v in (overrides or {}).items() if k in config})
  try:
    config.update(updates)
  except (TypeError, ValueError, KeyError) as e:
    raise UsageError(f'bad override for {model}: {e}') from e
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


def _scores(samples: np.ndarray, clf: classifier.Classifier, ref: scoring.Reference,
            embed) -> dict:
  """FD and KID (in `embed`'s features) and classes (the classifier's) of generated
  images."""
  return dict(**scoring.distances(embed, samples, ref),
              classes=scoring.classes_covered(clf.predict(samples), clf.num_classes))


def _evaluate(config, nets, state, clf: classifier.Classifier, ref: scoring.Reference,
              embed, num_samples: int, seed: int, train_images: np.ndarray | None = None):
  """(scores, prior samples [num_samples, H, W, C], mixture samples or None) of one
  trained model.

  FD and KID are taken in `embed`'s features against `ref` (the held-out images); the
  classes always come from the classifier. A model with an encoder is also scored on
  its reconstructions of the held-out images (MSE and FD) and with `num_samples` codes
  drawn from the ex-post Gaussian mixture of its training codes (latent_density;
  `train_images` encoded): `fd_gmm`, `kid_gmm`, `classes_gmm`.

  A run that keeps a moving average of its parameters (config.ema_decay > 0) is scored
  with the averaged ones; the raw ones' FD and reconstruction error are added as
  `fd_raw` and `recon_mse_raw`.
  """
  if state.ema:
    raw, _, _ = _evaluate(config, nets, state.replace(ema={}), clf, ref, embed,
                          num_samples, seed)
    result, samples, mixed = _evaluate(
        config, nets, ts.averaged(state).replace(ema={}), clf, ref, embed, num_samples,
        seed, train_images)
    return dict(result, fd_raw=raw['fd'], recon_mse_raw=raw['recon_mse']), samples, mixed
  z = np.asarray(sampling.prior_z(config, jax.random.PRNGKey(seed), num_samples))
  samples = sampling.decode_all(nets, state, z)
  result = dict(prior_scale=float(config.prior_scale), recon_mse=None, recon_fd=None,
                fd_gmm=None, kid_gmm=None, classes_gmm=None,
                **_scores(samples, clf, ref, embed))
  result.update(scoring.reconstruction(nets, state, ref, embed))
  mixed = None
  if sampling.has_encoder(nets, state) and train_images is not None:
    codes = sampling.encode_all(nets, state, train_images)
    gmm = latent_density.fit(codes, seed=seed)
    mixed = sampling.decode_all(nets, state, latent_density.sample(gmm, num_samples, seed))
    result.update({f'{k}_gmm': v for k, v in _scores(mixed, clf, ref, embed).items()})
  result['auto_sampler'] = sample_cli.auto_sampler(config, nets, state)
  if result['auto_sampler'] == 'gmm' and result['fd_gmm'] is None:
    result['auto_sampler'] = 'prior'  # no training images given: no mixture
  result['fd_auto'] = result['fd_gmm' if result['auto_sampler'] == 'gmm' else 'fd']
  return result, samples, mixed


RUN_RECORD = 'compare_run.json'  # in each model's workdir


def _read_run_record(workdir: str) -> dict:
  """The training time and log windows of the earlier sessions of a resumed run."""
  path = os.path.join(workdir, RUN_RECORD)
  if not os.path.exists(path):
    return dict(train_time_s=0.0, windows=[])
  with open(path) as f:
    record = json.load(f)
  return dict(train_time_s=float(record['train_time_s']),
              windows=[(int(st), m) for st, m in record['windows']])


def _write_run_record(workdir: str, record: dict) -> None:
  tmp = os.path.join(workdir, RUN_RECORD + '.tmp')
  with open(tmp, 'w') as f:
    json.dump(record, f)
  os.replace(tmp, os.path.join(workdir, RUN_RECORD))


def _update_fractions(means: dict) -> dict:
  """The part of a log window that the table needs (and compare_run.json keeps)."""
  key = 'updated/discriminator'
  return {key: float(means[key])} if key in means else {}


def _second_half_updates(windows: list[tuple[int, dict]], steps: int) -> float | None:
  """Fraction of the steps of the run's second half that updated the discriminator
  (from the trainer's logging windows), or None if the model never skips it."""
  late = [m['updated/discriminator'] for s, m in windows
          if s > steps // 2 and 'updated/discriminator' in m]
  return float(np.mean(late)) if late else None


# --------------------------------------------------------------------------- compare


def _check_args(data, steps, models, num_samples, classifier_steps, seeds, image_size,
                data_path, channels):
  if data not in DATA:
    raise UsageError(f'unsupported --data {data!r}: compare supports '
                     f'{" and ".join(DATA)}')
  if channels not in (1, 3):
    raise UsageError(f'--channels must be 1 (grey) or 3 (colour), got {channels}')
  if data == 'digits' and channels != 1:
    raise UsageError('the digits are grey: --channels=3 needs --data=folder')
  if data == 'folder' and not data_path:
    raise UsageError('--data=folder needs --data_path: a folder of images in class '
                     'folders (DIR/<class>/*.png)')
  for name, value, low in (('steps', steps, 1), ('num_samples', num_samples, 2),
                           ('classifier_steps', classifier_steps, 1),
                           ('seeds', seeds, 1), ('image_size', image_size, 8)):
    if not isinstance(value, int) or value < low:
      raise UsageError(f'--{name} must be an integer >= {low} (got {value})')
  known = ', '.join(objectives.MODELS)
  if not models:
    raise UsageError('--models is empty: name at least one of ' + known)
  unknown = [m for m in models if m not in objectives.MODELS]
  if unknown:
    raise UsageError(f'unknown model {unknown[0]!r} in --models; choose from {known}')


def _one_seed(seed: int, configs: dict, out_dir: str, *, steps: int, num_samples: int,
              classifier_steps: int, split_args: dict, out, embed=None) -> dict:
  """Trains and scores every model for one seed in out_dir; returns its results.

  `embed`: images -> FD/KID features (None: this seed's classifier's).
  """

  def log(msg):
    print(msg, file=out, flush=True)

  train = classifier.load_split('train', seed, **split_args)
  heldout = classifier.load_split('validation', seed, **split_args)
  for config in configs.values():
    validation.validate(config, len(train.images))
  os.makedirs(out_dir, exist_ok=True)
  t = time.perf_counter()
  clf = classifier.train_classifier(train, heldout, steps=classifier_steps, seed=seed)
  log(f'seed {seed}: classifier {classifier_steps} steps in {time.perf_counter() - t:.1f}'
      f' s, held-out accuracy {clf.heldout_accuracy:.3f} ({len(train.images)} train / '
      f'{len(heldout.images)} held-out images)')
  if clf.heldout_accuracy < 0.9:
    log('warning: classifier accuracy < 0.9: raise --classifier_steps for a feature '
        'space that knows the classes')
  embed = embed or clf.features
  ref = scoring.reference(embed, heldout.images)
  floor_idx = floor_indices(seed, len(train.images), num_samples)
  floor = scoring.distances(embed, train.images[floor_idx], ref)
  # The figure's data row, spread over the held-out split (a folder's is in class order).
  shown = np.linspace(0, len(heldout.images) - 1, report.SAMPLES_PER_ROW).astype(int)
  results = dict(
      seed=seed, train_examples=len(train.images), heldout_examples=len(heldout.images),
      classifier_accuracy=clf.heldout_accuracy,
      data_floor=dict(**floor, num_images=len(floor_idx), fd_blurred=scoring.distances(
          embed, scoring.blurred(train.images[floor_idx]), ref)['fd']),
      models={}, rows=[('held-out data', heldout.images[shown])])
  for i, (model, config) in enumerate(configs.items()):
    config = config.copy_and_resolve_references()
    config.seed = seed
    log(f'== seed {seed}, {model} ({i + 1}/{len(configs)}): {steps} steps, batch '
        f'{config.batch_size}')
    workdir = os.path.join(out_dir, model)
    record = _read_run_record(workdir)
    windows = []
    t = time.perf_counter()

    def run_record():  # this session's time and log windows added to the earlier ones'
      start = min([st for st, _ in windows], default=None)
      kept = [(st, m) for st, m in record['windows'] if start is None or st < start]
      return dict(train_time_s=record['train_time_s'] + time.perf_counter() - t,
                  windows=kept + windows)

    def on_log(step, means):  # kept at every log window, so a killed run loses none
      windows.append((step, _update_fractions(means)))
      _write_run_record(workdir, run_record())

    try:
      state = trainer.train_and_evaluate(
          config, workdir, out=_Prefixed(out, f'[{model}] '), write_summaries=False,
          on_log=on_log)
    except errors.TrainingDiverged as e:
      log(f'[{model}] diverged: {e}')
      results['models'][model] = dict(
          steps=None, train_time_s=time.perf_counter() - t, recon_mse=None, recon_fd=None,
          fd=None,
          kid=None, classes=None, dis_updated=None, prior_scale=None, fd_gmm=None,
          kid_gmm=None, classes_gmm=None, auto_sampler=None, fd_auto=None,
          diverged=str(e).split(':')[0])
      results['rows'].append((f'{model} (diverged)', None))
      continue
    # A resumed run adds its time and log windows to those of the earlier sessions.
    final = run_record()
    _write_run_record(workdir, final)
    elapsed, windows = final['train_time_s'], final['windows']
    scores, samples, mixed = _evaluate(
        config, objectives.build_networks(config), state, clf, ref, embed, num_samples,
        seed, train.images)
    results['models'][model] = dict(
        steps=int(state.step), train_time_s=elapsed, diverged=None,
        dis_updated=_second_half_updates(windows, steps), **scores)
    results['rows'].append((model, samples))
    if mixed is not None:
      results['rows'].append((f'{model}, GMM', mixed))
    log(f'[{model}] trained in {elapsed:.1f} s; FD {scores["fd"]:.4g}, KID '
        f'{scores["kid"]:.4g}, classes {scores["classes"]}, recon MSE '
        f'{report.fmt(scores["recon_mse"], ".4f")}' + (
            f'; codes\' GMM: FD {scores["fd_gmm"]:.4g}' if mixed is not None else '') + (
            f' (averaged parameters; raw: FD {scores["fd_raw"]:.4g}, recon MSE '
            f'{report.fmt(scores["recon_mse_raw"], ".4f")})' if 'fd_raw' in scores else ''))
  return results


def compare(steps: int, out_dir: str, *, models: Sequence[str] | None = None,
            num_samples: int = 1000, overrides: dict | None = None,
            classifier_steps: int = 400, seed: int = 0, seeds: int = 1,
            data: str = 'digits', image_size: int = 16, data_path: str = '',
            channels: int = 1, config: str = '', features: str = 'classifier',
            inception_weights: str | None = None, out=sys.stdout) -> dict:
  """Trains each of `models` for `steps` steps, on `seeds` seeds, and scores them alike.

  Args:
    steps: training steps of every model.
    out_dir: gets seed<s>/<model>/ (each model's workdir for seed s), seed<s>/results.json,
      samples.png (the first seed's), results.md and results.json.
    models: names of registered models (objectives.MODELS; None: all of them);
      duplicates are dropped.
    num_samples: prior samples scored per model.
    overrides: config fields set on every model's config after compare's own (only
      the fields a config has; a field no config has is an error).
    classifier_steps: Adam steps of the feature classifier.
    seed, seeds: the seeds seed, seed + 1, ..., seed + seeds - 1; each gives the data
      split, every model's config.seed, the classifier and the z of the prior samples.
    data: 'digits' (the embedded digits) or 'folder' (`data_path`, class folders).
    image_size: height = width the images are resized to and the models generate.
    data_path: the folder, for data='folder'.
    channels: 1 (grey) or 3 (colour; data='folder'): what the models and the
      classifier read.
    config: the networks every model is built with, a shipped config's name or a
      path, each model with its own recipe (recipes.apply); '' = the digits configs
      (configs/<model>_digits.py) for grey images, configs/colour.py for colour.
    features: 'classifier' (this seed's classifier, offline) or 'inception'
      (pytorch-fid's network, `inception_weights` or pytorch-fid's cache) for FD/KID;
      the classes column always uses the classifier.
    inception_weights: pytorch-fid's .pth (or its .npz conversion).
    out: progress and the final table are printed here.

  Returns:
    The contents of results.json: {'models': {name: {'batch_size', 'lowest_fd' (seeds
    won), 'lowest_fd_gmm' (seeds won, mixture FDs where there are), 'runs': [per seed:
    {'seed', 'steps' (None if diverged), 'train_time_s', 'recon_mse', 'fd_gmm',
    'kid_gmm', 'classes_gmm' (None without an encoder), 'fd', 'kid', 'classes',
    'auto_sampler' (what `sample.py`'s default sampler draws from: 'prior' or 'gmm',
    sample_cli.auto_sampler), 'fd_auto' (its FD), with 'lowest_fd_auto' beside the others,
    'dis_updated'
    (None where nothing skips the discriminator), 'prior_scale', 'diverged' (None or
    where)}]}}, 'data_floor': {'fd': [per seed], 'kid': [...], 'fd_blurred': [...],
    'num_images'},
    'classifier_accuracy': [per seed], and the run's settings and paths.

  Raises:
    errors.Error (UsageError, DataError, CheckpointError, WeightsMissing): one line
    (cli.run prints it).
  """
  models = tuple(dict.fromkeys(objectives.MODELS if models is None else models))
  base = config
  _check_args(data, steps, models, num_samples, classifier_steps, seeds, image_size,
              data_path, channels)
  split_args = dict(data=data, image_size=image_size, data_path=data_path,
                    channels=channels)
  configs = {m: model_config(m, steps, seed, overrides, base=base, **split_args)
             for m in models}
  missing = [k for k in (overrides or {}) if not any(k in c for c in configs.values())]
  if missing:
    raise UsageError(f'override {missing[0]!r} is not a field of any model config')
  for config in configs.values():
    validation.validate(config)
  feats.check(features)
  # Loaded before any training, so missing weights cost nothing.
  embed = (feats.feature_fn('inception', None, inception_weights=inception_weights)
           if features == 'inception' else None)

  def log(msg):
    print(msg, file=out, flush=True)

  per_seed = []
  for s in range(seed, seed + seeds):
    per_seed.append(_one_seed(s, configs, os.path.join(out_dir, f'seed{s}'), steps=steps,
                              num_samples=num_samples, classifier_steps=classifier_steps,
                              split_args=split_args, out=out, embed=embed))
    with open(os.path.join(out_dir, f'seed{s}', 'results.json'), 'w') as f:
      json.dump({k: v for k, v in per_seed[-1].items() if k != 'rows'}, f, indent=2)

  results = dict(
      data=data, data_name='the digits' if data == 'digits' else data_path,
      image_size=image_size, channels=channels,
      config=networks_config(base, channels) or '<model>_digits',
      steps=steps, seeds=[r['seed'] for r in per_seed],
      num_samples=num_samples, classifier_steps=classifier_steps, features=features,
      train_examples=per_seed[0]['train_examples'],
      heldout_examples=per_seed[0]['heldout_examples'],
      classifier_accuracy=[r['classifier_accuracy'] for r in per_seed],
      data_floor=dict(fd=[r['data_floor']['fd'] for r in per_seed],
                      kid=[r['data_floor']['kid'] for r in per_seed],
                      fd_blurred=[r['data_floor']['fd_blurred'] for r in per_seed],
                      num_images=per_seed[0]['data_floor']['num_images']),
      models={})
  for m in models:
    runs = [dict(seed=r['seed'], **r['models'][m]) for r in per_seed]
    results['models'][m] = dict(batch_size=configs[m].batch_size, runs=runs, lowest_fd=0,
                                lowest_fd_gmm=0, lowest_fd_auto=0)
  for r in per_seed:
    for key, fd in (('lowest_fd', lambda x: x['fd']),
                    ('lowest_fd_gmm', lambda x: x['fd'] if x['fd_gmm'] is None
                     else x['fd_gmm']),
                    ('lowest_fd_auto', lambda x: x['fd_auto'])):
      scored = {m: fd(x) for m, x in r['models'].items() if x['fd'] is not None}
      if scored:
        results['models'][min(scored, key=scored.get)][key] += 1

  os.makedirs(out_dir, exist_ok=True)
  paths = {k: os.path.join(out_dir, f) for k, f in
           (('samples_png', 'samples.png'), ('results_md', 'results.md'),
            ('results_json', 'results.json'))}
  results.update(paths)
  report.write_figure(per_seed[0]['rows'], paths['samples_png'])
  with open(paths['results_md'], 'w') as f:
    f.write(report.markdown(results))
  with open(paths['results_json'], 'w') as f:
    json.dump(results, f, indent=2)
  log('')
  log(report.results_table(results))
  log('FD/KID: lower is better, the real-data row is the floor')
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
    overrides = parse_sets(f.set)
    if f.batch_size is not None:
      overrides['batch_size'] = f.batch_size
    compare(f.steps, f.out, models=[m.strip() for m in f.models.split(',') if m.strip()],
            num_samples=f.num_samples, overrides=overrides,
            classifier_steps=f.classifier_steps, seed=f.seed, seeds=f.seeds,
            data=f.data, image_size=f.image_size, data_path=f.data_path,
            channels=f.channels, config=f.config, features=f.features,
            inception_weights=f.inception_weights)

  return cli.run(run)


def _define_flags() -> None:
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string('data', 'digits', "'digits' (embedded) or 'folder' (--data_path, "
                      'images in class folders DIR/<class>/*.png).')
  flags.DEFINE_string('data_path', '', "--data=folder: the folder of class folders.")
  flags.DEFINE_integer('image_size', 16, 'Height = width of the images (16, 28, 32...).')
  flags.DEFINE_integer('channels', 1, '1 (grey) or 3 (colour, --data=folder).')
  flags.DEFINE_string('config', '', "Networks of every model: a shipped config's name "
                      "(configs/, e.g. colour) or a path ('' = configs/<model>_digits.py "
                      'for grey, configs/colour.py for colour), each model with its own '
                      'recipe.')
  flags.DEFINE_integer('seeds', 1, 'Number of seeds (--seed, --seed + 1, ...): mean and '
                       'spread per model.')
  flags.DEFINE_integer('steps', 2000, 'Training steps of every model.')
  flags.DEFINE_string('out', os.path.join('runs', 'compare'),
                      'Output folder: seed<s>/<model>/ workdirs, samples.png, '
                      'results.md/.json.')
  flags.DEFINE_string('models', ','.join(MODELS), 'Comma-separated models to train.')
  flags.DEFINE_integer('batch_size', None, 'Batch size of every model (default: each '
                       "config's own).")
  flags.DEFINE_multi_string('set', [], 'FIELD=VALUE: a config field set on every model '
                            'that has it, after its recipe (e.g. --set dis_blur=True '
                            '--set gan_include_recon=True); repeatable.')
  flags.DEFINE_integer('num_samples', 1000, 'Prior samples scored per model.')
  flags.DEFINE_integer('classifier_steps', 400, 'Adam steps of the feature classifier.')
  flags.DEFINE_string('features', 'classifier', 'FD/KID features: classifier (offline) or '
                      'inception (pytorch-fid\'s network; needs its weights).')
  flags.DEFINE_string('inception_weights', None, 'pytorch-fid\'s .pth (default: its '
                      'cache).')
  flags.DEFINE_integer('seed', 0, 'First seed: data split, model seeds, classifier and '
                       'prior z.')


if __name__ == '__main__':
  from absl import app  # pylint: disable=g-import-not-at-top
  from vaegan_jax import cli as _cli  # pylint: disable=g-import-not-at-top
  _define_flags()
  app.run(main, flags_parser=_cli.parse_flags)
