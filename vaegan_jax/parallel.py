"""Devices and hosts: start jax.distributed, place the state and the batches on devices.

Two ways to spread a step over every device of every process (`--config.parallel`):

'jit' (the default): one `jax.jit` program over a 1-D device mesh, axis `DATA`. The
  global batch [B, ...] is one array sharded over the mesh (each device holds
  B / devices rows; each process builds its part from the batch it read, with
  `jax.make_array_from_process_local_data`); parameters, optimizer states and running
  statistics are replicated global arrays (`NamedSharding(mesh, P())`). The step is the
  one-device step (`objectives.build_networks(config)`, no axis name): its means over the
  batch (losses, BatchNorm statistics, the equilibrium rule's costs) are means over the
  global batch, and XLA inserts the cross-device reductions.
'pmap': `jax.pmap` over the local devices (axis `train_step.AXIS`), each device taking
  B / devices examples; gradients, losses and BatchNorm statistics are averaged with
  `lax.pmean` across all devices of all processes.

In both, one device is the case n = 1, each example's noise depends on its global index
only, and n devices compute what one device computes for the same global batch
(tests/test_parallel.py). Multi-host: `jax.distributed.initialize` runs when the
environment names a coordinator (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
JAX_PROCESS_ID) or when --config.distributed is set (then JAX auto-detects TPU pods,
SLURM, ...).
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from vaegan_jax import errors
from vaegan_jax import objectives
from vaegan_jax import train_step


MODES = train_step.PARALLEL_MODES  # config.parallel
DATA = 'data'  # the mesh axis of data parallelism in 'jit' mode


def maybe_initialize_distributed(config) -> bool:
  """Starts jax.distributed if asked to by the environment or the config.

  Must run before JAX starts its backend. Returns True if it initialised.
  """
  address = os.environ.get('JAX_COORDINATOR_ADDRESS')
  if not address and not config.distributed:
    return False
  if jax.distributed.is_initialized():
    return True
  # CPU hosts need a collectives backend for cross-process psum (tests, CPU clusters).
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  if address:
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=int(os.environ.get('JAX_NUM_PROCESSES', '1')),
        process_id=int(os.environ.get('JAX_PROCESS_ID', '0')))
  else:
    jax.distributed.initialize()
  return True


def check_batch(config) -> tuple[int, int]:
  """(local devices, per-device batch); a one-line ConfigError if it does not divide."""
  n_local, n_all = jax.local_device_count(), jax.device_count()
  if config.batch_size % n_all:
    raise errors.ConfigError(
        f'--config.batch_size={config.batch_size} does not divide over {n_all} devices '
        f'({jax.process_count()} processes x {n_local}): use a multiple of {n_all}')
  return n_local, config.batch_size // n_all


def mode(config) -> str:
  """config.parallel ('jit' for a config saved before the field existed)."""
  return config.get('parallel', 'jit')


def data_mesh(devices=None) -> jax.sharding.Mesh:
  """The 1-D mesh (axis DATA) over `devices` (default all), ordered by process, so that
  process p's devices hold the p-th block of the global batch: the block that
  input_pipeline gives process p."""
  devices = jax.devices() if devices is None else devices
  devices = sorted(devices, key=lambda d: (d.process_index, d.id))
  return jax.sharding.Mesh(np.array(devices), (DATA,))


def replicate(tree):
  """A host pytree -> the same values on every local device (leading axis n_local), for
  'pmap' mode."""
  n = jax.local_device_count()
  stacked = jax.tree.map(lambda x: np.broadcast_to(np.asarray(x), (n,) + np.shape(x)),
                         tree)
  # The step's own axis name: its outputs then carry the same sharding as its inputs,
  # so the step compiles once, not again on its second call.
  return jax.pmap(lambda x: x, axis_name=train_step.AXIS)(stacked)


def replicate_global(tree, sharding: NamedSharding):
  """A host pytree -> replicated global arrays of `sharding` (every device of every
  process holds the whole value), for 'jit' mode. Every process passes the same values."""
  def put(x):
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])
  return jax.tree.map(put, tree)


def _replicated_global(x) -> bool:
  """Whether `x` is a global array replicated over a mesh ('jit' mode), as opposed to a
  pmap array with a leading device axis (whose spec names that axis)."""
  sharding = getattr(x, 'sharding', None)
  return isinstance(sharding, NamedSharding) and not any(sharding.spec)


def unreplicate(tree):
  """A replicated device pytree -> the host (numpy) copy of one device's values.

  Either mode: pmap arrays [n_local, ...] give device 0's slice, replicated global
  arrays (also in a multi-process run) their value.
  """
  def first(x):
    if _replicated_global(x):  # a copy, not a view of a buffer the step will donate
      return np.array(x.addressable_shards[0].data)
    if hasattr(x, 'addressable_shards'):
      return x.addressable_shards[0].data[0]
    return x[0]
  return jax.device_get(jax.tree.map(first, tree))


def split(batch: dict, n: int) -> dict:
  """{k: [B, ...]} -> {k: [n, B / n, ...]} (this process's batch over its devices)."""
  return {k: v.reshape((n, v.shape[0] // n) + v.shape[1:]) for k, v in batch.items()}


def global_batch(batch: dict, sharding: NamedSharding) -> dict:
  """This process's {k: [B / processes, ...]} -> global {k: [B, ...]} sharded on DATA."""
  p = jax.process_count()
  return {k: jax.make_array_from_process_local_data(
      sharding, v, (v.shape[0] * p,) + v.shape[1:]) for k, v in batch.items()}


class DataParallel:
  """The trainer's placement for config.parallel: the step, the state and the batches.

  Attributes:
    mode: 'jit' or 'pmap'.
    n_local, per_device: local devices and examples per device (`check_batch`).
    mesh: the DATA mesh over all devices ('jit' mode; None with 'pmap').
  """

  def __init__(self, config):
    self.mode = mode(config)
    if self.mode not in MODES:
      raise errors.ConfigError(f'--config.parallel must be one of {", ".join(MODES)} '
                               f'(got {self.mode!r})')
    self.n_local, self.per_device = check_batch(config)
    self.mesh = data_mesh() if self.mode == 'jit' else None
    if self.mesh is not None:
      self.replicated = NamedSharding(self.mesh, P())
      self.sharded = NamedSharding(self.mesh, P(DATA))

  def train_step(self, config, txs, nets=None):
    """The donating data-parallel step: (device state, device batch) -> (state, metrics).

    `nets`: the networks of objectives.build_networks(config) ('jit' mode reuses them;
    'pmap' builds its own with the axis name).
    """
    if self.mode == 'pmap':
      return train_step.make_parallel_train_step(
          config, objectives.build_networks(config, axis_name=train_step.AXIS), txs)
    return train_step.make_sharded_train_step(
        config, objectives.build_networks(config) if nets is None else nets, txs,
        self.replicated, self.sharded)

  def put_state(self, state):
    """A host (or single-device) state -> the step's replicated device state."""
    if self.mode == 'pmap':
      return replicate(state)
    return replicate_global(state, self.replicated)

  def put_batch(self, batch: dict) -> dict:
    """This process's batch [B / processes, ...] -> the step's batch."""
    if self.mode == 'pmap':
      return split(batch, self.n_local)
    return global_batch(batch, self.sharded)

  def to_save(self, device_state, host_state):
    """What orbax writes: the global arrays in 'jit' mode (each process writes what it
    holds; no host copy needed), the host copy with 'pmap'."""
    return device_state if self.mode == 'jit' else host_state
