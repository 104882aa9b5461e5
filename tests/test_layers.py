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
