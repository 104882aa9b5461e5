"""Training survives signals, kill -9, damaged checkpoints, changed configs and a second run."""

import glob
import io
import json
import os
import random
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from configs import tiny
from vaegan_jax import checkpointing
from vaegan_jax import preemption
from vaegan_jax import sample_cli
from vaegan_jax import trainer
from vaegan_jax import validation
from vaegan_jax import workdir as wd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config(**overrides):
  config = tiny.get_config()
  config.update(overrides)
  return config


def _train(workdir, on_log=None, **overrides):
  out = io.StringIO()
  try:
    state = trainer.train_and_evaluate(_config(**overrides), str(workdir), out=out,
                                       write_summaries=False, on_log=on_log)
  finally:
    _train.log = out.getvalue()
  return jax.device_get(state)


def _assert_same_state(a, b):
  for part in ('params', 'batch_stats', 'opt_state', 'key'):
    jax.tree.map(np.testing.assert_array_equal, getattr(a, part), getattr(b, part))


def _files(workdir):
  """{relative path: bytes} of every file of a run."""
  out = {}
  for path in glob.glob(os.path.join(str(workdir), '**', '*'), recursive=True):
    if os.path.isfile(path):
      with open(path, 'rb') as f:
        out[os.path.relpath(path, str(workdir))] = f.read()
  return out


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
  """An uninterrupted 6-step run, the reference of the exactness tests."""
  return _train(tmp_path_factory.mktemp('straight'), num_train_steps=6)


# SIGTERM takes the same path; train.py's exit status for it is tested with kill -9.
@pytest.mark.parametrize('sig', [signal.SIGINT])
def test_a_signal_saves_the_current_step_and_the_resumed_run_is_exact(tmp_path, sig,
                                                                      straight):

  def send(step, means):  # log_every=1: after step 3 the process receives the signal
    if step == 3:
      os.kill(os.getpid(), sig)

  with pytest.raises(preemption.Stopped) as e:
    _train(tmp_path / 'b', on_log=send, num_train_steps=6, log_every=1,
           checkpoint_every=100)
  assert e.value.signum == sig
  name = signal.Signals(sig).name
  assert f'stopped by {name} at step 3; checkpoint saved' in _train.log
  assert checkpointing.manager(str(tmp_path / 'b')).all_steps() == [3]
  assert signal.getsignal(sig) in (signal.default_int_handler, signal.SIG_DFL)  # restored
  resumed = _train(tmp_path / 'b', num_train_steps=6)
  assert 'at step 3' in _train.log
  _assert_same_state(straight, resumed)


def test_kill_9_at_random_points_and_sigterm_then_resume_is_bitwise_identical(tmp_path):
  """train.py killed 3 times at random points, then stopped by SIGTERM (exit 143, one
  line), then resumed to the end: bitwise the uninterrupted run."""
  steps = 40
  flags = ['--config', os.path.join(ROOT, 'configs', 'tiny.py'),
           f'--config.num_train_steps={steps}', '--config.log_every=1',
           '--config.checkpoint_every=1', '--config.max_to_keep=2',
           '--config.image_every=0']
  run = lambda w: [sys.executable, os.path.join(ROOT, 'train.py'), f'--workdir={w}', *flags]
  subprocess.run(run(tmp_path / 'a'), check=True, capture_output=True, cwd=ROOT)
  rng = random.Random(0)
  reached = 0  # kill -9 a random time after a random later step is logged, 3 times
  for lo, hi in [(1, 8), (9, 16), (17, steps - 2)]:
    target = rng.randrange(max(lo, reached + 1), hi + 1)
    proc = subprocess.Popen(run(tmp_path / 'b'), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    for line in proc.stdout:
      if line.startswith('step'):
        reached = int(line.split()[1].split('/')[0])
        if reached >= target:
          time.sleep(rng.uniform(0.0, 0.05))
          break
    proc.kill()
    proc.wait()
    assert reached < steps  # each kill lands before the end of the run
  proc = subprocess.Popen(run(tmp_path / 'b'), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT)
  for line in proc.stdout:
    if line.startswith('step'):  # training has resumed
      break
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == 128 + signal.SIGTERM, err
  stopped = [l for l in out.splitlines() if l.startswith('stopped by SIGTERM')]
  assert len(stopped) == 1 and 'checkpoint saved' in stopped[0], out
  assert 'Traceback' not in err
  step = int(stopped[0].split('at step ')[1].split(';')[0])
  assert checkpointing.manager(str(tmp_path / 'b')).latest_step() == step < steps
  final = subprocess.run(run(tmp_path / 'b'), check=True, capture_output=True, text=True,
                         cwd=ROOT)
  assert f'resumed from' in final.stdout and f'at step {step}' in final.stdout
  assert f'step {steps}/{steps}' in final.stdout and 'ETA' in final.stdout
  assert os.path.isdir(tmp_path / 'b' / 'tb')
  restore = lambda w: sample_cli.restore(str(w))[2]
  a, b = restore(tmp_path / 'a'), restore(tmp_path / 'b')
  assert int(a.step) == int(b.step) == steps
  _assert_same_state(a, b)


def _flip_bytes(step_dir):
  """Damages every data file of a checkpoint (one byte each, mid-file)."""
  for path in glob.glob(os.path.join(step_dir, '**', 'd', '*'), recursive=True):
    with open(path, 'r+b') as f:
      data = bytearray(f.read())
      data[len(data) // 2] ^= 0xFF
      f.seek(0)
      f.write(data)


def test_a_damaged_checkpoint_is_skipped_kept_and_training_resumes_exactly(tmp_path,
                                                                          straight):
  _train(tmp_path / 'b', num_train_steps=4, checkpoint_every=2)
  _flip_bytes(str(tmp_path / 'b' / 'checkpoints' / '4'))
  warnings = []
  _, _, state = sample_cli.restore(str(tmp_path / 'b'), warn=warnings.append)
  assert int(state.step) == 2
  assert len(warnings) == 1 and 'step 4' in warnings[0] and 'does not restore' in warnings[0]
  resumed = _train(tmp_path / 'b', num_train_steps=6)
  assert 'skipped the checkpoint of step 4' in _train.log and 'at step 2' in _train.log
  assert os.path.isdir(tmp_path / 'b' / checkpointing.CORRUPT_DIR / '4')  # kept
  _assert_same_state(straight, resumed)


def test_a_flipped_array_byte_that_orbax_misses_is_caught_by_the_checksum(tmp_path):
  _train(tmp_path, num_train_steps=2)
  mngr = checkpointing.manager(str(tmp_path))
  abstract = sample_cli.restore(str(tmp_path))[2]
  crc = tmp_path / checkpointing.CHECKSUM_DIR / '2.json'
  saved = json.loads(crc.read_text())
  name = next(iter(saved))
  saved[name] = f'{(int(saved[name], 16) ^ 1):08x}'  # as if the array's bytes changed
  crc.write_text(json.dumps(saved))
  with pytest.raises(checkpointing.CheckpointError, match='checksum mismatch'):
    checkpointing.restore(mngr, abstract)
  with pytest.raises(checkpointing.CheckpointError, match='does not restore'):
    checkpointing.restore(mngr, abstract, step=2)


def test_no_checkpoint_restores_is_one_error_and_nothing_is_deleted(tmp_path):
  _train(tmp_path, num_train_steps=2)
  _flip_bytes(str(tmp_path / 'checkpoints' / '2'))
  before = _files(tmp_path)
  with pytest.raises(checkpointing.CheckpointError, match='no checkpoint .* restores'):
    _train(tmp_path, num_train_steps=4)
  after = _files(tmp_path)
  after.pop(wd.LOCK_FILE, None), before.pop(wd.LOCK_FILE, None)
  assert after == before


def test_a_changed_shape_is_refused_before_anything_is_written(tmp_path):
  _train(tmp_path, num_train_steps=2)
  before = _files(tmp_path)
  for field, value, shown in [('latent_dim', 5, 'latent_dim 8 -> 5'),
                              ('model', 'vae', "model 'vaegan' -> 'vae'"),
                              ('image_size', 8, 'image_size 16 -> 8'),
                              ('enc_widths', (4, 8), 'enc_widths')]:
    with pytest.raises(validation.ConfigError) as e:
      _train(tmp_path, num_train_steps=4, **{field: value})
    assert shown in str(e.value) and '--workdir' in str(e.value)
    assert '\n' not in str(e.value)
    after = _files(tmp_path)
    after.pop(wd.LOCK_FILE, None)
    assert after == {k: v for k, v in before.items() if k != wd.LOCK_FILE}


def test_safe_changes_resume_are_listed_and_kept_in_the_history(tmp_path):
  _train(tmp_path, num_train_steps=2)
  _train(tmp_path, num_train_steps=3, log_every=3, learning_rate=1e-4)
  assert ('resuming with changed: learning_rate 0.0002 -> 0.0001, log_every 2 -> 3, '
          'num_train_steps 2 -> 3') in _train.log
  history = checkpointing.load_history(str(tmp_path))
  assert [h['step'] for h in history] == [0, 2]
  assert history[1]['changed'] == {'learning_rate': [2e-4, 1e-4], 'log_every': [2, 3],
                                   'num_train_steps': [2, 3]}
  assert checkpointing.load_config(str(tmp_path)).num_train_steps == 3


def test_a_second_run_on_a_busy_workdir_is_refused_and_a_dead_ones_lock_taken_over(
    tmp_path):
  with wd.RunLock(str(tmp_path)):
    with pytest.raises(wd.WorkdirBusy, match=f'pid {os.getpid()}'):
      _train(tmp_path, num_train_steps=2)
  assert not (tmp_path / 'checkpoints').exists()
  # A lock file whose process is gone (its flock was released when it died).
  (tmp_path / wd.LOCK_FILE).write_text(json.dumps(dict(pid=999999, host='gone',
                                                       since='then')))
  _train(tmp_path, num_train_steps=2)
  assert 'took over' in _train.log and 'pid 999999' in _train.log


def test_sigterm_to_one_of_two_processes_stops_both_at_the_same_saved_step(tmp_path):
  """JAX's preemption service tells the other process; both save the same step."""
  import socket  # pylint: disable=g-import-not-at-top
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  cmd = [sys.executable, os.path.join(ROOT, 'train.py'), '--config',
         os.path.join(ROOT, 'configs', 'tiny.py'), f'--workdir={tmp_path}',
         '--config.num_train_steps=1000000', '--config.log_every=1',
         '--config.checkpoint_every=1000000']
  env = {**os.environ, 'JAX_COORDINATOR_ADDRESS': f'127.0.0.1:{port}',
         'JAX_NUM_PROCESSES': '2'}
  procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**env, 'JAX_PROCESS_ID': str(i)})
           for i in range(2)]
  try:
    for line in procs[0].stdout:  # process 0 logs: training has started
      if line.startswith('step'):
        break
    procs[1].send_signal(signal.SIGTERM)  # the process that does not log
    results = [p.communicate(timeout=180) for p in procs]
  finally:
    for p in procs:
      p.kill()
  for p, (out, err) in zip(procs, results):
    assert p.returncode == 128 + signal.SIGTERM, err[-2000:]
  stopped = [l for l in results[0][0].splitlines() if l.startswith('stopped by SIGTERM')]
  assert len(stopped) == 1, results[0]
  step = int(stopped[0].split('at step ')[1].split(';')[0])
  assert checkpointing.manager(str(tmp_path)).all_steps() == [step]
