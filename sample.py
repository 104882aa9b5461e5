"""Images from a trained run: `python sample.py --workdir DIR --out FILE.png [flags]`.

The installed command `vaegan-sample` is the same; its flags: vaegan_jax/commands.py
(sample) or `python sample.py --help`. Errors print one line and exit 2.
"""

import os
import sys

if __name__ == '__main__':
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # this checkout's package
  from vaegan_jax import commands  # pylint: disable=g-import-not-at-top
  commands.sample()
