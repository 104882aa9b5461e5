"""The moving average of the generator's parameters (config.ema_decay)."""

import io

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from configs import tiny
from vaegan_jax import checkpointing
from vaegan_jax import objectives
from vaegan_jax import sample_cli
from vaegan_jax import sampling
from vaegan_jax import train_state as ts
from vaegan_jax import train_step as tstep
from vaegan_jax import trainer
from vaegan_jax import validation


def _config(**overrides):
  c = tiny.get_config()
  c.update(overrides)
  return c


def test_decay_warm_up_and_update_follow_the_formula():
  steps = jnp.arange(0, 20000, 997)
  d = np.asarray(jax.vmap(lambda t: ts.ema_decay_at(0.999, t))(steps))
  t = np.arange(0, 20000, 997, dtype=np.float64)
  np.testing.assert_allclose(d, np.minimum(0.999, (1 + t) / (10 + t)), rtol=1e-6)
  assert d[0] == pytest.approx(0.1) and d[-1] == pytest.approx(0.999)
  ema = {'decoder': {'w': jnp.array([1.0, 2.0])}}
  params = {'decoder': {'w': jnp.array([3.0, -2.0])}, 'discriminator': {'w': jnp.ones(2)}}
  new = ts.update_ema(ema, params, jnp.float32(0.25))
  assert set(new) == {'decoder'}  # only the averaged roles
  np.testing.assert_allclose(new['decoder']['w'], [0.25 * 1 + 0.75 * 3, 0.25 * 2 - 1.5])


def test_a_step_averages_the_generator_roles_and_off_keeps_no_average():
  config = _config(ema_decay=0.9)
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = ts.create(config, nets, txs)
  assert set(state.ema) == {'encoder', 'decoder'}
  p0 = jax.device_get(state.params)
  batch = {'image': jax.random.uniform(jax.random.PRNGKey(1), (config.batch_size, 16, 16, 1),
                                       minval=-1, maxval=1)}
  new, _ = jax.jit(tstep.step_fn(config, nets, txs))(state, batch)
  p1 = jax.device_get(new.params)
  d = 0.1  # min(0.9, (1 + 0) / (10 + 0)) at step 0
  for role in ('encoder', 'decoder'):
    jax.tree.map(lambda e, a, b: np.testing.assert_allclose(e, d * a + (1 - d) * b,
                                                            rtol=1e-5, atol=1e-7),
                 jax.device_get(new.ema[role]), p0[role], p1[role])
    # The update moved the raw parameters, so the average differs from them.
    assert any(np.abs(e - p).max() > 0 for e, p in zip(
        jax.tree.leaves(jax.device_get(new.ema[role])), jax.tree.leaves(p1[role])))
  off = ts.create(_config(ema_decay=0.0), nets, txs)
  assert off.ema == {} and ts.averaged(off) is off
  with pytest.raises(validation.ConfigError, match='ema_decay'):
    validation.validate(_config(ema_decay=1.0))


def test_sampling_uses_the_average_unless_no_ema(tmp_path):
  config = _config(ema_decay=0.5, num_train_steps=3, image_every=0)
  state = trainer.train_and_evaluate(config, str(tmp_path), out=io.StringIO(),
                                     write_summaries=False)
  nets = objectives.build_networks(config)
  z = jax.random.normal(jax.random.PRNGKey(4), (6, config.latent_dim))
  kw = dict(num=6, seed=4, out=str(tmp_path / 'g.png'), sampler='prior')
  averaged = sample_cli.sample_main(str(tmp_path), **kw)
  raw = sample_cli.sample_main(str(tmp_path), ema=False, **kw)
  np.testing.assert_allclose(averaged, sampling.decode(nets, ts.averaged(state), z), atol=1e-5)
  np.testing.assert_allclose(raw, sampling.decode(nets, state, z), atol=1e-5)
  assert np.abs(averaged - raw).max() > 1e-6  # images ~1e-3 after 3 steps


class _StateBeforeEma(flax.struct.PyTreeNode):
  """The train state's layout before it had the `ema` field."""
  step: jax.Array
  params: dict
  batch_stats: dict
  opt_state: dict
  key: jax.Array


def test_a_checkpoint_from_before_the_average_restores(tmp_path):
  config = _config()
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = jax.device_get(ts.create(config, nets, txs))
  old = _StateBeforeEma(step=state.step, params=state.params, batch_stats=state.batch_stats,
                        opt_state=state.opt_state, key=state.key)
  mngr = checkpointing.manager(str(tmp_path))
  mngr.save(0, args=ocp.args.StandardSave(old))  # as checkpointing.save did then
  mngr.wait_until_finished()
  mngr.close()
  mngr = checkpointing.manager(str(tmp_path), read_only=True)
  restored = checkpointing.restore(mngr, jax.eval_shape(lambda: ts.create(config, nets, txs)))
  mngr.close()
  assert restored.ema == {}
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(restored.params), state.params)


def test_the_averaged_networks_keep_their_own_batchnorm_statistics():
  # Each step runs the objective's forward pass with the averaged parameters on the
  # step's batch and key; its BatchNorm statistics are what sampling uses with them.
  config = _config(ema_decay=0.9, critic_steps=0)
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = ts.create(config, nets, txs)
  assert set(state.ema_batch_stats) == {'encoder', 'decoder'}
  batch = {'image': jax.random.uniform(jax.random.PRNGKey(1), (config.batch_size, 16, 16, 1),
                                       minval=-1, maxval=1)}
  new, _ = jax.jit(tstep.step_fn(config, nets, txs))(state, batch)
  objective = objectives.get(config.model)
  _, aux = objective({**new.params, **new.ema}, {**new.batch_stats, **state.ema_batch_stats},
                     batch, jax.random.fold_in(state.key, state.step), nets=nets,
                     config=config)
  for role in ('encoder', 'decoder'):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 jax.device_get(new.ema_batch_stats[role]),
                 jax.device_get(aux['batch_stats'][role]))
    # Not the raw networks' statistics: the averaged weights see other activations.
    assert any(np.abs(a - b).max() > 1e-6 for a, b in zip(
        jax.tree.leaves(jax.device_get(new.ema_batch_stats[role])),
        jax.tree.leaves(jax.device_get(new.batch_stats[role]))))
  averaged = ts.averaged(new)
  assert averaged.batch_stats['decoder'] is new.ema_batch_stats['decoder']
  assert averaged.batch_stats['discriminator'] is new.batch_stats['discriminator']
  assert ts.create(_config(ema_decay=0.0), nets, txs).ema_batch_stats == {}


def test_an_averaged_checkpoint_from_before_its_statistics_restores_with_the_raw_ones(
    tmp_path):
  config = _config(ema_decay=0.9)
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = jax.device_get(ts.create(config, nets, txs))
  state = state.replace(batch_stats=jax.tree.map(lambda x: x + 1.0, state.batch_stats))
  mngr = checkpointing.manager(str(tmp_path))
  checkpointing.save(mngr, state.replace(ema_batch_stats={}))  # the layout written then
  checkpointing.wait(mngr)
  mngr.close()
  mngr = checkpointing.manager(str(tmp_path), read_only=True)
  restored = checkpointing.restore(mngr, jax.eval_shape(lambda: ts.create(config, nets, txs)))
  mngr.close()
  assert set(restored.ema_batch_stats) == {'encoder', 'decoder'}
  for role in ('encoder', 'decoder'):
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(restored.ema_batch_stats[role]),
                 state.batch_stats[role])
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(restored.ema['decoder']),
               state.ema['decoder'])


def test_a_checkpoint_whose_averaged_statistics_do_not_restore_is_not_given_the_raw_ones(
    tmp_path):
  """The older layout is read from the checkpoint's metadata, not guessed from an error:
  statistics that are there but do not fit (no checksums to catch it) fail the restore."""
  config = _config(ema_decay=0.9)
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = jax.device_get(ts.create(config, nets, txs))
  bad = jax.tree.map(lambda x: np.zeros((1,), x.dtype), state.ema_batch_stats)
  mngr = checkpointing.manager(str(tmp_path))
  checkpointing.save(mngr, state.replace(ema_batch_stats=bad), write_checksums=False)
  checkpointing.wait(mngr)
  mngr.close()
  mngr = checkpointing.manager(str(tmp_path), read_only=True)
  with pytest.raises(checkpointing.CheckpointError, match='step 0'):
    checkpointing.restore(mngr, jax.eval_shape(lambda: ts.create(config, nets, txs)))
  mngr.close()
