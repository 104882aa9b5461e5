"""Train a model: `python train.py [--config configs/X.py] [--workdir DIR] [--config.f=v]`.

With no flags it trains VAE-GAN on the embedded digits (configs/default.py) in
runs/default. Re-running the same command resumes from the latest checkpoint.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)

# pylint: disable=g-import-not-at-top,wrong-import-position
from vaegan_jax import xla_flags

xla_flags.set_cpu_flags()  # before JAX starts its backend

from absl import app
from absl import flags

from vaegan_jax import cli

_CONFIG = cli.define_config_flag(os.path.join(_HERE, 'configs', 'default.py'))
_WORKDIR = flags.DEFINE_string(
    'workdir', None, 'Checkpoints, config, images and TensorBoard logs go here '
    '(default: runs/<config file name>).')


def main(argv):
  if len(argv) > 1:
    print(f'error: unexpected arguments {argv[1:]}; flags look like --name=value',
          file=sys.stderr)
    sys.exit(2)
  cli.quiet_logging()
  config = cli.config_value(_CONFIG)
  config_path = flags.FLAGS['config'].config_filename
  workdir = _WORKDIR.value or os.path.join(
      'runs', os.path.splitext(os.path.basename(config_path))[0])
  return cli.run(lambda: cli.train(config, workdir))


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
