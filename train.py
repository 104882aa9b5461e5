"""Train a model: `python train.py [--config configs/X.py] [--workdir DIR] [--config.f=v]`.

With no flags it trains VAE-GAN on the embedded digits (configs/default.py) in
runs/default. Re-running the same command resumes from the latest checkpoint.
"""

import os
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

_HERE = os.path.dirname(os.path.abspath(__file__))
_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(_HERE, 'configs', 'default.py'),
    'Config file (get_config()); override fields with --config.field=value.',
    lock_config=True)
_WORKDIR = flags.DEFINE_string(
    'workdir', None, 'Checkpoints, config, images and TensorBoard logs go here '
    '(default: runs/<config file name>).')


def main(argv):
  del argv
  from vaegan_jax import xla_flags  # pylint: disable=g-import-not-at-top
  xla_flags.set_cpu_flags()  # before JAX starts its backend
  from vaegan_jax import cli  # pylint: disable=g-import-not-at-top
  cli.quiet_logging()
  config_path = flags.FLAGS['config'].config_filename
  workdir = _WORKDIR.value or os.path.join(
      'runs', os.path.splitext(os.path.basename(config_path))[0])
  return cli.run(lambda: cli.train(_CONFIG.value, workdir))


if __name__ == '__main__':
  sys.path.insert(0, _HERE)
  app.run(main)
