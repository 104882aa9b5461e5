"""Data parallelism, both modes of config.parallel ('jit': a device mesh, the batch
sharded; 'pmap'): 8 CPU devices equal 1 device; the noise of an example does not
depend on the device count; two processes train as one.

They run in subprocesses: the device count is fixed when JAX starts, and
jax.distributed must not touch the test process.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_EIGHT_VS_ONE = textwrap.dedent('''
    import importlib, json, sys, jax, jax.numpy as jnp, numpy as np
    from configs import tiny
    from vaegan_jax import input_pipeline, labels, objectives, parallel
    from vaegan_jax import train_state as ts, train_step as tstep
    assert jax.local_device_count() == 8
    model, _, extra = sys.argv[1].partition('+')
    mode = sys.argv[2]
    config = importlib.import_module(f'configs.{model}_digits').get_config()
    small = tiny.get_config()
    config.update({k: small[k] for k in ('latent_dim', 'enc_widths', 'enc_dense',
                   'dec_dense_channels', 'dec_widths', 'dis_widths', 'dis_dense')})
    config.batch_size = 16
    config.parallel = mode
    if model == 'wgan':
      config.critic_steps = 2  # a step reads 2 micro-batches of 16
    if extra == 'aux':  # labelled rows differ per device: the mean is over all of them
      config.aux_weight, config.labeled_fraction = 1.0, 0.5
    if extra == 'conditional':
      config.conditional = True
    if extra == 'ema':  # the averages and their BatchNorm statistics, averaged over devices
      config.ema_decay = 0.9
    ds = input_pipeline.load(config)
    labels.resolve(config, ds)
    ds = labels.prepare(config, ds)
    nets = objectives.build_networks(config)
    txs = ts.make_optimizers(config, nets.roles())
    state = ts.create(config, nets, txs)
    batch = input_pipeline.batch_for_step(ds, tstep.examples_per_step(config), 0, 0)
    first16 = jax.tree.map(lambda x: x[:16], batch)
    key = jax.random.PRNGKey(7)

    # One device: plain jit, the global batch.
    obj1 = tstep.step_fn(config, nets, txs).keywords['objective']
    g1, l1, _ = jax.jit(lambda s, b: tstep.role_gradients(
        obj1, s.params, s.batch_stats, b, key))(state, first16)
    s1, m1 = tstep.make_train_step(config, nets, txs)(jax.tree.map(jnp.copy, state), batch)

    # Eight devices, 1/8 of the examples each, as the trainer runs them.
    par = parallel.DataParallel(config)
    assert par.mode == mode and par.per_device == 2
    if mode == 'pmap':
      pnets = objectives.build_networks(config, axis_name=tstep.AXIS)
      obj8 = tstep.step_fn(config, pnets, txs, tstep.AXIS).keywords['objective']
      g8, l8 = jax.pmap(lambda s, b: jax.lax.pmean(tstep.role_gradients(
          obj8, s.params, s.batch_stats, b, key)[:2], tstep.AXIS),
          axis_name=tstep.AXIS)(par.put_state(state), par.put_batch(first16))
    else:  # one program over the mesh: the one-device objective on the sharded batch
      g8, l8 = jax.jit(lambda s, b: tstep.role_gradients(
          obj1, s.params, s.batch_stats, b, key)[:2],
          in_shardings=(par.replicated, par.sharded), out_shardings=par.replicated)(
              par.put_state(state), par.put_batch(first16))
      x = par.put_batch(batch)['image']
      assert x.shape[0] == tstep.examples_per_step(config)
      assert sorted(s.data.shape[0] for s in x.addressable_shards) == [x.shape[0] // 8] * 8
    step8 = par.train_step(config, txs, nets)
    s8, m8 = step8(par.put_state(state), par.put_batch(batch))

    def diff(a, b):
      a, b = jax.tree.leaves(jax.device_get(a)), jax.tree.leaves(jax.device_get(b))
      assert len(a) == len(b)
      return max((float(np.max(np.abs(np.asarray(x) - np.asarray(y)) /
                            (np.max(np.abs(np.asarray(x))) + 1e-6))) for x, y in zip(a, b)),
                 default=0.0)
    d = {'grads': diff(g1, parallel.unreplicate(g8)),
         'losses': diff(l1, parallel.unreplicate(l8)),
         'params': diff(s1.params, parallel.unreplicate(s8.params)),
         'batch_stats': diff(s1.batch_stats, parallel.unreplicate(s8.batch_stats)),
         'ema': diff((s1.ema, s1.ema_batch_stats),
                     parallel.unreplicate((s8.ema, s8.ema_batch_stats))),
         'has_ema': bool(jax.tree.leaves(s1.ema_batch_stats)),
         'metrics': diff(m1, parallel.unreplicate(m8)),
         'grad_norm': float(m1['grad_norm/decoder'])}
    s8b, _ = step8(s8, par.put_batch(batch))  # the donated state, stepped again
    if mode == 'jit':  # its outputs have its inputs' shardings: no second compile
      assert step8._cache_size() == 1, step8._cache_size()
    same_on_devices = all(
        len(x.addressable_shards) == 8 and
        all(np.array_equal(np.asarray(s.data), np.asarray(x.addressable_shards[0].data))
            for s in x.addressable_shards)
        for x in jax.tree.leaves(s8b.params))
    print(json.dumps({**d, 'replicas_identical': same_on_devices,
                      'step': int(parallel.unreplicate(s8b.step))}))
''')


def _python(code, env=None, timeout=300, args=()):
  return subprocess.run([sys.executable, '-c', code, *args], cwd=ROOT, capture_output=True,
                        text=True, timeout=timeout, env={**os.environ, **(env or {})})


# Both modes for the VAE-GAN; in 'jit' (the default) also wgan: 2 critic micro-batches;
# +aux: the VAE-GAN with the auxiliary head and half the labels hidden (devices hold
# different numbers of labelled rows); +ema: a moving average and its networks'
# BatchNorm statistics. The plain VAE-GAN in 'jit' (+aux's step without the head),
# '+conditional' (labels into every network) and the other pairs also pass; left out of
# the suite for time.
@pytest.mark.parametrize('model,mode', [('vaegan+ema', 'pmap'), ('wgan', 'jit'),
                                        ('vaegan+aux', 'jit')])
def test_one_step_on_8_devices_equals_one_step_on_1_device(model, mode):
  r = _python(_EIGHT_VS_ONE, {'XLA_FLAGS': '--xla_force_host_platform_device_count=8'},
              args=(model, mode))
  assert r.returncode == 0, r.stderr[-3000:]
  d = json.loads(r.stdout.strip().splitlines()[-1])
  assert d['replicas_identical'] and d['step'] == 2
  assert d['grad_norm'] > 0 and d['has_ema'] == model.endswith('+ema')
  # Relative to each array's scale; float32 sums in a different order.
  for k in ('grads', 'losses', 'params', 'batch_stats', 'metrics', 'ema'):
    assert d[k] < 1e-4, (k, d)


_NOISE = textwrap.dedent('''
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P
    from vaegan_jax import objectives, parallel, train_step as tstep
    key, shape = jax.random.PRNGKey(3), (16, 5)
    x = np.zeros(shape, np.float32)  # a batch: the noise follows its sharding
    draw = lambda x, k: x + objectives.per_example_normal(k, x.shape)
    one = np.asarray(jax.jit(draw)(x, key))
    for n in (1, 2, 8):  # the jit step's noise on meshes of n devices
      mesh = parallel.data_mesh(jax.devices()[:n])
      rows = NamedSharding(mesh, P(parallel.DATA))
      out = jax.jit(draw, in_shardings=(rows, NamedSharding(mesh, P())),
                    out_shardings=rows)(x, key)
      assert len(out.addressable_shards) == n
      assert np.array_equal(np.asarray(out), one), n
    # pmap: each device draws its block by global index
    pm = jax.pmap(lambda x, k: x + objectives.per_example_normal(k, x.shape, tstep.AXIS),
                  axis_name=tstep.AXIS, in_axes=(0, None))(x.reshape(8, 2, 5), key)
    assert np.array_equal(np.asarray(pm).reshape(shape), one)
    assert len(np.unique(one)) == one.size  # every example draws its own noise
    print('OK')
''')


def test_per_example_noise_does_not_depend_on_the_device_count():
  r = _python(_NOISE, {'XLA_FLAGS': '--xla_force_host_platform_device_count=8'})
  assert r.returncode == 0 and r.stdout.strip().endswith('OK'), r.stderr[-3000:]


def test_parallel_mode_is_validated():
  from configs import tiny  # pylint: disable=g-import-not-at-top
  from vaegan_jax import parallel, validation  # pylint: disable=g-import-not-at-top
  config = tiny.get_config()
  assert config.parallel == 'jit'  # the default
  config.parallel = 'shard_map'
  for check in (validation.validate, parallel.DataParallel):
    with pytest.raises(validation.ConfigError) as e:
      check(config)
    assert '\n' not in str(e.value) and '--config.parallel' in str(e.value)
    assert 'jit, pmap' in str(e.value) and 'shard_map' in str(e.value)


_WORKER = textwrap.dedent('''
    import io, sys, hashlib, numpy as np
    from configs import tiny
    from vaegan_jax import trainer
    config = tiny.get_config()
    config.update(dict(parallel=sys.argv[2], num_train_steps=int(sys.argv[3]),
                       checkpoint_every=3, log_every=1))
    out = io.StringIO()
    state = trainer.train_and_evaluate(config, sys.argv[1], out=out, write_summaries=False)
    import jax
    leaves = [np.asarray(x) for x in jax.tree.leaves(state.params)]
    digest = hashlib.sha256(b''.join(x.tobytes() for x in leaves)).hexdigest()
    print('RESULT', jax.process_index(), jax.process_count(), int(state.step), digest)
    print('LOG', repr(out.getvalue()))
''')


def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _two_processes(workdir, mode, steps):
  """Trains in two processes; (results [process, count, step, digest], logs) by rank."""
  env = {'JAX_COORDINATOR_ADDRESS': f'127.0.0.1:{_free_port()}', 'JAX_NUM_PROCESSES': '2'}
  procs = [subprocess.Popen([sys.executable, '-c', _WORKER, workdir, mode, str(steps)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **env, 'JAX_PROCESS_ID': str(i)})
           for i in range(2)]
  outs = []
  for p in procs:
    try:
      stdout, stderr = p.communicate(timeout=300)
    finally:
      p.kill()
    assert p.returncode == 0, stderr[-3000:]
    outs.append(stdout)
  results = [next(l.split() for l in o.splitlines() if l.startswith('RESULT'))
             for o in outs]
  assert sorted(r[1] for r in results) == ['0', '1']
  assert all(r[2] == '2' and r[3] == str(steps) for r in results)
  assert results[0][4] == results[1][4]  # identical parameters on both processes
  logs = [next(l for l in o.splitlines() if l.startswith('LOG')) for o in outs]
  return dict(zip((r[1] for r in results), logs))


def test_two_processes_train_identically_and_one_process_samples(tmp_path):
  """jit mode (global arrays, the batch assembled from both processes' halves, orbax
  writing global arrays), then pmap mode resuming the same run for 2 more steps."""
  workdir = str(tmp_path / 'run')
  by_rank = _two_processes(workdir, 'jit', 3)
  assert 'step 3/3' in by_rank['0'] and 'step 3/3' not in by_rank['1']  # process 0 logs
  assert '2 cpu devices (2 processes x 1), 4 examples per device (jit)' in by_rank['0']

  out_png = str(tmp_path / 's.png')
  r = subprocess.run([sys.executable, 'sample.py', '--workdir', workdir, '--num', '4',
                      '--out', out_png, '--save_array', str(tmp_path / 's.npy')],
                     cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert r.returncode == 0, r.stderr[-3000:]
  images = np.load(tmp_path / 's.npy')
  assert images.shape == (4, 16, 16, 1) and np.all(np.abs(images) <= 1.0)

  by_rank = _two_processes(workdir, 'pmap', 5)  # the jit run's checkpoint, resumed
  assert 'resumed from' in by_rank['0'] and 'at step 3' in by_rank['0']
  assert "parallel 'jit' -> 'pmap'" in by_rank['0'] and '(pmap)' in by_rank['0']
  assert 'step 5/5' in by_rank['0']


def test_resume_in_pmap_mode_is_bitwise_identical_to_uninterrupted(tmp_path):
  """pmap mode keeps the guarantees of the default mode (jit: test_trainer.py)."""
  import io  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  from configs import tiny  # pylint: disable=g-import-not-at-top
  from vaegan_jax import trainer  # pylint: disable=g-import-not-at-top
  from tests.tree_checks import assert_same_state  # pylint: disable=g-import-not-at-top

  def train(workdir, steps):
    config = tiny.get_config()
    config.update(dict(parallel='pmap', num_train_steps=steps, image_every=0))
    out = io.StringIO()
    state = trainer.train_and_evaluate(config, str(workdir), out=out, write_summaries=False)
    return jax.device_get(state), out.getvalue()

  straight, log = train(tmp_path / 'a', 4)
  assert 'examples per device (pmap)' in log
  train(tmp_path / 'b', 2)
  resumed, log = train(tmp_path / 'b', 4)
  assert 'resumed' in log and 'at step 2' in log
  assert int(resumed.step) == int(straight.step) == 4
  assert_same_state(straight, resumed)
