"""--config.compute_dtype=bfloat16: bf16 activations and convolutions, float32 state."""

import functools
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from vaegan_jax import objectives
from vaegan_jax import sampling
from vaegan_jax import train_state as ts
from vaegan_jax import train_step as tstep
from vaegan_jax import trainer
from vaegan_jax import validation


def _config(**overrides):
  c = tiny.get_config()
  c.update(dict(num_train_steps=3, log_every=1, checkpoint_every=100, image_every=0))
  c.update(overrides)
  return c


@pytest.mark.parametrize('kind', ['rewrite', 'flax'])
def test_convolutions_run_in_bf16_and_outputs_are_float32(kind):
  for dt, has_bf16 in (('float32', False), ('bfloat16', True)):
    c = _config(compute_dtype=dt, layers=kind)
    nets = objectives.build_networks(c)
    state = ts.create(c, nets, ts.make_optimizers(c, nets.roles()))
    z = jnp.zeros((2, c.latent_dim))
    jaxpr = str(jax.make_jaxpr(lambda s, z: sampling.decode(nets, s, z))(state, z))
    convs = [l for l in jaxpr.splitlines() if 'conv_general_dilated' in l]
    assert convs and all(('bf16[' in l) == has_bf16 for l in convs), convs
    x = sampling.decode(nets, state, z)
    mu = sampling.encode(nets, state, x)
    assert x.dtype == mu.dtype == jnp.float32
  with pytest.raises(validation.ConfigError, match='compute_dtype'):
    validation.validate(_config(compute_dtype='float16'))


def test_bf16_trains_with_a_float32_state_and_finite_losses(tmp_path):
  out = io.StringIO()
  state = trainer.train_and_evaluate(_config(compute_dtype='bfloat16'), str(tmp_path),
                                     out=out, write_summaries=False)
  assert 'step 3/3' in out.getvalue()
  for part in (state.params, state.opt_state, state.batch_stats):
    floats = [x for x in jax.tree.leaves(part) if jnp.issubdtype(x.dtype, jnp.floating)]
    assert floats and all(x.dtype == jnp.float32 for x in floats)
    assert all(np.all(np.isfinite(x)) for x in floats)
  nets = objectives.build_networks(_config(compute_dtype='bfloat16'))
  samples = sampling.decode(nets, state, jnp.ones((4, tiny.get_config().latent_dim)))
  assert samples.dtype == jnp.float32 and np.all(np.abs(np.asarray(samples)) <= 1)


@pytest.mark.parametrize('model', ['vaegan', 'dcgan'])  # every role, both GAN kinds
def test_bf16_gradients_agree_with_float32(model):
  # Measured on the tiny and the default digits configs at initialisation: cosine
  # 0.97-0.9996 between the bf16 and float32 gradient of each role, losses within 0.5%.
  # (The discriminator's gradient at initialisation is a small difference of real and
  # fake terms, the least precise.) Tolerance: cosine >= 0.95, losses within 1%.
  out = {}
  for dt in ('float32', 'bfloat16'):
    c = _config(compute_dtype=dt, model=model)
    nets = objectives.build_networks(c)
    state = ts.create(c, nets, ts.make_optimizers(c, nets.roles()))
    x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (16, 16, 16, 1)), jnp.float32)
    objective = functools.partial(objectives.get(model), nets=nets, config=c,
                                  axis_name=None)
    out[dt] = tstep.role_gradients(objective, state.params, state.batch_stats,
                                   {'image': x}, jax.random.PRNGKey(0))[:2]
  (g32, l32), (g16, l16) = out['float32'], out['bfloat16']
  for role in g32:
    a = np.concatenate([np.ravel(v) for v in jax.tree.leaves(g32[role])])
    b = np.concatenate([np.ravel(v) for v in jax.tree.leaves(g16[role])])
    assert b.dtype == np.float32
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert cos >= 0.95, (role, cos)
    assert float(l16[role]) == pytest.approx(float(l32[role]), rel=1e-2), role
