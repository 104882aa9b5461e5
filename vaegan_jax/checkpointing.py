"""Orbax checkpoints of the TrainState, and the config saved beside them."""

from __future__ import annotations

import importlib.util
import json
import os

import jax
import ml_collections
import orbax.checkpoint as ocp

from vaegan_jax import recipes

CONFIG_FILE = 'config.json'


class CheckpointError(Exception):
  """No usable checkpoint where one was asked for; the message says what exists."""


def manager(workdir: str, max_to_keep: int = 3, read_only: bool = False):
  """A CheckpointManager over `workdir/checkpoints` (async saves)."""
  options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=not read_only,
                                         read_only=read_only)
  return ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), 'checkpoints'),
                               options=options)


def save(mngr, state) -> None:
  """Starts an async save of `state` at its step (wait with mngr.wait_until_finished)."""
  mngr.save(int(state.step), args=ocp.args.StandardSave(state))


def restore(mngr, abstract_state, step: int | None = None):
  """Restores into the structure of `abstract_state` (keeps optimizer NamedTuples)."""
  available = mngr.all_steps()
  if not available:
    raise CheckpointError(f'no checkpoint in {mngr.directory}')
  if step is None:
    step = mngr.latest_step()
  elif step not in available:
    raise CheckpointError(f'no checkpoint for step {step} in {mngr.directory}; '
                          f'available steps: {sorted(available)}')
  target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
  return mngr.restore(step, args=ocp.args.StandardRestore(target))


def save_config(config, workdir: str) -> None:
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, CONFIG_FILE), 'w') as f:
    f.write(config.to_json(indent=2))


def _default_config() -> dict:
  """configs/default.py of this checkout as a dict ({} if it is not beside the package)."""
  path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      'configs', 'default.py')
  if not os.path.exists(path):
    return {}
  spec = importlib.util.spec_from_file_location('_vaegan_default_config', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config().to_dict()


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
    d = json.load(f)
  d = {**_default_config(), **recipes.VAEGAN_BEFORE, **d}
  d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
  return ml_collections.ConfigDict(d)
