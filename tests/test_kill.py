"""train.py as a cluster treats it: kill -9 at random points, SIGTERM, and a SIGTERM to one
of two processes (each test launches train.py several times; the in-process cases are in
test_preemption.py)."""

import os
import random
import signal
import subprocess
import sys
import time

from vaegan_jax import checkpointing
from vaegan_jax import sample_cli
from tests.tree_checks import assert_same_state

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_kill_9_at_random_points_and_sigterm_then_resume_is_bitwise_identical(tmp_path):
  """train.py killed twice at random points, then stopped by SIGTERM (exit 143, one
  line), then resumed to the end: bitwise the uninterrupted run."""
  steps = 40
  flags = ['--config', os.path.join(ROOT, 'configs', 'tiny.py'),
           f'--config.num_train_steps={steps}', '--config.log_every=1',
           '--config.checkpoint_every=1', '--config.max_to_keep=2',
           '--config.image_every=0']
  run = lambda w: [sys.executable, os.path.join(ROOT, 'train.py'), f'--workdir={w}', *flags]
  subprocess.run(run(tmp_path / 'a'), check=True, capture_output=True, cwd=ROOT)
  rng = random.Random(0)
  reached = 0  # kill -9 a random time after a random later step is logged, twice
  for lo, hi in [(1, 12), (13, steps - 2)]:
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
  assert 'resumed from' in final.stdout and f'at step {step}' in final.stdout
  assert f'step {steps}/{steps}' in final.stdout and 'ETA' in final.stdout
  assert os.path.isdir(tmp_path / 'b' / 'tb')
  restore = lambda w: sample_cli.restore(str(w))[2]
  a, b = restore(tmp_path / 'a'), restore(tmp_path / 'b')
  assert int(a.step) == int(b.step) == steps
  assert_same_state(a, b)


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
