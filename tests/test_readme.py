"""The README's Python API block runs as written (examples/quickstart.py: test_examples.py)."""

import os
import re
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env():
  env = dict(os.environ, MPLBACKEND='Agg')
  env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
  return env


def api_block() -> str:
  """The first ```python block after the README's '## Python API' heading."""
  with open(os.path.join(ROOT, 'README.md')) as f:
    text = f.read()
  section = text.split('\n## Python API', 1)
  assert len(section) == 2, 'README.md has no "## Python API" section'
  match = re.search(r'```python\n(.*?)```', section[1], re.S)
  assert match, 'no ```python block in the README\'s Python API section'
  return match.group(1)


def test_readme_python_api_block_runs(tmp_path):
  block = api_block()
  assert 'vaegan_jax.load(' in block and 'model.sample(' in block
  proc = subprocess.run([sys.executable, '-c', block], cwd=tmp_path, env=_env(),
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  # What it printed last: the model, its step and the arrays' shapes.
  last = proc.stdout.strip().splitlines()[-1]
  assert last.startswith('vaegan ') and '(64, 16, 16, 1)' in last, last
  assert (tmp_path / 'edited.png').exists()
  assert os.listdir(tmp_path / 'runs' / 'api' / 'latent_gmm')
