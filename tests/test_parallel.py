"""Data parallelism: 8 CPU devices equal 1 device; two processes train as one.

Both run in subprocesses: the device count is fixed when JAX starts, and
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
    config = importlib.import_module(f'configs.{model}_digits').get_config()
    small = tiny.get_config()
    config.update({k: small[k] for k in ('latent_dim', 'enc_widths', 'enc_dense',
                   'dec_dense_channels', 'dec_widths', 'dis_widths', 'dis_dense')})
    config.batch_size = 16
    if model == 'wgan':
      config.critic_steps = 2  # a step reads 2 micro-batches of 16
    if extra == 'aux':  # labelled rows differ per device: the mean is over all of them
      config.aux_weight, config.labeled_fraction = 1.0, 0.5
    if extra == 'conditional':
      config.conditional = True
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

    # Eight devices: pmap, 1/8 of the examples each.
    pnets = objectives.build_networks(config, axis_name=tstep.AXIS)
    obj8 = tstep.step_fn(config, pnets, txs, tstep.AXIS).keywords['objective']
    pstate = parallel.replicate(state)
    g8, l8 = jax.pmap(lambda s, b: jax.lax.pmean(tstep.role_gradients(
        obj8, s.params, s.batch_stats, b, key)[:2], tstep.AXIS),
        axis_name=tstep.AXIS)(pstate, parallel.split(first16, 8))
    s8, m8 = tstep.make_parallel_train_step(config, pnets, txs)(
        pstate, parallel.split(batch, 8))

    def diff(a, b):
      a, b = jax.tree.leaves(jax.device_get(a)), jax.tree.leaves(jax.device_get(b))
      assert len(a) == len(b)
      return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)) /
                           (np.max(np.abs(np.asarray(x))) + 1e-6))) for x, y in zip(a, b))
    first = lambda t: jax.tree.map(lambda x: x[0], t)
    same_on_devices = all(bool(np.all(np.asarray(x) == np.asarray(x)[0]))
                          for x in jax.tree.leaves(jax.device_get(s8.params)))
    print(json.dumps({
        'grads': diff(g1, first(g8)), 'losses': diff(l1, first(l8)),
        'params': diff(s1.params, first(s8.params)),
        'batch_stats': diff(s1.batch_stats, first(s8.batch_stats)),
        'metrics': diff(m1, first(m8)), 'replicas_identical': same_on_devices,
        'grad_norm': float(m1['grad_norm/decoder'])}))
''')


def _python(code, env=None, timeout=300, args=()):
  return subprocess.run([sys.executable, '-c', code, *args], cwd=ROOT, capture_output=True,
                        text=True, timeout=timeout, env={**os.environ, **(env or {})})


# wgan: 2 critic micro-batches; +aux: the auxiliary head with half the labels hidden
# (devices hold different numbers of labelled rows). '+conditional' (labels into every
# network) also passes; left out of the suite for time.
@pytest.mark.parametrize('model', ['vaegan', 'wgan', 'vaegan+aux'])
def test_one_step_on_8_devices_equals_one_step_on_1_device(model):
  r = _python(_EIGHT_VS_ONE, {'XLA_FLAGS': '--xla_force_host_platform_device_count=8'},
              args=(model,))
  assert r.returncode == 0, r.stderr[-3000:]
  d = json.loads(r.stdout.strip().splitlines()[-1])
  assert d['replicas_identical']
  assert d['grad_norm'] > 0
  # Relative to each array's scale; float32 sums in a different order.
  for k in ('grads', 'losses', 'params', 'batch_stats', 'metrics'):
    assert d[k] < 1e-4, (k, d)


_WORKER = textwrap.dedent('''
    import io, sys, hashlib, numpy as np
    from configs import tiny
    from vaegan_jax import trainer
    config = tiny.get_config()
    config.update(dict(num_train_steps=3, checkpoint_every=3, log_every=1))
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


def test_two_processes_train_identically_and_one_process_samples(tmp_path):
  workdir = str(tmp_path / 'run')
  env = {'JAX_COORDINATOR_ADDRESS': f'127.0.0.1:{_free_port()}', 'JAX_NUM_PROCESSES': '2'}
  procs = [subprocess.Popen([sys.executable, '-c', _WORKER, workdir], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env, 'JAX_PROCESS_ID': str(i)})
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
  assert all(r[2] == '2' and r[3] == '3' for r in results)
  assert results[0][4] == results[1][4]  # identical parameters on both processes
  logs = [next(l for l in o.splitlines() if l.startswith('LOG')) for o in outs]
  by_rank = dict(zip((r[1] for r in results), logs))
  assert 'step 3/3' in by_rank['0'] and 'step 3/3' not in by_rank['1']  # process 0 logs
  assert '2 cpu devices (2 processes x 1)' in by_rank['0']

  out_png = str(tmp_path / 's.png')
  r = subprocess.run([sys.executable, 'sample.py', '--workdir', workdir, '--num', '4',
                      '--out', out_png, '--save_array', str(tmp_path / 's.npy')],
                     cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert r.returncode == 0, r.stderr[-3000:]
  images = np.load(tmp_path / 's.npy')
  assert images.shape == (4, 16, 16, 1) and np.all(np.abs(images) <= 1.0)
