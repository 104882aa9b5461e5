"""The benchmark runs end to end on a tiny config and ends with its result line."""

import os
import re
import subprocess
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_KEYS = ('step_s', 'compile_s', 'flops', 'flops_per_s', 'matmul_peak_flops_per_s')


def test_benchmark_last_line_parses():
  cmd = [sys.executable, '-m', 'vaegan_jax.benchmark',
         '--config', os.path.join(_REPO, 'configs', 'default.py'),
         '--config.batch_size=8', '--steps', '2', '--matmul_n', '512']
  proc = subprocess.run(cmd, cwd=_REPO, capture_output=True, text=True, timeout=600,
                        check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  lines = [l for l in proc.stdout.splitlines() if l.strip()]
  assert 'images/s' in proc.stdout
  last = lines[-1]
  fields = dict(kv.split('=', 1) for kv in last.split())
  assert tuple(fields) == _KEYS, last
  for key in _KEYS:
    assert re.fullmatch(r'[0-9.e+-]+', fields[key]), last
    assert float(fields[key]) > 0, last
