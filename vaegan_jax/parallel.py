"""Devices and hosts: start jax.distributed, replicate the state, split batches.

Data parallelism is `jax.pmap` over every local device (axis `train_step.AXIS`): each
device takes batch_size / (processes * local devices) examples, gradients, losses and
BatchNorm statistics are averaged across all devices of all processes, and one device is
simply n = 1. Multi-host: `jax.distributed.initialize` runs when the environment names a
coordinator (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID) or when
--config.distributed is set (then JAX auto-detects TPU pods, SLURM, ...).
"""

from __future__ import annotations

import os

import jax
import numpy as np

from vaegan_jax import train_step

from vaegan_jax import validation


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
    raise validation.ConfigError(
        f'--config.batch_size={config.batch_size} does not divide over {n_all} devices '
        f'({jax.process_count()} processes x {n_local}): use a multiple of {n_all}')
  return n_local, config.batch_size // n_all


def replicate(tree):
  """A host pytree -> the same values on every local device (leading axis n_local)."""
  n = jax.local_device_count()
  stacked = jax.tree.map(lambda x: np.broadcast_to(np.asarray(x), (n,) + np.shape(x)),
                         tree)
  # The step's own axis name: its outputs then carry the same sharding as its inputs,
  # so the step compiles once, not again on its second call.
  return jax.pmap(lambda x: x, axis_name=train_step.AXIS)(stacked)


def unreplicate(tree):
  """Replicated device pytree -> the host (numpy) copy of device 0's values."""
  return jax.device_get(jax.tree.map(lambda x: x.addressable_shards[0].data[0]
                                     if hasattr(x, 'addressable_shards') else x[0], tree))


def split(batch: dict, n: int) -> dict:
  """{k: [B, ...]} -> {k: [n, B / n, ...]} (this process's batch over its devices)."""
  return {k: v.reshape((n, v.shape[0] // n) + v.shape[1:]) for k, v in batch.items()}
