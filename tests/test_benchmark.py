"""The benchmark runs end to end on a tiny config and ends with its result line."""

import os
import re
import subprocess
import sys

import pytest

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_KEYS = ('step_s', 'compile_s', 'flops', 'flops_per_s', 'matmul_peak_flops_per_s')


@pytest.mark.parametrize('config', ['tiny', 'wgan_digits', 'aae_digits', 'tiny-flax-bf16'])
def test_benchmark_last_line_parses(config):
  # tiny: the default VAE-GAN objective on small widths, one pass; wgan: a step reads
  # critic_steps batches (2 here, to keep the compile short); aae: a discriminator on codes.
  # tiny-flax-bf16: the GPU/TPU path (plain flax layers, bf16) forced on CPU.
  cmd = [sys.executable, '-m', 'vaegan_jax.benchmark',
         '--config', os.path.join(_REPO, 'configs', f'{config.split("-")[0]}.py'),
         '--config.batch_size=8', '--steps', '2', '--matmul_n', '512']
  if config == 'tiny-flax-bf16':
    cmd += ['--config.layers=flax', '--config.compute_dtype=bfloat16']
  if config == 'wgan_digits':
    cmd.append('--config.critic_steps=2')
  proc = subprocess.run(cmd, cwd=_REPO, capture_output=True, text=True, timeout=600,
                        check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  lines = [l for l in proc.stdout.splitlines() if l.strip()]
  assert 'images/s' in proc.stdout
  # images/s counts every image a step reads: 2 critic micro-batches of 8 for wgan.
  ms, rate = re.search(r'step median ([0-9.]+) ms.*?; ([0-9.]+) images/s',
                       proc.stdout).groups()
  per_step = 16 if config == 'wgan_digits' else 8
  assert abs(float(rate) - per_step / (float(ms) / 1e3)) <= 0.01 * float(rate) + 0.1
  last = lines[-1]
  fields = dict(kv.split('=', 1) for kv in last.split())
  assert tuple(fields) == _KEYS, last
  # On CPU there is no published peak: MFU is taken against the measured matmul peak.
  assert re.search(r"MFU: no published peak for 'cpu' \(cpu\); against the measured "
                   r'matmul peak: [0-9.]+%', proc.stdout), proc.stdout
  for key in _KEYS:
    assert re.fullmatch(r'[0-9.e+-]+', fields[key]), last
    assert float(fields[key]) > 0, last


def test_data_mode_times_the_pipeline_on_synthetic_jpegs():
  # --nodata_table: the one line of the configured pipeline (input_pipeline.bench).
  cmd = [sys.executable, '-m', 'vaegan_jax.benchmark',
         '--config', os.path.join(_REPO, 'configs', 'celeba.py'), '--config.batch_size=8',
         '--data', '--nodata_table', '--synthetic=40', '--steps=2']
  proc = subprocess.run(cmd, cwd=_REPO, capture_output=True, text=True, timeout=300,
                        check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  m = re.fullmatch(r'folder \(40 examples, crop=celeba, 64x64x3, \d+ workers\): '
                   r'([0-9.]+) images/s', proc.stdout.strip())
  assert m and float(m.group(1)) > 0, proc.stdout


def test_data_mode_table_decoding_and_cache_at_1_and_2_workers():
  cmd = [sys.executable, '-m', 'vaegan_jax.benchmark',
         '--config', os.path.join(_REPO, 'configs', 'celeba_folder.py'),
         '--config.batch_size=8', '--data', '--synthetic=24', '--steps=2']
  proc = subprocess.run(cmd, cwd=_REPO, capture_output=True, text=True, timeout=300,
                        check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  rows = re.findall(r'^\| (24 synthetic [^|]+) \| (\d) \| ([0-9,]+) \| ([0-9,]+) \| '
                    r'([0-9,]+) \| ([0-9,]+) \| (\d+)x \|$', proc.stdout, re.M)
  assert [(r[0], r[1]) for r in rows] == [
      ('24 synthetic 218x178 JPEGs, crop celeba at 64', '1'),
      ('24 synthetic 218x178 JPEGs, crop celeba at 64', '2'),
      ('24 synthetic 32x32 PNGs, at 32', '1'), ('24 synthetic 32x32 PNGs, at 32', '2')
  ], proc.stdout
  for _, workers, total, per_worker, cache_total, cache_per_worker, _ in rows:
    num = lambda v: float(v.replace(',', ''))
    assert num(total) > 0 and num(cache_total) > 0
    assert abs(num(per_worker) * int(workers) - num(total)) <= int(workers)
    assert abs(num(cache_per_worker) * int(workers) - num(cache_total)) <= int(workers)
  assert len(re.findall(r'^cache build, 24 synthetic .*: 24 images in [0-9.]+ s = [0-9,]+ '
                        r'images/s with 2 workers', proc.stdout, re.M)) == 2, proc.stdout


def test_needed_rate_is_examples_over_the_step_time_at_the_mfu():
  from vaegan_jax import benchmark  # pylint: disable=g-import-not-at-top
  rows = {(r['chip'], r['dtype']): r for r in benchmark.needed_rates(2e12, 64, 0.4)}
  h100 = rows[('H100', 'bfloat16')]
  assert h100['step_s'] == pytest.approx(2e12 / (0.4 * 989.4e12))
  assert h100['images_per_s'] == pytest.approx(64 * 0.4 * 989.4e12 / 2e12)
  assert rows[('A100', 'float32')]['images_per_s'] == pytest.approx(64 * 0.4 * 156e12 / 2e12)
  # TPUs run float32 as bf16 passes: one row.
  assert ('TPU v4', 'float32 or bfloat16') in rows and ('TPU v4', 'float32') not in rows


def test_published_peaks_match_device_kinds():
  from vaegan_jax import benchmark  # pylint: disable=g-import-not-at-top
  peak = benchmark.published_peak
  assert peak('NVIDIA H100 80GB HBM3', 'bfloat16') == 989.4e12
  assert peak('NVIDIA H100 80GB HBM3', 'float32') == 494.7e12  # TF32
  assert peak('NVIDIA H100 PCIe', 'bfloat16') == 756e12
  assert peak('NVIDIA H200', 'bfloat16') == 989.4e12
  assert peak('NVIDIA A100-SXM4-40GB', 'bfloat16') == 312e12
  assert peak('TPU v5 lite', 'bfloat16') == 197e12 and peak('TPU v5', 'float32') == 459e12
  assert peak('TPU v4', 'bfloat16') == 275e12
  assert peak('cpu', 'float32') is None
