"""config.layers: the XLA:CPU rewrites or the plain flax layers, chosen by backend.

The flax path is what GPUs and TPUs run; forcing it here exercises it on CPU.
"""

import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from vaegan_jax import layers
from vaegan_jax import networks
from vaegan_jax import objectives
from vaegan_jax import sampling
from vaegan_jax import train_state as ts
from vaegan_jax import trainer
from vaegan_jax import validation


def _config(**overrides):
  c = tiny.get_config()
  c.update(dict(num_train_steps=3, log_every=1, checkpoint_every=100, image_every=0))
  c.update(overrides)
  return c


def test_auto_means_rewrites_on_cpu_only():
  assert layers.use_rewrites('auto', 'cpu')
  assert not layers.use_rewrites('auto', 'gpu') and not layers.use_rewrites('auto', 'tpu')
  assert layers.use_rewrites('rewrite', 'gpu') and not layers.use_rewrites('flax', 'cpu')
  assert layers.use_rewrites('auto') == (jax.default_backend() == 'cpu')
  with pytest.raises(ValueError, match='cudnn'):
    layers.use_rewrites('cudnn')
  with pytest.raises(validation.ConfigError, match='layers'):
    validation.validate(_config(layers='cudnn'))
  with pytest.raises(validation.ConfigError, match='dec_upsample'):
    validation.validate(_config(dec_upsample='bilinear'))


@pytest.mark.parametrize('model', ['vaegan', 'aae'])
def test_both_kinds_build_the_same_parameters(model):
  trees = {}
  for kind in ('rewrite', 'flax'):
    c = _config(layers=kind, model=model)
    nets = objectives.build_networks(c)
    assert all(getattr(nets, r).reference_layers == (kind == 'flax') for r in nets.roles())
    trees[kind] = ts.create(c, nets, ts.make_optimizers(c, nets.roles()))
  a, b = trees['rewrite'], trees['flax']
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    assert x.shape == y.shape and x.dtype == y.dtype
    np.testing.assert_array_equal(x, y)  # same names, same initial values


def test_trained_with_one_kind_samples_and_resumes_with_the_other(tmp_path):
  out = io.StringIO()
  state = trainer.train_and_evaluate(_config(layers='rewrite'), str(tmp_path / 'r'),
                                     out=out, write_summaries=False)
  z = jax.random.normal(jax.random.PRNGKey(3), (8, tiny.get_config().latent_dim))
  x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)), jnp.float32)
  outs = {}
  for kind in ('rewrite', 'flax'):
    nets = objectives.build_networks(_config(layers=kind))
    outs[kind] = (sampling.decode(nets, state, z), sampling.reconstructions(nets, state, x))
  for a, b in zip(outs['rewrite'], outs['flax']):
    np.testing.assert_allclose(a, b, atol=2e-5)
  # Resuming with the other kind is allowed and said; it trains on with flax layers.
  out = io.StringIO()
  trainer.train_and_evaluate(_config(layers='flax', num_train_steps=5), str(tmp_path / 'r'),
                             out=out, write_summaries=False)
  assert "resuming with changed: layers 'rewrite' -> 'flax'" in out.getvalue()
  assert 'step 5/5' in out.getvalue()


def test_a_training_step_agrees_between_the_kinds(tmp_path):
  finals = {}
  for kind in ('rewrite', 'flax'):
    finals[kind] = trainer.train_and_evaluate(
        _config(layers=kind), str(tmp_path / kind), out=io.StringIO(),
        write_summaries=False)
  for a, b in zip(jax.tree.leaves(finals['rewrite'].params),
                  jax.tree.leaves(finals['flax'].params)):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_blur_is_the_binomial_filter_and_stops_the_checkerboard_gradient():
  x = jnp.asarray(np.random.RandomState(0).randn(2, 6, 7, 3), jnp.float32)
  padded = np.pad(np.asarray(x), ((0, 0), (1, 1), (1, 1), (0, 0)), mode='edge')
  k = np.array([1.0, 2.0, 1.0]) / 4
  want = sum(k[a] * k[b] * padded[:, a:a + 6, b:b + 7] for a in range(3) for b in range(3))
  np.testing.assert_allclose(layers.blur(x), want, atol=1e-6)
  # The Nyquist checkerboard is the filter's null frequency: a loss that reads it sends
  # no gradient back through the blur (away from the repeated edges).
  sign = (-1.0) ** (np.arange(6)[:, None] + np.arange(7)[None, :])
  g = jax.grad(lambda v: jnp.sum(layers.blur(v) * sign[None, :, :, None]))(x)
  np.testing.assert_allclose(np.asarray(g)[:, 1:-1, 1:-1], 0.0, atol=1e-6)
  assert np.abs(np.asarray(g)).max() > 0.1


def test_dis_blur_keeps_the_parameters_and_changes_the_discriminator():
  config = tiny.get_config()
  nets = objectives.build_networks(config)
  config.dis_blur = True
  blurred = objectives.build_networks(config)
  assert blurred.discriminator.blur and not nets.discriminator.blur
  p, s = networks.init_variables(nets, jax.random.PRNGKey(0), config)
  p_b, _ = networks.init_variables(blurred, jax.random.PRNGKey(0), config)
  assert jax.tree.map(jnp.shape, p) == jax.tree.map(jnp.shape, p_b)
  x = jnp.asarray(np.random.RandomState(1).randn(4, 16, 16, 1), jnp.float32)
  variables = {'params': p['discriminator'], 'batch_stats': s['discriminator']}
  plain = nets.discriminator.apply(variables, x, train=False)
  smooth = blurred.discriminator.apply(variables, x, train=False)
  assert np.all(np.isfinite(smooth[0])) and not np.allclose(plain[0], smooth[0])
