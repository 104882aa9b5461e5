"""vaegan_jax.evaluate: FID/KID of images and workdirs against references, statistics files."""

import io
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from vaegan_jax import classifier
from vaegan_jax import evaluate
from vaegan_jax import inception
from vaegan_jax import metrics
from vaegan_jax import sample_cli
from vaegan_jax import sampling
from vaegan_jax import trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 60  # classifier steps: enough to separate digits from noise


@pytest.fixture(scope='module')
def digits(tmp_path_factory):
  base = tmp_path_factory.mktemp('eval')
  train = classifier.digits_split('train', 0, 16).images
  held = classifier.digits_split('validation', 0, 16).images
  noise = np.random.default_rng(0).uniform(-1, 1, held.shape).astype(np.float32)
  paths = {}
  for name, x in (('train', train[:300]), ('held', held[:300]), ('noise', noise[:300])):
    paths[name] = str(base / f'{name}.npy')
    np.save(paths[name], x)
  return base, paths


def test_classifier_fid_separates_digits_from_noise_and_stats_files_agree(digits):
  base, p = digits
  kw = dict(features='classifier', classifier_steps=STEPS)
  real = evaluate.evaluate(images=p['held'], ref=p['train'], **kw)
  noise = evaluate.evaluate(images=p['noise'], ref=p['train'], **kw)
  assert real['n'] == real['n_ref'] == 300
  assert 0 <= real['fid'] < 0.2 * noise['fid'] and real['kid'] < noise['kid']
  on_disk = json.load(open(real['out']))
  assert on_disk['fid'] == real['fid'] and real['out'].endswith('.eval_classifier.json')
  # The statistics of the reference, saved and used instead of its images: same FID.
  stats = str(base / 'train_stats.npz')
  evaluate.evaluate(ref=p['train'], save_stats=stats, **kw)
  with np.load(stats) as z:
    assert set(z.files) == {'mu', 'sigma'} and z['sigma'].shape == (64, 64)
  from_stats = evaluate.evaluate(images=p['held'], ref=stats, **kw)
  np.testing.assert_allclose(from_stats['fid'], real['fid'], rtol=1e-9)
  assert from_stats['kid'] is None  # KID needs the reference's features
  assert 'kid=n/a' in evaluate.line(from_stats) and 'fid=' in evaluate.line(real)


def test_inception_features_are_what_evaluate_scores(digits, tmp_path):
  """With (random) Inception weights in the converted .npz format: evaluate's FID is the
  Frechet distance of inception.features on both sets, grayscale repeated to RGB."""
  _, p = digits
  variables = jax.device_get(dict(inception.FIDInceptionV3().init(
      jax.random.PRNGKey(0), jnp.zeros((1, 75, 75, 3)))))
  path = str(tmp_path / 'w.npz')
  inception._save_npz(variables, path)  # pylint: disable=protected-access
  a, b = np.load(p['held'])[:4], np.load(p['train'])[:4]  # one compiled shape
  np.save(str(tmp_path / 'a.npy'), a)
  np.save(str(tmp_path / 'b.npy'), b)
  result = evaluate.evaluate(images=str(tmp_path / 'a.npy'), ref=str(tmp_path / 'b.npy'),
                             inception_weights=path)
  loaded = inception.load(path)
  fa, fb = inception.features(loaded, a), inception.features(loaded, b)
  assert fa.shape == (4, inception.FEATURES)
  np.testing.assert_allclose(result['fid'], metrics.frechet_distance(fa, fb), rtol=1e-6)
  rgb = inception.features(loaded, np.repeat(a, 3, -1))
  np.testing.assert_array_equal(fa, rgb)


def test_workdir_scores_its_samples_and_reconstructions_and_the_cli_prints_one_line(
    tmp_path):
  config = tiny.get_config()
  config.num_train_steps = 2
  workdir = str(tmp_path / 'run')
  trainer.train_and_evaluate(config, workdir, out=io.StringIO(), write_summaries=False)
  proc = subprocess.run(
      [sys.executable, '-m', 'vaegan_jax.evaluate', f'--workdir={workdir}', '--num=40',
       '--num_ref=40', '--features=classifier', f'--classifier_steps={STEPS}'],
      capture_output=True, text=True, cwd=ROOT, check=True)
  lines = proc.stdout.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('fid=') and 'recon_mse=' in lines[0]
  # The default sampler of a model with an encoder is the mixture of its training
  # codes, as sample.py's: the result says so and goes to ..._gmm.json.
  assert 'sampler=gmm' in lines[0]
  result = json.load(open(os.path.join(workdir, 'eval_2_classifier_gmm.json')))
  assert result['n'] == result['n_ref'] == 40 and result['step'] == 2
  assert result['sampler'] == 'gmm' and result['fid'] > 0 and 0 < result['recon_mse'] < 4
  assert f'fid={result["fid"]:.4f}' in lines[0]
  assert os.path.exists(os.path.join(workdir, 'latent_gmm', '2.npz'))
  config, nets, state, x, used = evaluate.generated(workdir, None, 40, 0, True)
  z, _ = sample_cli.codes(config, nets, state, 'gmm', 40, 0,
                          sample_cli.gmm_cache(workdir, config, state))
  assert used == 'gmm'
  np.testing.assert_allclose(x, np.asarray(sampling.decode(nets, state, z)), atol=1e-6)
  # --sampler=prior (the paper's) scores decoded prior draws, in eval_<step>_<features>.json.
  prior = evaluate.evaluate(workdir=workdir, num=40, num_ref=40, features='classifier',
                            classifier_steps=STEPS, sampler='prior')
  assert prior['sampler'] == 'prior' and prior['out'].endswith('eval_2_classifier.json')
  _, _, _, x, used = evaluate.generated(workdir, None, 40, 0, True, 'prior')
  z = jax.random.normal(jax.random.PRNGKey(0), (40, config.latent_dim))
  assert used == 'prior'
  np.testing.assert_allclose(x, np.asarray(sampling.decode(nets, state, z)), atol=1e-6)
  assert prior['fid'] != result['fid']
  assert prior['recon_mse'] == pytest.approx(result['recon_mse'], rel=1e-6)
  with pytest.raises(evaluate.UsageError, match='needs --workdir'):
    evaluate.evaluate(images=os.path.join(workdir, 'x.npy'), ref=workdir, sampler='gmm')


def test_ref_takes_a_shipped_config_name():
  kind, x = evaluate.reference('tiny', 5)
  path_kind, y = evaluate.reference(os.path.join(ROOT, 'configs', 'tiny.py'), 5)
  assert kind == path_kind == 'images' and x.shape == (5, 16, 16, 1)
  np.testing.assert_array_equal(x, y)
  with pytest.raises(evaluate.UsageError, match="shipped config's name"):
    evaluate.reference('tinyy', 5)
