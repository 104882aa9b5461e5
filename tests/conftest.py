"""Session-wide test settings.

A persistent XLA compilation cache shared by every test, xdist worker and subprocess
(train.py, sample.py) of the session: many tests compile the same tiny programs again
(each train_and_evaluate builds its own jitted step; each CLI launch starts a fresh
process), and the cache turns those recompiles into loads. Set JAX_COMPILATION_CACHE_DIR
yourself to keep the cache between sessions.
"""

import atexit
import os
import shutil
import tempfile

if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
  _dir = tempfile.mkdtemp(prefix='vaegan-jax-tests-xla-cache-')
  os.environ['JAX_COMPILATION_CACHE_DIR'] = _dir
  _owner = os.getpid()
  atexit.register(lambda: os.getpid() == _owner and shutil.rmtree(_dir, ignore_errors=True))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES', '0')

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

jax.config.update('jax_compilation_cache_dir', os.environ['JAX_COMPILATION_CACHE_DIR'])
jax.config.update('jax_persistent_cache_min_compile_time_secs',
                  float(os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS']))
jax.config.update('jax_persistent_cache_min_entry_size_bytes',
                  int(os.environ['JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES']))
