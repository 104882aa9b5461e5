"""VAE-GAN on the embedded digits: the default config (configs/default.py), by name.

The family's configs are named <model>_<data>.py; this one makes the set complete.

Command:
  python train.py --config vaegan_digits   # the same run as `python train.py`

Runtime and result: those of configs/default.py's docstring.
"""

from vaegan_jax.configs import default


def get_config():
  return default.get_config()
