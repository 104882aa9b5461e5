"""Train a model: `python train.py [--config NAME|configs/X.py] [--workdir DIR] [--config.f=v]`.

The installed command `vaegan-train` is the same (vaegan_jax/commands.py). With no flags
it trains VAE-GAN on the embedded digits (configs/default.py) in runs/default; --config
takes a config file or a shipped config's name (tiny, celeba, mnist, ...). Re-running
the same command resumes from the latest checkpoint.
"""

import os
import sys

if __name__ == '__main__':
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # this checkout's package
  from vaegan_jax import commands  # pylint: disable=g-import-not-at-top
  commands.train()
