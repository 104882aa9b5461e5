"""The Python API (vaegan_jax.load / train / get_config, Model): values, shapes, errors,
equality with sample.py, and a workdir that samples the same without its data."""

import io
import os
import shutil

import jax
import numpy as np
import pytest
from PIL import Image

import vaegan_jax
from vaegan_jax import config_files
from vaegan_jax import objectives
from vaegan_jax import sample_cli
from vaegan_jax import train_state as ts
from vaegan_jax import validation

SIZE = 16


def _folder(path, per_class=20):
  rng = np.random.default_rng(0)
  for k, c in enumerate(('a', 'b', 'c')):
    os.makedirs(path / c)
    for i in range(per_class):
      img = rng.integers(0, 60, (SIZE, SIZE), dtype=np.uint8)
      img[3 + 4 * k:7 + 4 * k] = rng.integers(150, 256)
      Image.fromarray(img).save(path / c / f'{i}.png')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  """A 6-step tiny VAE-GAN trained through the API on a folder of class folders."""
  root = tmp_path_factory.mktemp('api')
  data = root / 'data'
  _folder(data)
  config = vaegan_jax.get_config('tiny', dataset='folder', data_path=str(data),
                                 image_size=SIZE, num_train_steps=6, checkpoint_every=3,
                                 log_every=3)
  workdir = str(root / 'run')
  model = vaegan_jax.train(config, workdir, out=io.StringIO(), write_summaries=False)
  return model, workdir, data


def test_train_returns_the_model_that_load_reads(run):
  trained, workdir, _ = run
  model = vaegan_jax.load(workdir)
  assert model.step == trained.step == 6 and model.config.model == 'vaegan'
  assert vaegan_jax.load(workdir, step=3).step == 3
  z = np.random.default_rng(0).standard_normal((3, model.config.latent_dim))
  np.testing.assert_array_equal(model.decode(z), trained.decode(z))
  # The trainer stored each kept checkpoint's mixture beside it.
  assert sorted(os.listdir(os.path.join(workdir, 'latent_gmm'))) == ['3.npz', '6.npz']


def test_sample_equals_sample_py_and_needs_no_data(run, tmp_path, capsys):
  _, workdir, data = run
  model = vaegan_jax.load(workdir)
  images = model.sample(10, seed=3)
  assert images.dtype == np.float32 and images.shape == (10, SIZE, SIZE, 1)
  assert -1 <= images.min() and images.max() <= 1 and np.abs(images[0] - images[1]).max() > 0
  cli = sample_cli.sample_main(workdir, num=10, seed=3, out=str(tmp_path / 'g.png'),
                               save_array=str(tmp_path / 'g.npy'))
  np.testing.assert_array_equal(images, np.load(tmp_path / 'g.npy'))
  np.testing.assert_array_equal(images, cli)
  prior = model.sample(10, seed=3, sampler='prior')
  z = jax.random.normal(jax.random.PRNGKey(3), (10, model.config.latent_dim))
  np.testing.assert_allclose(prior, model.decode(np.asarray(z)), atol=1e-6)
  # The training data moved away: the same images, and nothing on stderr.
  moved = str(data) + '_moved'
  shutil.move(str(data), moved)
  try:
    capsys.readouterr()
    again = vaegan_jax.load(workdir).sample(10, seed=3)
    np.testing.assert_array_equal(again, images)
    cli_again = sample_cli.sample_main(workdir, num=10, seed=3, out=str(tmp_path / 'h.png'))
    np.testing.assert_array_equal(cli_again, images)
    assert capsys.readouterr().err == ''
  finally:
    shutil.move(moved, str(data))


def test_encode_decode_reconstruct_interpolate(run):
  model = vaegan_jax.load(run[1])
  x = np.random.default_rng(1).uniform(-1, 1, (300, SIZE, SIZE, 1)).astype(np.float32)
  z = model.encode(x)  # more than one chunk: padded, compiled once
  assert z.shape == (300, model.config.latent_dim) and z.dtype == np.float32
  np.testing.assert_allclose(model.encode(x[:5]), z[:5], atol=1e-6)
  np.testing.assert_allclose(model.encode(jax.numpy.asarray(x[7])), z[7], atol=1e-6)
  recon = model.reconstruct(x[:6])
  np.testing.assert_array_equal(recon, model.decode(model.encode(x[:6])))
  assert recon.shape == (6, SIZE, SIZE, 1)
  # uint8 images are read as [0, 255] -> [-1, 1].
  u8 = np.round((x[:4] + 1) * 127.5).astype(np.uint8)
  np.testing.assert_allclose(model.encode(u8), model.encode(u8 / 127.5 - 1), atol=1e-5)
  path = model.interpolate(x[0], x[1], steps=5)
  assert path.shape == (5, SIZE, SIZE, 1)
  np.testing.assert_allclose(path[[0, -1]], model.decode(z[:2]), atol=1e-5)
  mid = model.decode((z[0] + z[1]) / 2)
  np.testing.assert_allclose(path[2], mid, atol=1e-5)
  batch = model.interpolate(x[:3], x[3:6], steps=4)
  assert batch.shape == (3, 4, SIZE, SIZE, 1)
  np.testing.assert_allclose(batch[:, 0], model.decode(z[:3]), atol=1e-5)


def test_edit_adds_the_attribute_vector(run):
  model = vaegan_jax.load(run[1])
  x = model.sample(4, seed=0)
  vecs = model.attribute_vectors()
  assert vecs['names'] == ('a', 'b', 'c')
  v = vecs['vectors'][1]
  edited = model.edit(x, 'b', scale=1.5)
  np.testing.assert_allclose(edited, model.decode(model.encode(x) + 1.5 * v), atol=1e-6)
  grid = model.edit(x, 'b', scale=[0.0, 1.5])
  assert grid.shape == (4, 2, SIZE, SIZE, 1)
  np.testing.assert_array_equal(grid[:, 0], model.reconstruct(x))
  np.testing.assert_allclose(grid[:, 1], edited, atol=1e-6)
  with pytest.raises(sample_cli.UsageError, match='unknown'):
    model.edit(x, 'z')


def test_bad_inputs_raise_one_line_errors(run, tmp_path):
  model = vaegan_jax.load(run[1])
  cases = [
      (lambda: model.encode(np.zeros((2, 8, 8, 1))), 'do not fit this model'),
      (lambda: model.encode(np.zeros((2, SIZE, SIZE, 1), np.int32)), 'uint8'),
      (lambda: model.decode(np.zeros((2, 3))), 'do not fit this model'),
      (lambda: model.sample(0), 'num must be'),
      (lambda: model.sample(2, sampler='best'), 'unknown --sampler'),
      (lambda: model.decode(np.zeros((1, model.config.latent_dim)), labels='7'),
       'conditional'),
      (lambda: model.interpolate(np.zeros(model.config.latent_dim),
                                 np.zeros(model.config.latent_dim), steps=1), 'steps'),
  ]
  for fn, match in cases:
    with pytest.raises(validation.ConfigError, match=match) as e:
      fn()
    assert '\n' not in str(e.value)
  # A model without an encoder.
  config = vaegan_jax.get_config('tiny', model='dcgan')
  nets = objectives.build_networks(config)
  state = ts.create(config, nets, ts.make_optimizers(config, nets.roles()))
  gan = vaegan_jax.Model(config, nets, state)
  with pytest.raises(validation.ConfigError, match='no encoder'):
    gan.encode(np.zeros((1, SIZE, SIZE, 1)))
  assert gan.sample(3, seed=0).shape == (3, SIZE, SIZE, 1)
  with pytest.raises(Exception, match='does not exist'):
    vaegan_jax.load(str(tmp_path / 'nothing'))


def test_get_config_names_paths_and_overrides(tmp_path):
  assert {'default', 'celeba', 'mnist', 'tiny', 'colour'} <= set(config_files.names())
  c = vaegan_jax.get_config('celeba')
  assert c.dataset == 'celeb_a' and c.image_size == 64
  assert vaegan_jax.get_config('celeba.py').to_dict() == c.to_dict()
  path = config_files.path('mnist')
  assert vaegan_jax.get_config(path).to_dict() == vaegan_jax.get_config('mnist').to_dict()
  assert vaegan_jax.get_config('default', latent_dim=4).latent_dim == 4
  with pytest.raises(validation.ConfigError, match='no config .*default, ') as e:
    vaegan_jax.get_config('celebaa')
  assert '\n' not in str(e.value)
  with pytest.raises(validation.ConfigError, match='no field'):
    vaegan_jax.get_config('default', latnet_dim=4)
  locked = vaegan_jax.get_config('default')
  with pytest.raises(AttributeError):
    locked.latnet_dim = 4
  # model= switches to that model's recipe, as --config.model does.
  vae = vaegan_jax.get_config('default', model='vae')
  assert vae.model == 'vae' and vae.to_dict() != vaegan_jax.get_config('default').to_dict()


def test_save_grid_writes_a_png(run, tmp_path):
  model = vaegan_jax.load(run[1])
  path = vaegan_jax.save_grid(model.sample(6), str(tmp_path / 'sub' / 'g.png'))
  assert Image.open(path).size[0] >= 256
  assert 'Model' in dir(vaegan_jax) and repr(model).startswith('Model(vaegan, step 6')


def test_conditional_model_takes_labels(tmp_path):
  config = vaegan_jax.get_config('tiny', conditional=True, num_train_steps=2)
  vaegan_jax.train(config, str(tmp_path / 'run'), out=io.StringIO(), write_summaries=False)
  model = vaegan_jax.load(str(tmp_path / 'run'))
  assert model.conditional
  sevens = np.eye(10, dtype=np.float32)[[7] * 5]
  x = model.sample(5, seed=0, labels='7')
  np.testing.assert_array_equal(x, model.sample(5, seed=0, labels=sevens))
  z = jax.random.normal(jax.random.PRNGKey(0), (5, model.config.latent_dim))
  np.testing.assert_allclose(x, model.decode(np.asarray(z), labels='7'), atol=1e-6)
  assert np.abs(model.decode(np.asarray(z), labels='3') - x).max() > 0  # labels matter
  np.testing.assert_array_equal(model.reconstruct(x, labels=sevens),
                                model.decode(model.encode(x, labels='7'), labels='7'))
  for fn, match in [(lambda: model.decode(np.asarray(z)), 'give labels='),
                    (lambda: model.decode(np.asarray(z), labels=sevens[:2]), 'label rows'),
                    (lambda: model.edit(x, '7'), 'takes its attributes as input')]:
    with pytest.raises(validation.ConfigError, match=match):
      fn()
