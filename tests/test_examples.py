"""examples/quickstart.py runs as written (its own file, so that xdist runs it beside the
README's API block instead of after it)."""

import os
import subprocess
import sys

import numpy as np

from tests.test_readme import ROOT, _env


def test_quickstart_example_runs(tmp_path):
  proc = subprocess.run([sys.executable, os.path.join(ROOT, 'examples', 'quickstart.py')],
                        cwd=tmp_path, env=_env(), capture_output=True, text=True,
                        timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'wrote quickstart.png' in proc.stdout
  from PIL import Image  # pylint: disable=g-import-not-at-top
  figure = np.asarray(Image.open(tmp_path / 'quickstart.png').convert('L'))
  assert figure.shape[1] >= 700 and figure.std() > 20  # drawn, not blank
  with open(os.path.join(ROOT, 'examples', 'quickstart.py')) as f:
    assert f.read().count('# %%') >= 5  # notebook cells
