"""Every shipped config is valid and builds networks of the shapes it declares."""

import glob
import importlib
import os

import jax
import pytest

from vaegan_jax import networks
from vaegan_jax import objectives
from vaegan_jax import validation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = sorted(os.path.splitext(os.path.basename(p))[0]
               for p in glob.glob(os.path.join(ROOT, 'configs', '*.py'))
               if not p.endswith('__init__.py'))


def test_all_expected_configs_exist():
  assert {'default', 'tiny', 'celeba', 'celeba_paper', 'celeba_folder', 'mnist',
          'cifar10'} <= set(NAMES)
  for model in objectives.MODELS:  # the family: every model on digits and CelebA
    assert {f'{model}_digits', f'{model}_celeba' if model != 'vaegan' else 'celeba'
            } <= set(NAMES)


@pytest.mark.parametrize('model', sorted(objectives.MODELS))
def test_family_configs_name_their_model(model):
  for data in ('digits', 'celeba'):
    if (model, data) == ('vaegan', 'celeba'):
      continue  # configs/celeba.py is the VAE-GAN on CelebA
    config = importlib.import_module(f'configs.{model}_{data}').get_config()
    assert config.model == model
    assert config.dataset == ('digits' if data == 'digits' else 'celeb_a')


@pytest.mark.parametrize('name', NAMES)
def test_config_is_valid_and_shapes_match(name):
  config = importlib.import_module(f'configs.{name}').get_config()
  validation.validate(config)
  nets = objectives.build_networks(config)
  variables = jax.eval_shape(lambda: networks.init_variables(
      nets, jax.random.PRNGKey(0), config))
  s, c = config.image_size, config.channels
  z = jax.ShapeDtypeStruct((2, config.latent_dim), 'float32')
  out = jax.eval_shape(
      lambda v, z: networks.apply(nets.decoder, v[0]['decoder'], v[1]['decoder'], z,
                                  train=False)[0], variables, z)
  assert out.shape == (2, s, s, c)
  img = jax.ShapeDtypeStruct((2, s, s, c), 'float32')
  model = objectives.get_model(config.model)
  assert nets.roles() == tuple(r for r, kind in (
      ('encoder', model.encoder), ('decoder', 'decoder'),
      ('discriminator', model.discriminator)) if kind)
  if nets.encoder is not None:
    (mu, logvar) = jax.eval_shape(
        lambda v, x: networks.apply(nets.encoder, v[0]['encoder'], v[1]['encoder'], x,
                                    train=False)[0], variables, img)
    assert mu.shape == (2, config.latent_dim)
    assert (logvar is None) == (model.encoder == 'deterministic')
  if nets.discriminator is not None:
    dis_in = z if model.discriminator == 'latent' else img
    (logit, feats) = jax.eval_shape(
        lambda v, x: networks.apply(nets.discriminator, v[0]['discriminator'],
                                    v[1]['discriminator'], x, train=False)[0],
        variables, dis_in)
    assert logit.shape == (2,) and feats.shape[0] == 2
