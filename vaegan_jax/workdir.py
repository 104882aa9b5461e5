"""What a train.py workdir holds besides checkpoints: one run at a time, and its config.

- `RunLock`: `WORKDIR/run.lock` held with flock(2) while train.py runs, so a second run
  on the same workdir stops with one line naming the first. The kernel releases the
  lock when its process dies, however it dies; the next run takes it over and warns.
- `check_resume`: whether a config may resume the run saved in the workdir. Fields that
  change the shapes of the train state (or the model, or the image shape) cannot: the
  checkpoint would not fit. Everything else may, and is listed.
- `save_config`: config.json holds the latest config and `history`, one entry per
  training session: its first step, the time, and the fields it changed.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import json
import os
import socket

import jax

from vaegan_jax import checkpointing
from vaegan_jax import errors
from vaegan_jax import objectives
from vaegan_jax import train_state as ts

LOCK_FILE = 'run.lock'
HISTORY = checkpointing.HISTORY_KEY

# Fields that cannot change on resume whatever the state's shapes say.
ALWAYS_FIXED = ('model', 'image_size', 'channels')


WorkdirBusy = errors.WorkdirBusy


def _now() -> str:
  return datetime.datetime.now().isoformat(timespec='seconds')


def _writable(workdir: str) -> None:
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:
    raise errors.ConfigError(
        f'cannot create --workdir {workdir}: {e.strerror or e}') from e
  if not os.access(workdir, os.W_OK | os.X_OK):
    raise errors.ConfigError(f'cannot write to --workdir {workdir}: permission denied '
                             '(choose another --workdir)')


class RunLock:
  """Context manager holding WORKDIR/run.lock (flock) for one training process.

  The file holds who has it (pid, host, start time), for the message of the process
  that finds it taken. `warn` receives one line if the lock was left by a process that
  is gone (its file still names it; the kernel released its flock).
  """

  def __init__(self, workdir: str, warn=print):
    self.workdir, self.warn = workdir, warn
    self.path = os.path.join(workdir, LOCK_FILE)
    self._fd = None

  def __enter__(self):
    _writable(self.workdir)
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      holder = _read_holder(fd)
      os.close(fd)
      if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
        raise
      raise WorkdirBusy(
          f'workdir {self.workdir} is in use by another training run ({_describe(holder)}); '
          'wait for it to finish, stop it, or use another --workdir') from None
    previous = _read_holder(fd)
    if previous:
      self.warn(f'warning: took over {self.path} left by {_describe(previous)}, which is '
                'no longer running')
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(dict(pid=os.getpid(), host=socket.gethostname(),
                                  since=_now())).encode(), 0)
    os.fsync(fd)
    self._fd = fd
    return self

  def __exit__(self, *exc):
    if self._fd is not None:
      try:
        os.ftruncate(self._fd, 0)  # released cleanly: nothing for the next run to report
      finally:
        os.close(self._fd)  # closing releases the flock
        self._fd = None
    return False


def _read_holder(fd) -> dict:
  try:
    text = os.pread(fd, 4096, 0).decode()
    return json.loads(text) if text.strip() else {}
  except (OSError, ValueError):
    return {'pid': '?'}


def _describe(holder: dict) -> str:
  if not holder:
    return 'an unknown process'
  return (f'pid {holder.get("pid", "?")} on host {holder.get("host", "?")}, '
          f'since {holder.get("since", "?")}')


def _abstract_state(config):
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  return jax.eval_shape(lambda: ts.create(config, nets, txs))


def _same_shapes(a, b) -> bool:
  la, ta = jax.tree.flatten(a)
  lb, tb = jax.tree.flatten(b)
  return ta == tb and all(x.shape == y.shape and x.dtype == y.dtype
                          for x, y in zip(la, lb))


def fmt(v) -> str:
  return repr(tuple(v) if isinstance(v, list) else v)


def check_resume(old, new, workdir: str = 'the workdir') -> dict:
  """{field: (old, new)} of the fields `new` changes, if `new` may resume `old`'s run.

  Raises errors.ConfigError (one line: every field that cannot change, `old -> new`,
  and the two ways out) if the model, the image shape or the train state's shapes differ.
  """
  old_d, new_d = old.to_dict(), new.to_dict()
  norm = lambda v: tuple(v) if isinstance(v, list) else v
  changed = {k: (old_d.get(k), new_d[k]) for k in new_d
             if k in old_d and norm(old_d[k]) != norm(new_d[k])}
  if not changed:
    return {}
  fixed = [k for k in ALWAYS_FIXED if k in changed]
  if not fixed:
    base = _abstract_state(old)
    if not _same_shapes(base, _abstract_state(new)):
      # Name the fields that change the state on their own; if none does alone (they
      # only do together), all of them.
      for k in changed:
        single = old.copy_and_resolve_references()
        with single.unlocked():
          single[k] = new_d[k]
        try:
          if not _same_shapes(base, _abstract_state(single)):
            fixed.append(k)
        except Exception:  # pylint: disable=broad-except
          fixed.append(k)  # invalid alone: it belongs to the change
      fixed = fixed or list(changed)
  if fixed:
    raise errors.ConfigError(
        f'{workdir} holds a run whose train state does not fit these settings: ' +
        ', '.join(f'{k} {fmt(changed[k][0])} -> {fmt(changed[k][1])}' for k in fixed) +
        '; resume with the run\'s settings (config.json in the workdir) or start a new '
        'run with another --workdir')
  return changed


def save_config(config, workdir: str, step: int, changed: dict | None = None) -> None:
  """Writes config.json: `config` plus the history, with this session appended."""
  history = checkpointing.load_history(workdir)
  history.append(dict(step=int(step), time=_now(),
                      changed={k: [o, n] for k, (o, n) in (changed or {}).items()}))
  d = json.loads(config.to_json())
  d[HISTORY] = history
  path = os.path.join(workdir, checkpointing.CONFIG_FILE)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(d, f, indent=2)
  os.replace(tmp, path)
