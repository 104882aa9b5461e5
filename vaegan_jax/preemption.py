"""SIGTERM and SIGINT become a stop request that the training loop honours between steps.

SLURM, Kubernetes and preemptible VMs send SIGTERM and give a grace period (usually
30 s) before SIGKILL; Ctrl-C sends SIGINT. Inside `StopSignals` neither signal kills the
process: the handler only records it, the loop finishes the step in flight, saves a
checkpoint of that step and raises `Stopped` (cli.run exits with 128 + the signal's
number, as a shell reports a process killed by it). A second signal while the first is
being handled raises KeyboardInterrupt at once (the orbax save is atomic, so an
interrupted save leaves the previous checkpoint as the latest).

Multi-process runs (jax.distributed): JAX's preemption service already catches SIGTERM
and tells every process (multihost_utils.reached_preemption_sync_point), so all
processes stop and save at the same step, whichever of them received the signal; this
module does not replace JAX's handler there. SIGINT is not coordinated across
processes: it stops the process that receives it without a save (a save needs every
process), so stop multi-process runs with SIGTERM.
"""

from __future__ import annotations

import signal
import threading

import jax
from jax.experimental import multihost_utils


class Stopped(KeyboardInterrupt):
  """Training stopped on a signal after saving; `signum` is the signal's number."""

  def __init__(self, signum: int, message: str):
    super().__init__(message)
    self.signum = signum


class StopSignals:
  """Context manager: records SIGTERM/SIGINT instead of dying; `requested(step)` asks.

  Outside the main thread (where Python cannot install handlers) it records nothing and
  the signals keep their usual effect.
  """

  def __init__(self):
    self.signum: int | None = None
    self._old = {}
    self._multi = jax.process_count() > 1

  def _handle(self, signum, frame):  # pylint: disable=unused-argument
    if self.signum is not None:
      raise KeyboardInterrupt(f'second {signal.Signals(signum).name}')
    self.signum = signum

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      # Multi-process: JAX's preemption service owns SIGTERM; SIGINT stays Python's.
      for sig in () if self._multi else (signal.SIGTERM, signal.SIGINT):
        self._old[sig] = signal.signal(sig, self._handle)
    return self

  def __exit__(self, *exc):
    for sig, old in self._old.items():
      signal.signal(sig, old)
    self._old = {}
    return False

  @property
  def name(self) -> str:
    return signal.Signals(self.signum).name if self.signum else 'SIGTERM'

  def requested(self, step: int) -> bool:
    """Whether to save and stop after `step` (every process agrees in multi-process)."""
    if self._multi:
      try:
        reached = multihost_utils.reached_preemption_sync_point(step)
      except RuntimeError:  # jax_enable_preemption_service is off: no coordinated stop
        self._multi = False
        return False
      if reached:
        self.signum = self.signum or signal.SIGTERM
      return reached
    return self.signum is not None
