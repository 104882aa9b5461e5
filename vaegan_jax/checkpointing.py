"""Orbax checkpoints of the TrainState, verified on restore, and the saved config.

Orbax writes each checkpoint to a temporary folder and renames it when complete, so a
process killed during a save never leaves a half-written checkpoint that restores. A
checkpoint damaged later (a bad disk, a partial copy) can still restore silently with
wrong values: orbax keeps no checksums. So every save also writes
`WORKDIR/checksums/<step>.json`, the CRC-32 of each array of the state, and `restore`
compares the restored arrays with it. A checkpoint that fails to restore or to match is
skipped with a one-line warning and the next older one is tried.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import threading
import zlib

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from vaegan_jax import config_files
from vaegan_jax import errors
from vaegan_jax import recipes

CONFIG_FILE = 'config.json'
HISTORY_KEY = 'history'  # config.json: one entry per training session (workdir.py)
CHECKSUM_DIR = 'checksums'  # beside checkpoints/: <step>.json per checkpoint
CORRUPT_DIR = 'corrupt_checkpoints'  # train.py moves the checkpoints it skipped here


CheckpointError = errors.CheckpointError


def manager(workdir: str, max_to_keep: int = 3, read_only: bool = False):
  """A CheckpointManager over `workdir/checkpoints` (async saves). Its one item is the
  state's tree (StandardCheckpointHandler), so `item_metadata` reads a saved layout."""
  options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=not read_only,
                                         read_only=read_only)
  return ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), 'checkpoints'),
                               options=options,
                               item_handlers=ocp.StandardCheckpointHandler())


def _workdir(mngr) -> str:
  return os.path.dirname(os.fspath(mngr.directory))


def checksums(state) -> dict[str, str]:
  """{array path: CRC-32 of its bytes} of a host state (numpy leaves)."""
  leaves, _ = jax.tree_util.tree_flatten_with_path(state)
  return {jax.tree_util.keystr(path): f'{zlib.crc32(np.ascontiguousarray(x).data):08x}'
          for path, x in leaves}


OPTIONAL_FIELDS = ('ema', 'ema_batch_stats')  # not written when empty


def _on_disk(state) -> dict:
  """The tree orbax writes: the state's fields by name, without an empty `ema` or
  `ema_batch_stats` (a run without a moving average has the layout of the checkpoints
  written before it existed, so either restores into the other)."""
  return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)
          if not (f.name in OPTIONAL_FIELDS and not getattr(state, f.name))}


_CRC_THREADS = {}  # id(manager) -> the thread writing the checksums of its last save


def host_copy(tree):
  """The numpy values of a pytree of host arrays, single-device arrays or replicated
  global arrays (those of config.parallel='jit', also spanning other processes)."""
  def get(x):  # a copy: on CPU np.asarray of a device array may share its buffer,
    if isinstance(x, jax.Array):  # which the next step can donate
      return np.array(x.addressable_shards[0].data if not x.is_fully_addressable else x)
    return np.asarray(x)
  return jax.tree.map(get, tree)


def save(mngr, state, write_checksums: bool = True, host=None) -> None:
  """Starts an async save of `state` at its step and, in a thread, the writing of its
  checksums (process 0 only); `wait(mngr)` waits for both.

  `state`: a host state, or global jax.Arrays (config.parallel='jit'; every process
  passes its own and orbax writes each array once). `host`: a host copy of `state`
  for the checksums, if the caller has one (else made here, where checksums are
  written). Donating `state` once this returns is safe: orbax has copied it to host
  memory by then.

  The blocking part is orbax's copy of the state: at the paper's CelebA size (405 MB of
  state) 0.5 s here, against 1.1 s with the checksums computed in line.
  """
  step = int(state.step)
  mngr.save(step, args=ocp.args.StandardSave(_on_disk(state)))
  if not write_checksums:
    return
  if host is None:
    host = host_copy(state)
  state = host
  _join(mngr)
  folder = os.path.join(_workdir(mngr), CHECKSUM_DIR)
  os.makedirs(folder, exist_ok=True)
  keep = set(mngr.all_steps()) | {step}
  for name in os.listdir(folder):  # the checkpoints orbax removed (max_to_keep)
    stem = name.split('.')[0]
    if stem.isdigit() and int(stem) not in keep and name.endswith('.json'):
      os.remove(os.path.join(folder, name))

  def write():  # the host arrays are this save's own copies: no step can change them
    path = os.path.join(folder, f'{step}.json')
    with open(path + '.tmp', 'w') as f:
      json.dump(checksums(state), f)
    os.replace(path + '.tmp', path)

  thread = threading.Thread(target=write, name=f'checksums-{step}', daemon=True)
  thread.start()
  _CRC_THREADS[id(mngr)] = thread


def _join(mngr) -> None:
  thread = _CRC_THREADS.pop(id(mngr), None)
  if thread is not None:
    thread.join()


def wait(mngr) -> None:
  """Waits until the last save (checkpoint and checksums) is on disk."""
  mngr.wait_until_finished()
  _join(mngr)


def _verify(workdir: str, step: int, state) -> None:
  """Raises ValueError naming the first array whose CRC differs from the saved one."""
  path = os.path.join(workdir, CHECKSUM_DIR, f'{step}.json')
  if not os.path.exists(path):
    return  # saved before checksums existed, or killed between save and checksum
  with open(path) as f:
    try:
      saved = json.load(f)
    except ValueError as e:
      raise ValueError(f'unreadable {CHECKSUM_DIR}/{step}.json') from e
  got = checksums(host_copy(state))
  for name, crc in saved.items():
    if got.get(name) != crc:
      raise ValueError(f'checksum mismatch in {name}')


def _reason(e: BaseException) -> str:
  text = ' '.join(str(e).split()) or type(e).__name__
  return text if len(text) <= 160 else text[:157] + '...'


def _target(x) -> jax.ShapeDtypeStruct:
  """A leaf's restore target: its shape, dtype and sharding, by default this process's
  first device. Without a sharding orbax would use the saved one, which a checkpoint
  of global arrays (config.parallel='jit') has over the devices of the run that saved
  it; an explicit one restores on any devices."""
  struct = ocp.utils.to_shape_dtype_struct(x)
  if getattr(struct, 'sharding', None) is None:
    struct = jax.ShapeDtypeStruct(struct.shape, struct.dtype,
                                  sharding=jax.sharding.SingleDeviceSharding(
                                      jax.local_devices()[0]))
  return struct


def restore(mngr, abstract_state, step: int | None = None, warn=None,
            skipped: list | None = None):
  """Restores into the structure of `abstract_state` (keeps optimizer NamedTuples).

  `step` None: the newest checkpoint that restores and matches its checksums; each one
  skipped is reported by `warn` (one line) and appended to `skipped` as (step, reason).
  A given `step` must restore, or CheckpointError says why.
  """
  available = sorted(mngr.all_steps())
  if not available:
    raise CheckpointError(f'no checkpoint in {mngr.directory}')
  if step is not None and step not in available:
    raise CheckpointError(f'no checkpoint for step {step} in {mngr.directory}; '
                          f'available steps: {available}')
  target = jax.tree.map(_target, _on_disk(abstract_state))
  failures = []
  for s in [step] if step is not None else available[::-1]:
    try:
      state = abstract_state.replace(**_restore_tree(mngr, s, target))
      _verify(_workdir(mngr), s, state)
    except Exception as e:  # pylint: disable=broad-except
      failures.append((s, _reason(e)))
      continue
    for f, why in failures:  # reported once an older checkpoint did restore
      if skipped is not None:
        skipped.append((f, why))
      if warn is not None:
        warn(f'warning: skipped the checkpoint of step {f} in {mngr.directory}: it does '
             f'not restore ({why})')
    return state
  if step is not None:
    raise CheckpointError(f'the checkpoint of step {step} in {mngr.directory} does not '
                          f'restore ({failures[0][1]}); available steps: {available}')
  raise CheckpointError(f'no checkpoint in {mngr.directory} restores (' +
                        '; '.join(f'step {s}: {r}' for s, r in failures) +
                        '); start a new run with another --workdir')


def _saved_fields(mngr, step: int) -> set | None:
  """The top-level fields the checkpoint of `step` holds, read from orbax's metadata;
  None if that cannot be read (then the restore itself reports why)."""
  try:
    return set(mngr.item_metadata(step).keys())
  except Exception:  # pylint: disable=broad-except
    return None


def _restore_tree(mngr, step: int, target: dict) -> dict:
  """The saved tree of `step` in the structure of `target`. A checkpoint of a run with a
  moving average saved before `ema_batch_stats` existed has none (its metadata says
  so): it restores without them and gets the raw networks' statistics (what its
  samples used then). A checkpoint that holds them restores them or fails."""
  fields = _saved_fields(mngr, step)
  if 'ema_batch_stats' not in target or fields is None or 'ema_batch_stats' in fields:
    return mngr.restore(step, args=ocp.args.StandardRestore(target))
  older = {k: v for k, v in target.items() if k != 'ema_batch_stats'}
  tree = dict(mngr.restore(step, args=ocp.args.StandardRestore(older)))
  tree['ema_batch_stats'] = {role: tree['batch_stats'][role]
                             for role in target['ema_batch_stats']}
  return tree


def set_aside(mngr, steps) -> str:
  """Moves the checkpoints of `steps` (and their checksums) to WORKDIR/corrupt_checkpoints
  so that training can save those steps again; nothing is deleted. Returns the folder."""
  workdir = _workdir(mngr)
  dest = os.path.join(workdir, CORRUPT_DIR)
  os.makedirs(dest, exist_ok=True)
  for s in steps:
    stamp = 0
    while os.path.exists(os.path.join(dest, f'{s}' + (f'.{stamp}' if stamp else ''))):
      stamp += 1
    name = f'{s}' + (f'.{stamp}' if stamp else '')
    shutil.move(os.path.join(os.fspath(mngr.directory), str(s)), os.path.join(dest, name))
    crc = os.path.join(workdir, CHECKSUM_DIR, f'{s}.json')
    if os.path.exists(crc):
      shutil.move(crc, os.path.join(dest, f'{name}.checksums.json'))
  mngr.reload()
  return dest


def _default_config() -> dict:
  """The shipped default config (vaegan_jax/configs/default.py) as a dict."""
  return config_files.load(config_files.shipped('default')).to_dict()


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a run in `workdir` was trained with (lists come back as tuples).

  Fields added to configs/default.py after the run was saved take the value that keeps
  the behaviour of the code the run was trained with: recipes.VAEGAN_BEFORE's for the
  fields whose default the VAE-GAN recipe changed, the default for the others.
  """
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    raise CheckpointError(f'no {CONFIG_FILE} in {workdir}: is it a train.py workdir?')
  with open(path) as f:
    try:
      d = json.load(f)
    except ValueError as e:
      raise CheckpointError(f'{path} is not valid JSON ({e}); restore it from a copy or '
                            'use another --workdir') from None
  if not isinstance(d, dict):
    raise CheckpointError(f'{path} does not hold a config (a JSON object)')
  d.pop(HISTORY_KEY, None)
  d = {**_default_config(), **recipes.VAEGAN_BEFORE, **d}
  d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
  return ml_collections.ConfigDict(d)


def load_history(workdir: str) -> list:
  """config.json's training sessions ([] for a new workdir or a run saved before it)."""
  try:
    with open(os.path.join(workdir, CONFIG_FILE)) as f:
      history = json.load(f).get(HISTORY_KEY, [])
  except (OSError, ValueError, AttributeError):
    return []
  return history if isinstance(history, list) else []
