"""Training survives signals, damaged checkpoints, changed configs and a second run, in
process (train.py itself under kill -9 and SIGTERM: test_kill.py)."""

import glob
import io
import json
import os
import signal

import jax
import pytest

from configs import tiny
from vaegan_jax import checkpointing
from vaegan_jax import preemption
from vaegan_jax import sample_cli
from vaegan_jax import trainer
from vaegan_jax import validation
from vaegan_jax import workdir as wd
from tests.tree_checks import assert_same_state


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


# SIGTERM takes the same path; train.py's exit status for it is tested in test_kill.py.
@pytest.mark.parametrize('sig', [signal.SIGINT])
def test_a_signal_saves_the_current_step_and_the_resumed_run_is_exact(tmp_path, sig,
                                                                      straight):

  def send(step, means):  # log_every=1: after step 3 the process receives the signal
    if step == 3:
      os.kill(os.getpid(), sig)

  # What the process had before training (SIG_IGN in a job started in the background by
  # a non-interactive shell, Python's default handler otherwise): the run must put it back.
  before = signal.getsignal(sig)
  with pytest.raises(preemption.Stopped) as e:
    _train(tmp_path / 'b', on_log=send, num_train_steps=6, log_every=1,
           checkpoint_every=100)
  assert e.value.signum == sig
  name = signal.Signals(sig).name
  assert f'stopped by {name} at step 3; checkpoint saved' in _train.log
  assert checkpointing.manager(str(tmp_path / 'b')).all_steps() == [3]
  assert signal.getsignal(sig) is before  # restored
  resumed = _train(tmp_path / 'b', num_train_steps=6)
  assert 'at step 3' in _train.log
  assert_same_state(straight, resumed)


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
  assert_same_state(straight, resumed)


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
                              ('enc_widths', (4, 8), 'enc_widths'),
                              ('ema_decay', 0.99, 'ema_decay 0.0 -> 0.99')]:
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
