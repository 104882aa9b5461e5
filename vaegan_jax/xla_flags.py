"""XLA:CPU flags that make the train step fast. Set them before JAX starts its backend.

XLA:CPU in jaxlib 0.10 routes convolutions and their fusions through YNNPACK by default.
On this model's step that kept about one of two cores busy, with 2-3x slower
weight-gradient convolutions and ~2M page faults per step; XLA's Eigen path ran the
paper-size step 2.3-2.8x faster (same f32 math; summation order may differ). The flag
is only added for the jaxlib versions it was measured on: an XLA that does not know a
flag aborts at start-up.
"""

from __future__ import annotations

import importlib.metadata
import os

CPU_FLAGS = ('--xla_cpu_experimental_ynn_fusion_type=',)
_TESTED_JAXLIB = ('0.10.',)


def set_cpu_flags(extra=CPU_FLAGS) -> str:
  """Appends `extra` to $XLA_FLAGS (flags already named there win). Returns XLA_FLAGS.

  Has an effect only if called before JAX initialises its CPU backend, and only on the
  jaxlib versions in _TESTED_JAXLIB.
  """
  current = os.environ.get('XLA_FLAGS', '')
  try:
    version = importlib.metadata.version('jaxlib')
  except importlib.metadata.PackageNotFoundError:
    version = ''
  if not version.startswith(_TESTED_JAXLIB):
    return current
  named = {f.split('=', 1)[0] for f in current.split()}
  add = [f for f in extra if f.split('=', 1)[0] not in named]
  os.environ['XLA_FLAGS'] = ' '.join([current] + add).strip()
  return os.environ['XLA_FLAGS']
