"""FID and KID of generated images against a reference, as the literature reports them.

  python -m vaegan_jax.evaluate --workdir W [--step N] [--num 10000] [--ref REF]
  python -m vaegan_jax.evaluate --images A.npy --ref REF
  python -m vaegan_jax.evaluate --ref REF --save_stats stats.npz

Generated images: `--num` samples of the checkpoint in W, drawn as sample.py draws them
(the averaged parameters when the run keeps them, `--no_ema` the raw ones; `--sampler`:
auto, the default, decodes codes drawn from the ex-post mixture of the training codes
for a model with an encoder and prior draws for one without; prior: z ~ N(0, I), the
paper's; gmm: the mixture), or a .npy of float images [N, H, W, C] in [-1, 1] (what
`sample.py --save_array` writes).
Reference (`--ref`; default with --workdir: the run's own data set): a workdir or a config
file (its data set, the first `--num_ref` images in the seeded order), a .npy of images,
or a statistics .npz (`mu`, `sigma`: pytorch-fid's `--save-stats` format; FID only, KID
needs images).
Features (`--features`): `inception` (pytorch-fid's FID InceptionV3, pool3, 2048; weights
from `--inception_weights` or pytorch-fid's cache, see vaegan_jax/inception.py; grayscale
is repeated to 3 channels) or `classifier` (offline: compare's small digit classifier,
trained for `--classifier_steps` on the embedded digits at the images' size; grayscale
only; its numbers are comparable only with this project's).
Prints one line `fid=... kid=... n=... n_ref=... features=...` (plus `sampler=...` for a
workdir and `recon_mse=...` for a model with an encoder, on the reference images) and
writes the same as JSON (`--out`, default W/eval_<step>_<features>[_gmm].json or
A.eval_<features>.json). Errors: one line, exit 2.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from vaegan_jax import checkpointing
from vaegan_jax import config_files
from vaegan_jax import errors
from vaegan_jax import features as feats
from vaegan_jax import inception
from vaegan_jax import input_pipeline
from vaegan_jax import sample_cli
from vaegan_jax import sampling
from vaegan_jax import scoring
from vaegan_jax import validation

UsageError = errors.UsageError


def check_images(x: np.ndarray, what: str) -> np.ndarray:
  """x as float32 [N, H, W, C], C in (1, 3), values in [-1, 1]; else UsageError."""
  x = np.asarray(x)
  if x.ndim != 4 or x.shape[-1] not in (1, 3) or not np.issubdtype(x.dtype, np.floating):
    raise UsageError(f'{what} must hold float images [N, H, W, 1 or 3] in [-1, 1] (as '
                     f'sample.py --save_array writes); got {x.dtype} {x.shape}')
  if len(x) < 2:
    raise UsageError(f'{what} has {len(x)} image(s): FID needs at least 2')
  lo, hi = float(x.min()), float(x.max())
  if lo < -1.0 - 1e-3 or hi > 1.0 + 1e-3:
    raise UsageError(f'{what} has values in [{lo:.3g}, {hi:.3g}]: images must be in '
                     '[-1, 1] (from [0, 255] use x / 127.5 - 1)')
  return x.astype(np.float32)


def _load_npy(path: str, what: str) -> np.ndarray:
  try:
    return check_images(np.load(path, allow_pickle=False), f'{what} {path}')
  except (OSError, ValueError) as e:
    if isinstance(e, UsageError):
      raise
    raise UsageError(f'cannot read {what} {path}: {e}') from None


def _config_from_file(path: str):
  try:
    return config_files.load(path)
  except Exception as e:  # pylint: disable=broad-except
    raise UsageError(f'cannot load the config file {path}: {e}') from None


def data_images(config, num: int) -> np.ndarray:
  """The first `num` images of a config's data set (seeded order), float32 in [-1, 1]."""
  validation.validate(config)
  ds = input_pipeline.load(config)
  n = min(num, ds.num_examples)
  idx = np.arange(n)
  return np.concatenate([ds.batch(idx[i:i + 1000], np.random.default_rng(config.seed))
                         for i in range(0, n, 1000)]).astype(np.float32)


def reference(ref: str, num_ref: int):
  """('images', x) or ('stats', (mu, sigma)) for `ref` (see the module doc)."""
  if ref.endswith('.npz'):
    try:
      with np.load(ref) as z:
        if 'mu' not in z.files or 'sigma' not in z.files:
          raise UsageError(f'--ref {ref} has no mu and sigma (pytorch-fid statistics)')
        return 'stats', (z['mu'].astype(np.float64), z['sigma'].astype(np.float64))
    except OSError as e:
      raise UsageError(f'cannot read --ref {ref}: {e}') from None
  if ref.endswith('.npy'):
    return 'images', _load_npy(ref, '--ref')[:num_ref]
  if os.path.isdir(ref):
    return 'images', data_images(checkpointing.load_config(ref), num_ref)
  if ref.endswith('.py') and os.path.isfile(ref):
    return 'images', data_images(_config_from_file(ref), num_ref)
  if ref in config_files.names():  # a shipped config's name: --ref celeba
    return 'images', data_images(_config_from_file(config_files.shipped(ref)), num_ref)
  raise UsageError(f'--ref {ref}: give a workdir, a config .py or a shipped config\'s '
                   'name, a .npy of images or a statistics .npz')


def generated(workdir: str, step: int | None, num: int, seed: int, ema: bool,
              sampler: str = sample_cli.DEFAULT_SAMPLER):
  """(config, nets, state, samples [num, H, W, C], the sampler used) of a workdir's
  checkpoint: decoded prior or mixture draws, as sample.py (see sample_cli.samples; a
  conditional model's labels are drawn from the training set's)."""
  config, nets, state = sample_cli.restore(workdir, step, ema=ema)
  images, used, _ = sample_cli.samples(config, nets, state, sampler, num, seed,
                                       sample_cli.gmm_cache(workdir, config, state, ema))
  return config, nets, state, images, used


def evaluate(*, workdir: str | None = None, images: str | None = None,
             ref: str | None = None, step: int | None = None, num: int = 10000,
             num_ref: int = 10000, features: str = 'inception',
             inception_weights: str | None = None, classifier_steps: int = 400,
             seed: int = 0, ema: bool = True, save_stats: str | None = None,
             out: str | None = None, sampler: str = sample_cli.DEFAULT_SAMPLER) -> dict:
  """Scores generated images against the reference; see the module doc. Returns the
  result dict (also written to `out` as JSON)."""
  feats.check(features)
  if workdir and images:
    raise UsageError('give --workdir or --images, not both')
  sample_cli.check_sampler(sampler)
  if sampler == 'gmm' and not workdir:
    raise UsageError(f'--sampler={sampler} needs --workdir (it samples a checkpoint)')
  for name, value in (('num', num), ('num_ref', num_ref)):
    if value < 2:
      raise UsageError(f'--{name} must be >= 2 (got {value}): FID needs 2 images or more')
  if not (workdir or images or (ref and save_stats)):
    raise UsageError('nothing to score: give --workdir, --images, or --ref with --save_stats')
  if workdir and not os.path.isdir(workdir):
    raise UsageError(f'--workdir {workdir} does not exist (a train.py workdir)')
  if ref is None:
    if not workdir:
      raise UsageError('--ref is required with --images (a workdir, config, .npy or .npz)')
    ref = workdir
  kind, ref_value = reference(ref, num_ref)
  gen = nets = state = None
  if workdir:
    if features == 'inception':  # missing weights: fail before the sampling work
      inception.find_weights(inception_weights)
    _, nets, state, gen, sampler = generated(workdir, step, num, seed, ema, sampler)
  elif images:
    gen = _load_npy(images, '--images')
  shapes = {x.shape[1:] for x in (gen, ref_value if kind == 'images' else None)
            if x is not None}
  shape = next(iter(shapes)) if shapes else None
  if features == 'classifier' and len(shapes) > 1:
    raise UsageError(f'the generated images {gen.shape[1:]} and the reference '
                     f'{ref_value.shape[1:]} differ in shape: --features=classifier needs '
                     'one shape (inception resizes both to 299x299)')
  if shape is None:
    raise UsageError('no images to take features of')
  fn = feats.feature_fn(features, shape, inception_weights=inception_weights,
                  classifier_steps=classifier_steps)
  result = dict(features=features, ref=ref, n_ref=None, fid=None, kid=None, n=None)
  if kind == 'images':
    ref_set = scoring.reference(fn, ref_value)
    result['n_ref'] = len(ref_value)
  else:
    ref_set = scoring.from_stats(*ref_value)
  if save_stats:
    if kind != 'images':
      raise UsageError('--save_stats needs reference images, not statistics')
    sample_cli.write_output(save_stats, lambda p: np.savez(p, mu=ref_set.mu,
                                                           sigma=ref_set.sigma))
    result['stats'] = save_stats
  if gen is not None:
    gen_f = fn(gen)
    if gen_f.shape[1] != ref_set.mu.shape[0]:
      raise UsageError(f'--ref statistics have {ref_set.mu.shape[0]} features but '
                       f'--features={features} gives {gen_f.shape[1]}')
    d = scoring.feature_distances(gen_f, ref_set)
    result.update(n=len(gen), fid=d['fd'], kid=d['kid'])
  if workdir:
    result.update(workdir=workdir, step=int(state.step), ema=bool(ema and state.ema),
                  sampler=sampler)
    # (a conditional model's reconstructions need labels the reference images lack)
    if (kind == 'images' and ref_value.shape[1:] == gen.shape[1:]
        and not sampling.is_conditional(nets)):
      result.update(scoring.reconstruction(nets, state, ref_set))
  elif images:
    result['images'] = images
  if out is None and gen is not None:
    gmm = '' if sampler == 'prior' else f'_{sampler}'
    out = (os.path.join(workdir, f'eval_{result["step"]}_{features}{gmm}.json') if workdir
           else f'{os.path.splitext(images)[0]}.eval_{features}.json')
  if out:
    sample_cli.write_output(out, lambda p: _dump(result, p))
    result['out'] = out
  return result


def _dump(result, path):
  with open(path, 'w') as f:
    json.dump(result, f, indent=1)


def line(result: dict) -> str:
  """The one-line summary: fid=... kid=... n=... n_ref=... features=... [sampler=...]
  [recon_mse=...]."""
  fmt = lambda v, spec: 'n/a' if v is None else format(v, spec)
  parts = [f'fid={fmt(result["fid"], ".4f")}', f'kid={fmt(result["kid"], ".5f")}',
           f'n={fmt(result["n"], "d")}', f'n_ref={fmt(result["n_ref"], "d")}',
           f'features={result["features"]}']
  if result.get('sampler'):
    parts.append(f'sampler={result["sampler"]}')
  if 'recon_mse' in result:
    parts.append(f'recon_mse={result["recon_mse"]:.5f}')
  return ' '.join(parts)


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  from vaegan_jax import cli  # pylint: disable=g-import-not-at-top
  cli.quiet_logging()
  f = flags.FLAGS

  def run():
    result = evaluate(workdir=f.workdir, images=f.images, ref=f.ref, step=f.step,
                      num=f.num, num_ref=f.num_ref, features=f.features,
                      inception_weights=f.inception_weights,
                      classifier_steps=f.classifier_steps, seed=f.seed, ema=f.ema,
                      save_stats=f.save_stats, out=f.out, sampler=f.sampler)
    if result['fid'] is not None:
      print(line(result))
    if result.get('stats'):
      print(f'wrote reference statistics of {result["n_ref"]} images to {result["stats"]}')

  return cli.run(run)


def _define_flags() -> None:
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string('workdir', None, 'A train.py workdir: score its prior samples.')
  flags.DEFINE_string('images', None, 'Or a .npy of float images [N, H, W, C] in [-1, 1].')
  flags.DEFINE_string('ref', None, 'Reference: a workdir, a config .py, a .npy of images or '
                      'a statistics .npz (default: the workdir\'s data set).')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_integer('num', 10000, 'Prior samples to score.')
  flags.DEFINE_integer('num_ref', 10000, 'Reference images (at most).')
  flags.DEFINE_string('features', 'inception', 'inception (pytorch-fid) or classifier.')
  flags.DEFINE_string('inception_weights', None,
                      f'pytorch-fid\'s {inception.WEIGHTS_FILE} (default: its cache).')
  flags.DEFINE_integer('classifier_steps', 400, 'Training steps of the digit classifier.')
  flags.DEFINE_integer('seed', 0, 'Seed of the prior samples.')
  flags.DEFINE_string('sampler', sample_cli.DEFAULT_SAMPLER,
                      'auto (gmm for a model with an encoder, else prior), prior '
                      '(z ~ N(0, I), the paper\'s) or gmm (codes from a mixture fitted '
                      'to the training codes).')
  flags.DEFINE_bool('ema', True, 'Use the averaged parameters of a run that keeps them.')
  flags.DEFINE_string('save_stats', None, 'Write the reference mu, sigma here (.npz).')
  flags.DEFINE_string('out', None, 'JSON file of the result.')


if __name__ == '__main__':
  from absl import app  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  from vaegan_jax import cli as _cli  # pylint: disable=g-import-not-at-top
  _define_flags()
  app.run(main, flags_parser=_cli.parse_flags)
