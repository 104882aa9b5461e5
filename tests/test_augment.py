"""DiffAugment: each policy's effect, gradients through it, pairing, and the objectives."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from vaegan_jax import augment
from vaegan_jax import input_pipeline
from vaegan_jax import objectives
from vaegan_jax import train_state as ts
from vaegan_jax import train_step as tstep
from vaegan_jax import validation


def _images(b=6, size=16, c=3, seed=0):
  return jax.random.uniform(jax.random.PRNGKey(seed), (b, size, size, c), minval=-1,
                            maxval=1)


def _params(b, **fields):
  zero = dict(brightness=jnp.zeros(b), saturation=jnp.ones(b), contrast=jnp.ones(b),
              shift=jnp.zeros((b, 2), jnp.int32), centre=jnp.zeros((b, 2), jnp.int32))
  zero.update(fields)
  return augment.Params(**zero)


def test_parse_orders_policies_and_rejects_unknown_ones():
  assert augment.parse('cutout, color') == ('color', 'cutout')
  assert augment.parse('') == ()
  with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
    augment.parse('translation,flip')


def test_translation_moves_pixels_and_shifts_in_zeros():
  x = _images(2)
  shift = jnp.array([[2, -1], [0, 3]])
  y = augment.apply(x, _params(2, shift=shift), ('translation',))
  np.testing.assert_array_equal(y[0, 2:, :-1], x[0, :-2, 1:])
  np.testing.assert_array_equal(y[0, :2], 0.0)
  np.testing.assert_array_equal(y[0, :, -1], 0.0)
  np.testing.assert_array_equal(y[1, :, 3:], x[1, :, :-3])


def test_cutout_zeros_a_half_size_square_clipped_at_the_edges():
  x = jnp.ones((2, 16, 16, 3))
  y = augment.apply(x, _params(2, centre=jnp.array([[8, 8], [0, 15]])), ('cutout',))
  assert float((y[0] == 0).mean()) == pytest.approx(64 / 256)  # 8 x 8 inside
  np.testing.assert_array_equal(y[0, 4:12, 4:12], 0.0)
  assert float((y[1] == 0).mean()) == pytest.approx(4 * 5 / 256)  # rows 0..3, cols 11..15


def test_colour_ops_are_the_published_formulas():
  x = _images(3)
  p = _params(3, brightness=jnp.array([0.3, -0.2, 0.0]),
              saturation=jnp.array([1.0, 0.0, 1.0]), contrast=jnp.array([1.0, 1.0, 1.5]))
  y = augment.apply(x, p, ('color',))
  np.testing.assert_allclose(y[0], x[0] + 0.3, atol=1e-6)
  grey = (x[1] - 0.2).mean(-1, keepdims=True)  # saturation 0: the channel mean
  np.testing.assert_allclose(y[1], jnp.broadcast_to(grey, x[1].shape), atol=1e-6)
  m = x[2].mean()
  np.testing.assert_allclose(y[2], (x[2] - m) * 1.5 + m, atol=1e-5)


def test_draws_are_per_image_and_in_their_ranges():
  p = augment.draw(jax.random.PRNGKey(0), 512, 32)
  assert float(p.brightness.min()) >= -0.5 and float(p.brightness.max()) <= 0.5
  assert float(p.saturation.min()) >= 0 and float(p.saturation.max()) <= 2
  assert float(p.contrast.min()) >= 0.5 and float(p.contrast.max()) <= 1.5
  assert int(jnp.abs(p.shift).max()) == 4  # 32 / 8, both ends reached in 512 draws
  assert len(np.unique(np.asarray(p.brightness))) > 500  # float32 draws may tie
  # Image i's draw depends only on (key, i): a larger batch starts with the same draws.
  q = augment.draw(jax.random.PRNGKey(0), 8, 32)
  np.testing.assert_array_equal(q.shift, p.shift[:8])


def test_gradient_flows_through_every_policy():
  x = _images(4)
  p = augment.draw(jax.random.PRNGKey(1), 4, 16)
  grad = lambda policies: jax.grad(
      lambda x: jnp.sum(augment.apply(x, p, policies) ** 2))(x)
  assert bool(jnp.all(grad(augment.parse('color')) != 0))
  # Shifts and cutout: a pixel gets a gradient exactly when it is still in the output.
  moved = ('translation', 'cutout')
  g = grad(moved)
  kept = augment.apply(jnp.ones_like(x), p, moved)
  assert int((g != 0).sum()) == int((kept != 0).sum())
  assert 0.3 < float((g != 0).mean()) < 1
  assert bool(jnp.all(grad(augment.parse('color,translation,cutout')).sum(
      axis=(1, 2, 3)) != 0))


def _vaegan_setup(**overrides):
  config = tiny.get_config()
  config.update(overrides)
  nets = objectives.build_networks(config)
  state = ts.create(config, nets, ts.make_optimizers(config, nets.roles()))
  ds = input_pipeline.load(config)
  batch = input_pipeline.batch_for_step(ds, config.batch_size, config.seed, 0)
  return config, nets, state, batch


def test_vaegan_off_is_unchanged_and_on_changes_only_the_discriminators_view():
  key = jax.random.PRNGKey(2)
  config, nets, state, batch = _vaegan_setup()
  off = objectives.vaegan_terms(state.params, state.batch_stats, batch, key, nets=nets,
                                config=config)
  assert off.x_seen is off.x
  config_on, *_ = _vaegan_setup(dis_augment='color,translation,cutout')
  on = objectives.vaegan_terms(state.params, state.batch_stats, batch, key, nets=nets,
                               config=config_on)
  # The encoder's and decoder's draws do not move; only the discriminator's input does.
  np.testing.assert_array_equal(on.a_gen, off.a_gen)
  assert float(jnp.abs(on.x_seen - on.x).max()) > 0.1


def test_vaegan_feature_term_pairs_x_and_x_rec():
  # With the same T on x and x_rec, a perfect reconstruction has L_llike = 0 under
  # augmentation too; with the features of the clean pass as well.
  for features in ('augmented', 'clean'):
    config, nets, state, batch = _vaegan_setup(dis_augment='color,translation,cutout',
                                               dis_augment_features=features)
    t = objectives.vaegan_terms(state.params, state.batch_stats, batch,
                                jax.random.PRNGKey(4), nets=nets, config=config)
    b = t.b
    a_gen = t.a_gen.at[:b].set(jnp.arctanh(jnp.clip(t.x, -0.999999, 0.999999)))
    out, _ = t.discriminate(a_gen)
    assert float(t.llike(out)) < 1e-4, features
    assert float(t.llike(t.discriminate(t.a_gen)[0])) > 1e-2


@pytest.mark.parametrize('model', ['vaegan', 'dcgan'])
def test_augmented_step_trains_and_gradients_reach_the_generator(model):
  config, nets, state, batch = _vaegan_setup(model=model, dis_augment='translation,cutout')
  if model == 'dcgan':
    config.update(critic_steps=0, dis_r1_weight=1.0)
  objective = functools.partial(objectives.get(model), nets=nets, config=config)
  grads, losses, aux = tstep.role_gradients(objective, state.params, state.batch_stats,
                                            batch, jax.random.PRNGKey(0))
  assert all(np.isfinite(float(v)) for v in losses.values())
  assert float(jax.tree.reduce(lambda a, g: a + jnp.abs(g).sum(),
                               grads['decoder'], 0.0)) > 0


def test_validation_rejects_bad_augmentation_fields():
  config = tiny.get_config()
  config.dis_augment = 'color,zoom'
  with pytest.raises(validation.ConfigError, match="unknown augmentation 'zoom'"):
    validation.validate(config)
  config.update(model='aae', dis_augment='color')
  with pytest.raises(validation.ConfigError, match="model 'aae' has none"):
    validation.validate(config)
  config = tiny.get_config()
  config.dis_augment_features = 'both'
  with pytest.raises(validation.ConfigError, match='dis_augment_features'):
    validation.validate(config)
