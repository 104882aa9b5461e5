"""Every shipped config is valid and builds networks of the shapes it declares."""

import glob
import importlib
import os

import jax
import pytest

from vaegan_jax import networks
from vaegan_jax import validation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = sorted(os.path.splitext(os.path.basename(p))[0]
               for p in glob.glob(os.path.join(ROOT, 'configs', '*.py'))
               if not p.endswith('__init__.py'))


def test_all_expected_configs_exist():
  assert {'default', 'tiny', 'celeba', 'celeba_paper', 'celeba_folder', 'mnist',
          'cifar10'} <= set(NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_config_is_valid_and_shapes_match(name):
  config = importlib.import_module(f'configs.{name}').get_config()
  validation.validate(config)
  nets = networks.build(config)
  variables = jax.eval_shape(lambda: networks.init_variables(
      nets, jax.random.PRNGKey(0), config))
  s, c = config.image_size, config.channels
  z = jax.ShapeDtypeStruct((2, config.latent_dim), 'float32')
  out = jax.eval_shape(
      lambda v, z: networks.apply(nets.decoder, v[0]['decoder'], v[1]['decoder'], z,
                                  train=False)[0], variables, z)
  assert out.shape == (2, s, s, c)
  img = jax.ShapeDtypeStruct((2, s, s, c), 'float32')
  (logit, feats) = jax.eval_shape(
      lambda v, x: networks.apply(nets.discriminator, v[0]['discriminator'],
                                  v[1]['discriminator'], x, train=False)[0],
      variables, img)
  assert logit.shape == (2,) and feats.shape[0] == 2
