"""The training entry point: resume is exact, NaN stops cleanly, bad input fails early."""

import io
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import tiny
from vaegan_jax import checkpointing
from vaegan_jax import input_pipeline
from vaegan_jax import trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _train(workdir, **overrides):
  config = tiny.get_config()
  config.update(overrides)
  out = io.StringIO()
  state = trainer.train_and_evaluate(config, str(workdir), out=out, write_summaries=False)
  return jax.device_get(state), out.getvalue()


def test_resumed_run_is_bitwise_identical_to_uninterrupted(tmp_path):
  straight, log = _train(tmp_path / 'a', num_train_steps=4)
  assert 'step 4/4' in log
  _train(tmp_path / 'b', num_train_steps=2)
  resumed, log = _train(tmp_path / 'b', num_train_steps=4)
  assert 'resumed' in log and 'at step 2' in log
  assert int(resumed.step) == int(straight.step) == 4
  for part in ('params', 'batch_stats', 'opt_state', 'key'):
    jax.tree.map(np.testing.assert_array_equal, getattr(straight, part),
                 getattr(resumed, part))


def test_run_writes_checkpoints_config_and_images(tmp_path):
  _train(tmp_path, num_train_steps=4, image_every=2, max_to_keep=1)
  assert checkpointing.load_config(str(tmp_path)).num_train_steps == 4
  mngr = checkpointing.manager(str(tmp_path))
  assert mngr.all_steps() == [4]  # max_to_keep=1 removed step 2
  images = sorted(os.listdir(tmp_path / 'images'))
  assert images == ['reconstructions_0000002.png', 'reconstructions_0000004.png',
                    'samples_0000002.png', 'samples_0000004.png']


def test_nan_stops_with_step_and_term_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
  real = input_pipeline.batch_for_step

  def poisoned(ds, batch_size, seed, step, *args):
    batch = real(ds, batch_size, seed, step, *args)
    if step == 2:  # the batch of the third step (steps count from 1)
      batch['image'][:] = np.nan
    return batch

  monkeypatch.setattr(input_pipeline, 'batch_for_step', poisoned)
  with pytest.raises(trainer.TrainingDiverged, match=r'loss/\w+ = nan at step 3'):
    _train(tmp_path, num_train_steps=6, checkpoint_every=2)
  mngr = checkpointing.manager(str(tmp_path))
  assert mngr.all_steps() == [2]
  config = tiny.get_config()
  from vaegan_jax import objectives, train_state as ts  # pylint: disable=g-import-not-at-top
  nets = objectives.build_networks(config)
  state = ts.create(config, nets, ts.make_optimizers(config, nets.roles()))
  restored = checkpointing.restore(mngr, state)
  assert int(restored.step) == 2
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(restored.params))


def _cli(*args, timeout=240):
  return subprocess.run([sys.executable, 'train.py', *args], cwd=ROOT, capture_output=True,
                        text=True, timeout=timeout)


@pytest.mark.parametrize('flag,message', [
    ('--config.batch_size=-1', 'batch_size must be positive'),
    ('--config.batch_size=5000', "a step reads 5000 examples"),
    ('--config.model=gan', 'model must be one of vae, dcgan, wgan, aae, vaegan'),
    ('--config.num_train_steps=-3', 'num_train_steps must be >= 0'),
    ('--config.image_size=18', 'not divisible'),
])
def test_cli_rejects_bad_config_with_one_line(tmp_path, flag, message):
  r = _cli('--config', 'configs/tiny.py', '--workdir', str(tmp_path), flag)
  assert r.returncode == 2
  lines = r.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('error: ') and message in lines[0], r.stderr
  assert not (tmp_path / 'checkpoints').exists()


@pytest.mark.parametrize('args,message', [
    (['--config.batch_sze=3'], 'Did you mean "batch_size"'),
    (['--config.batch_size=abc'], 'invalid literal'),
    (['--no_such_flag=1'], "Unknown command line flag 'no_such_flag'"),
    (['--config', 'configs/no_such_config.py'], 'No such file'),
    (['stray'], 'unexpected arguments'),
])
def test_cli_rejects_bad_flags_with_one_line(tmp_path, args, message):
  r = _cli('--workdir', str(tmp_path), *args, timeout=60)
  assert r.returncode == 2
  lines = r.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('error: ') and message in lines[0], r.stderr
  assert not os.listdir(tmp_path)


def test_cli_celeba_without_data_fails_fast_with_instructions(tmp_path):
  r = _cli('--config', 'configs/celeba.py', '--workdir', str(tmp_path / 'w'),
           f'--config.data_dir={tmp_path / "no_data"}', timeout=60)
  assert r.returncode == 2
  lines = r.stderr.strip().splitlines()
  assert len(lines) == 1 and 'tfds build celeb_a' in lines[0], r.stderr


@pytest.mark.parametrize('name', ['celeba', 'wgan_celeba', 'aae_celeba'])
def test_celeba_config_trains_on_tfds_mock_data(tmp_path, name):
  import importlib  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  config = importlib.import_module(f'configs.{name}').get_config()
  config.update(dict(image_size=32, latent_dim=8, enc_widths=(8, 8, 8), enc_dense=16,
                     dec_dense_channels=8, dec_widths=(8, 8, 8), dis_widths=(8, 8, 8, 8),
                     dis_dense=16, batch_size=4, num_train_steps=2, num_images=4,
                     log_every=1, checkpoint_every=2, latent_dis_widths=(16, 16)))
  # wgan_celeba: a step reads critic_steps (5) batches of 4.
  with tfds.testing.mock_data(num_examples=24):
    state = trainer.train_and_evaluate(config, str(tmp_path), out=io.StringIO(),
                                       write_summaries=False)
  assert int(state.step) == 2
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state.params))
  assert os.path.exists(tmp_path / 'images' / 'samples_0000002.png')


def test_trains_on_a_zip_of_jpegs(tmp_path):
  import zipfile  # pylint: disable=g-import-not-at-top
  folder = input_pipeline.write_synthetic_jpegs(str(tmp_path / 'jpg'), 12)
  zpath = tmp_path / 'img_align_celeba.zip'
  with zipfile.ZipFile(zpath, 'w') as zf:
    for name in sorted(os.listdir(folder)):
      zf.write(os.path.join(folder, name), f'img_align_celeba/{name}')
  state, log = _train(tmp_path / 'w', dataset='folder', data_path=str(zpath), channels=3,
                      crop='celeba', random_flip=True, num_train_steps=2, batch_size=4)
  assert int(state.step) == 2 and 'folder (12 examples, 16x16x3)' in log
