"""Tests of sample.py and vaegan_jax.sample_cli on a tiny run trained once per module."""

import dataclasses
import io
import math
import os
import shutil
import subprocess
import sys
import types

import jax
import numpy as np
from PIL import Image
import pytest

from configs import tiny
from vaegan_jax import input_pipeline
from vaegan_jax import latent_density
from vaegan_jax import objectives
from vaegan_jax import sample_cli
from vaegan_jax import sampling
from vaegan_jax import trainer
from vaegan_jax import validation

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 16


def _tiny_config():
  c = tiny.get_config()
  c.num_train_steps = 2
  c.log_every = 1
  c.checkpoint_every = 1
  return c


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  """A 2-step run with checkpoints at steps 1 and 2, and its final state."""
  config = _tiny_config()
  workdir = str(tmp_path_factory.mktemp('run'))
  state = trainer.train_and_evaluate(config, workdir, out=io.StringIO(),
                                     write_summaries=False)
  return types.SimpleNamespace(workdir=workdir, config=config, state=state,
                               nets=objectives.build_networks(config))


def _png_size(n_tiles, cols):
  """Pixel size of sampling.save_png(sampling.grid(...)) for 16x16 tiles, pad 1."""
  rows = math.ceil(n_tiles / cols)
  w, h = cols * (SIZE + 1) + 1, rows * (SIZE + 1) + 1
  scale = max(1, -(-256 // max(w, h)))
  return w * scale, h * scale


def _first_images(config, n):
  ds = input_pipeline.load(config)
  return ds.batch(np.arange(n), np.random.default_rng(config.seed))


def test_sample_writes_png_and_array(run, tmp_path):
  out, arr = str(tmp_path / 'grid.png'), str(tmp_path / 'x.npy')
  images = sample_cli.sample_main(run.workdir, num=5, seed=3, out=out, save_array=arr)
  saved = np.load(arr)
  assert saved.dtype == np.float32 and saved.shape == (5, SIZE, SIZE, 1)
  assert saved.min() >= -1.0 and saved.max() <= 1.0
  np.testing.assert_array_equal(saved, images)
  assert Image.open(out).size == _png_size(5, cols=3)


def test_samples_are_decoded_prior_draws_of_the_trained_state(run, tmp_path):
  images = sample_cli.sample_main(run.workdir, num=6, seed=7, sampler='prior',
                                  out=str(tmp_path / 'g.png'))
  z = jax.random.normal(jax.random.PRNGKey(7), (6, run.config.latent_dim))
  expected = np.asarray(sampling.decode(run.nets, run.state, z))
  np.testing.assert_allclose(images, expected, atol=1e-5)
  # Not a constant output: the draws differ from one another.
  assert np.abs(images[0] - images[1]).max() > 1e-4


def test_same_seed_same_images_other_seed_different(run, tmp_path):
  # The prior: the 2-step encoder's codes (the mixture's) are too close together for
  # draws to differ visibly; test_latent_density covers the mixture's seeding.
  out = str(tmp_path / 'g.png')
  a = sample_cli.sample_main(run.workdir, num=4, seed=1, out=out, sampler='prior')
  b = sample_cli.sample_main(run.workdir, num=4, seed=1, out=out, sampler='prior')
  c = sample_cli.sample_main(run.workdir, num=4, seed=2, out=out, sampler='prior')
  np.testing.assert_array_equal(a, b)
  assert np.abs(a - c).max() > 1e-4


def test_step_selects_the_checkpoint(run, tmp_path):
  _, _, first = sample_cli.restore(run.workdir, 1)
  _, _, latest = sample_cli.restore(run.workdir)
  assert int(first.step) == 1 and int(latest.step) == 2
  dec_1, dec_2 = first.params['decoder'], latest.params['decoder']
  assert any(np.abs(np.asarray(p) - np.asarray(q)).max() > 0
             for p, q in zip(jax.tree.leaves(dec_1), jax.tree.leaves(dec_2)))
  out = str(tmp_path / 'g.png')
  at_1 = sample_cli.sample_main(run.workdir, step=1, num=4, out=out)
  at_2 = sample_cli.sample_main(run.workdir, step=2, num=4, out=out)
  default_step = sample_cli.sample_main(run.workdir, num=4, out=out)
  assert np.abs(at_1 - at_2).max() > 1e-6
  np.testing.assert_array_equal(at_2, default_step)


def test_reconstruct(run, tmp_path):
  out, arr = str(tmp_path / 'r.png'), str(tmp_path / 'r.npy')
  images = sample_cli.sample_main(run.workdir, num=5, mode='reconstruct', out=out,
                                  save_array=arr)
  assert images.shape == (5, SIZE, SIZE, 1) and np.load(arr).shape == (5, SIZE, SIZE, 1)
  x = _first_images(run.config, 5)
  expected = np.asarray(sampling.reconstructions(run.nets, run.state, x))
  np.testing.assert_allclose(images, expected, atol=1e-5)
  # 10 tiles (original, reconstruction) in 2 * ceil(sqrt(5)) = 6 columns.
  assert Image.open(out).size == _png_size(10, cols=6)


@pytest.mark.parametrize('num,rows', [(16, 2), (3, 1)])
def test_interpolate(run, tmp_path, num, rows):
  out = str(tmp_path / 'i.png')
  images = sample_cli.sample_main(run.workdir, num=num, mode='interpolate', out=out)
  assert images.shape == (8 * rows, SIZE, SIZE, 1)
  assert Image.open(out).size == _png_size(8 * rows, cols=8)
  # The ends of row r are the reconstructions of data images 2r and 2r + 1.
  x = _first_images(run.config, 2 * rows)
  recon = np.asarray(sampling.reconstructions(run.nets, run.state, x))
  np.testing.assert_allclose(images[0::8], recon[0::2], atol=1e-5)
  np.testing.assert_allclose(images[7::8], recon[1::2], atol=1e-5)


def test_models_without_encoder(run):
  nets = dataclasses.replace(run.nets, encoder=None)
  state = run.state.replace(
      params={r: p for r, p in run.state.params.items() if r != 'encoder'})
  with pytest.raises(sample_cli.UsageError, match='no encoder'):
    sample_cli.generate(run.config, nets, state, 'reconstruct', 4, 0)
  images, _ = sample_cli.generate(run.config, nets, state, 'interpolate', 8, 5)
  assert images.shape == (8, SIZE, SIZE, 1)
  z = jax.random.normal(jax.random.PRNGKey(5), (2, run.config.latent_dim))
  ends = np.asarray(sampling.decode(run.nets, run.state, z))
  np.testing.assert_allclose(images[[0, 7]], ends, atol=1e-5)


def test_gmm_sampler_decodes_mixture_draws_of_the_training_codes(run, tmp_path):
  out = str(tmp_path / 'g.png')
  cache = os.path.join(run.workdir, 'latent_gmm', '2.npz')
  images = sample_cli.sample_main(run.workdir, num=6, seed=4, out=out, sampler='gmm')
  x = _first_images(run.config, input_pipeline.load(run.config).num_examples)
  codes = np.asarray(sampling.encode(run.nets, run.state, x))
  gmm = latent_density.fit(codes, seed=run.config.seed)
  with np.load(cache) as f:  # the cache holds this checkpoint's mixture
    np.testing.assert_allclose(f['means'], gmm['means'], rtol=1e-4, atol=1e-5)
  z = latent_density.sample(gmm, 6, seed=4)
  # (the 2-step decoder's outputs are small, hence the tight tolerances)
  np.testing.assert_allclose(
      images, np.asarray(sampling.decode(run.nets, run.state, z)), atol=1e-6)
  prior = sample_cli.sample_main(run.workdir, num=6, seed=4, out=out, sampler='prior')
  assert np.abs(images - prior).max() > 1e-5
  # A second call reads the cache: a shifted mixture there moves the samples.
  shifted = dict(gmm, means=gmm['means'] + 1.0)
  np.savez(cache, **shifted)
  again = sample_cli.sample_main(run.workdir, num=6, seed=4, out=out, sampler='gmm')
  np.testing.assert_allclose(
      again, np.asarray(sampling.decode(run.nets, run.state, z + 1.0)), atol=1e-6)
  assert np.abs(again - images).max() > 1e-5
  os.remove(cache)
  nets = dataclasses.replace(run.nets, encoder=None)
  state = run.state.replace(
      params={r: p for r, p in run.state.params.items() if r != 'encoder'})
  with pytest.raises(sample_cli.UsageError, match='no encoder'):
    sample_cli.generate(run.config, nets, state, 'sample', 4, 0, sampler='gmm')


def test_default_sampler_is_the_mixture_with_an_encoder_else_the_prior(
    run, tmp_path, monkeypatch, capsys):
  out = str(tmp_path / 'g.png')
  default = sample_cli.sample_main(run.workdir, num=5, seed=2, out=out)
  np.testing.assert_array_equal(
      default, sample_cli.sample_main(run.workdir, num=5, seed=2, out=out, sampler='gmm'))
  # auto applies to mode=sample only; reconstructions need no sampler.
  sample_cli.sample_main(run.workdir, num=2, mode='reconstruct', out=out)
  nets = dataclasses.replace(run.nets, encoder=None)
  state = run.state.replace(
      params={r: p for r, p in run.state.params.items() if r != 'encoder'})
  z, used = sample_cli.codes(run.config, nets, state, 'auto', 5, 2)
  assert used == 'prior'
  np.testing.assert_array_equal(
      z, np.asarray(jax.random.normal(jax.random.PRNGKey(2), (5, run.config.latent_dim))))
  # No training data to fit the mixture to: auto warns once and uses the prior;
  # an explicit --sampler=gmm is an error.
  def missing(config):
    raise input_pipeline.DataError(f'--config.data_path={config.data_path} does not exist')
  monkeypatch.setattr(sample_cli.input_pipeline, 'load', missing)
  capsys.readouterr()
  z, used = sample_cli.codes(run.config, run.nets, run.state, 'auto', 5, 2)
  assert used == 'prior'
  np.testing.assert_array_equal(
      z, np.asarray(jax.random.normal(jax.random.PRNGKey(2), (5, run.config.latent_dim))))
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and err[0].startswith('warning: ') and 'does not exist' in err[0]
  with pytest.raises(input_pipeline.DataError, match='does not exist'):
    sample_cli.codes(run.config, run.nets, run.state, 'gmm', 5, 2)


def test_auto_sampler_is_the_configs_for_the_vaegan_and_the_mixture_for_the_others(run):
  config = run.config.copy_and_resolve_references()
  assert config.auto_sampler == 'channels' and config.channels == 1  # configs/default.py's
  assert sample_cli.auto_sampler(config, run.nets, run.state) == 'gmm'  # grey: the mixture
  config.channels = 3  # colour: the prior
  assert sample_cli.auto_sampler(config, run.nets, run.state) == 'prior'
  config.channels = 1
  config.auto_sampler = 'prior'  # configs/colour.py's
  z, used = sample_cli.codes(config, run.nets, run.state, 'auto', 5, 2)
  assert used == 'prior'
  np.testing.assert_array_equal(
      z, np.asarray(jax.random.normal(jax.random.PRNGKey(2), (5, config.latent_dim))))
  config.model = 'vae'  # a decoder that never sees prior codes: always the mixture
  assert sample_cli.auto_sampler(config, run.nets, run.state) == 'gmm'
  del config['auto_sampler']  # a run saved before the field
  config.model = 'vaegan'
  assert sample_cli.auto_sampler(config, run.nets, run.state) == 'gmm'
  config.auto_sampler = 'colour'
  with pytest.raises(validation.ConfigError,
                     match='auto_sampler must be one of channels, gmm, prior'):
    validation.validate(config)


def _sample_py(*args):
  return subprocess.run([sys.executable, 'sample.py', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=300, check=False)


def test_cli_success(run, tmp_path):
  out, arr = tmp_path / 'sub' / 'g.png', tmp_path / 'g.npy'
  proc = _sample_py('--workdir', run.workdir, '--num', '4', '--seed', '9',
                    '--out', str(out), '--save_array', str(arr))
  assert proc.returncode == 0, proc.stderr
  assert 'Traceback' not in proc.stderr and 'I0' not in proc.stderr
  assert Image.open(out).size == _png_size(4, cols=2)
  saved = np.load(arr)
  assert saved.dtype == np.float32 and saved.shape == (4, SIZE, SIZE, 1)
  # The default sampler: the mixture of the training codes (this model has an encoder).
  z, used = sample_cli.codes(run.config, run.nets, run.state, 'gmm', 4, 9)
  assert used == 'gmm'
  np.testing.assert_allclose(
      saved, np.asarray(sampling.decode(run.nets, run.state, z)), atol=1e-5)


@pytest.mark.parametrize('case,args,message', [
    ('missing_workdir', ['--workdir', '{missing}'], 'does not exist'),
    ('no_checkpoint', ['--workdir', '{empty}'], 'no checkpoint'),
    ('unknown_step', ['--workdir', '{run}', '--step', '7'], 'available steps: [1, 2]'),
    ('bad_num', ['--workdir', '{run}', '--num', '0'], '--num'),
    ('unknown_mode', ['--workdir', '{run}', '--mode', 'dream'], 'unknown --mode'),
    ('unknown_sampler', ['--workdir', '{run}', '--sampler', 'flow'], 'unknown --sampler'),
    ('gmm_not_sample', ['--workdir', '{run}', '--sampler', 'gmm', '--mode',
                        'reconstruct'], 'applies to --mode=sample only'),
])
def test_cli_errors(run, tmp_path, case, args, message):
  del case
  empty = tmp_path / 'empty'
  empty.mkdir()
  shutil.copy(os.path.join(run.workdir, 'config.json'), empty)
  paths = dict(missing=str(tmp_path / 'missing'), empty=str(empty), run=run.workdir)
  out = tmp_path / 'g.png'
  proc = _sample_py(*[a.format(**paths) for a in args], '--out', str(out))
  assert proc.returncode != 0
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr
  assert lines[0].startswith('error: ') and message in lines[0], lines[0]
  assert not out.exists()


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path):
  a_file = tmp_path / 'f'
  a_file.write_text('')
  for path, message in ((tmp_path, 'it is a folder'),
                        (a_file / 's.png', 'is a file, not a folder'),
                        (a_file / 'a' / 'b' / 's.png', 'is a file, not a folder')):
    with pytest.raises(sample_cli.UsageError, match=message):
      sample_cli.check_output(str(path))
  sample_cli.check_output(str(tmp_path / 'new' / 'dir' / 's.png'))  # made when written
  with pytest.raises(sample_cli.UsageError, match='is a file'):  # before restoring
    sample_cli.sample_main(str(tmp_path / 'no_run'), out=str(a_file / 's.png'))
