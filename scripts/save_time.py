"""How long a checkpoint of a paper-size state takes to save (and restore) here.

  python scripts/save_time.py [--config celeba_paper] [--repeats 3]

Builds the state of the config (parameters, optimizer states, BatchNorm statistics) as
the trainer does, then times checkpointing.save (the blocking copy) and save + wait
(orbax's write to disk and the checksums), the time a SIGTERM's grace period has to
cover, and a restore. Prints one line per repeat and the state's size.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
import numpy as np

import vaegan_jax
from vaegan_jax import checkpointing
from vaegan_jax import cli
from vaegan_jax import objectives
from vaegan_jax import train_state as ts


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--config', default='celeba_paper')
  parser.add_argument('--repeats', type=int, default=3)
  args = parser.parse_args()
  cli.quiet_logging()
  config = vaegan_jax.get_config(args.config)
  nets = objectives.build_networks(config)
  state = jax.device_get(ts.create(config, nets, ts.make_optimizers(config, nets.roles())))
  size = sum(np.asarray(x).nbytes for x in jax.tree.leaves(state))
  print(f'{args.config}: state of {size / 1e6:.0f} MB ({len(jax.tree.leaves(state))} arrays)')
  root = tempfile.mkdtemp(prefix='vaegan_save_time_')
  try:
    for i in range(args.repeats):
      workdir = os.path.join(root, str(i))
      mngr = checkpointing.manager(workdir)
      t = time.perf_counter()
      checkpointing.save(mngr, state.replace(step=np.int32(i + 1)))
      blocking = time.perf_counter() - t
      checkpointing.wait(mngr)
      total = time.perf_counter() - t
      mngr.close()
      mngr = checkpointing.manager(workdir, read_only=True)
      t = time.perf_counter()
      checkpointing.restore(mngr, state)
      restore = time.perf_counter() - t
      mngr.close()
      print(f'repeat {i + 1}: save blocks {blocking:.2f} s, written (with checksums) after '
            f'{total:.2f} s; restore {restore:.2f} s')
  finally:
    shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
  main()
