"""A model added as docs/layout.md says (an objective, a MODELS line, a recipe) is
trained, sampled, scored by compare and checked by validation with no other edit."""

import io

import jax.numpy as jnp
import numpy as np
import pytest

import vaegan_jax
from vaegan_jax import compare
from vaegan_jax import errors
from vaegan_jax import networks
from vaegan_jax import objectives
from vaegan_jax import recipes
from vaegan_jax import sample_cli
from vaegan_jax import validation


def autoencoder(params, batch_stats, batch, key, *, nets, config, train=True,
                axis_name=None):
  """A deterministic autoencoder with squared error: the toy model of this test."""
  del key, axis_name
  x = batch['image']
  (z, _), enc_bs = networks.apply(nets.encoder, params['encoder'],
                                  batch_stats['encoder'], x, train)
  x_rec, dec_bs = networks.apply(nets.decoder, params['decoder'],
                                 batch_stats['decoder'], z, train)
  rec = jnp.mean((x_rec - x) ** 2)
  return ({'encoder': rec, 'decoder': rec},
          {'batch_stats': {'encoder': enc_bs, 'decoder': dec_bs},
           'metrics': {'loss/rec': rec, 'pixel_mse': rec}})


@pytest.fixture
def toy(monkeypatch):
  monkeypatch.setitem(objectives.MODELS, 'toy_ae',
                      objectives.Model(autoencoder, 'deterministic', None, sampler='prior'))
  monkeypatch.setitem(recipes.RECIPES, 'toy_ae', dict(
      optimizer='adam', learning_rate=1e-3, critic_steps=0, dis_weight_clip=0.0,
      use_equilibrium=False, dis_r1_weight=0.0, prior_scale=1.0))
  return 'toy_ae'


def test_a_new_model_trains_samples_and_is_compared_with_no_other_edit(toy, tmp_path):
  config = vaegan_jax.get_config('tiny', model=toy, num_train_steps=4, log_every=2)
  assert config.learning_rate == 1e-3 and config.critic_steps == 0  # its recipe
  model = vaegan_jax.train(config, str(tmp_path / 'run'), out=io.StringIO(),
                           write_summaries=False)
  assert model.step == 4 and model.has_encoder and not model.conditional
  # Its declared sampler is what 'auto' draws from (the VAE and the AAE: the mixture).
  assert sample_cli.auto_sampler(model.config, model.nets, model.state) == 'prior'
  np.testing.assert_array_equal(model.sample(3, sampler='auto'),
                                model.sample(3, sampler='prior'))
  assert model.sample(3, sampler='gmm').shape == (3, 16, 16, 1)
  again = vaegan_jax.load(str(tmp_path / 'run'))
  images = model.sample(3, sampler='prior')
  assert images.shape == (3, 16, 16, 1) and np.all(np.abs(images) <= 1)
  np.testing.assert_array_equal(again.reconstruct(images), model.reconstruct(images))
  # compare trains and scores it as any registered model.
  results = compare.compare(1, str(tmp_path / 'cmp'), models=(toy,),
                            num_samples=16, classifier_steps=5, config='tiny',
                            out=io.StringIO())
  run = results['models'][toy]['runs'][0]
  assert run['steps'] == 1 and run['auto_sampler'] == 'prior'
  assert np.isfinite(run['fd_gmm']) and run['recon_mse'] > 0


def test_validation_asks_the_model_what_it_can_do(toy):
  config = vaegan_jax.get_config('tiny', model=toy)
  validation.validate(config)
  for field, value, names in (('conditional', True, 'vae, vaegan'),
                              ('aux_weight', 1.0, 'vaegan'),
                              ('dis_r1_weight', 1.0, 'dcgan, vaegan'),
                              ('dis_augment', 'color', 'has none'),
                              ('critic_steps', 1, 'no discriminator')):
    bad = config.copy_and_resolve_references()
    bad[field] = value
    with pytest.raises(errors.ConfigError, match=names):
      validation.validate(bad)
