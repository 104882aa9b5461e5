"""What an accelerator does with this code, in one command and one markdown table.

  python scripts/accelerator_check.py [--out accelerator.md] [--quick]
  (or scripts/accelerator_check.sh, which adds a time limit)

Runs, in this order, printing each row as soon as it is measured (a run cut short
still leaves the rows it finished):
  1. the train step of configs/celeba.py (the default recipe at 64x64) and of
     configs/celeba_paper.py (the paper's), at batch 64 and 256, float32 and bfloat16:
     median step time, images/s, XLA's FLOPs per step, MFU against the chip's published
     peak (vaegan_jax.benchmark.PEAK_FLOPS);
  2. the input pipeline on synthetic CelebA-shaped JPEGs (`benchmark --data`), which
     also reports the decoded cache where the installed version has one;
  3. a 500-step training run of the default config on the embedded digits (wall time,
     steps/s, the classifier FD of its samples, as `vaegan-evaluate --features
     classifier`).
--quick: batch 64 only. Needs nothing downloaded. On a CPU it runs too, slowly (use it
to check the script, not to measure).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
from vaegan_jax import xla_flags

xla_flags.set_cpu_flags()

import jax

import vaegan_jax
from vaegan_jax import benchmark
from vaegan_jax import cli

STEP_CONFIGS = ('celeba', 'celeba_paper')


def _emit(line: str, out_file) -> None:
  print(line, flush=True)
  if out_file:
    with open(out_file, 'a') as f:
      f.write(line + '\n')


def step_rows(names, batches, dtypes, out_file) -> None:
  dev = jax.devices()[0]
  _emit(f'\n### Train step ({jax.device_count()} x {dev.device_kind}, jax '
        f'{jax.__version__}, {time.strftime("%Y-%m-%d")})\n', out_file)
  _emit('| config | batch | dtype | step (ms) | images/s | GFLOP/step | MFU | compile (s) |',
        out_file)
  _emit('|---|---:|---|---:|---:|---:|---:|---:|', out_file)
  for name in names:
    for batch in batches:
      for dtype in dtypes:
        config = vaegan_jax.get_config(name, batch_size=batch, compute_dtype=dtype)
        try:
          r = benchmark.run(config, steps=10, warmup=2, matmul_n=4096,
                            count_useful_flops=False, out=io.StringIO())
        except Exception as e:  # pylint: disable=broad-except
          _emit(f'| {name} | {batch} | {dtype} | failed: {type(e).__name__}: '
                f'{str(e).splitlines()[0][:80]} | | | | |', out_file)
          continue
        peak = benchmark.published_peak(dev.device_kind, dtype)
        uses_rewrites = benchmark.config_uses_rewrites(config)
        mfu = ('—' if not peak or uses_rewrites else
               f'{100 * r["flops"] / r["step_s"] / jax.device_count() / peak:.1f}%')
        _emit(f'| {name} | {batch} | {dtype} | {1e3 * r["step_s"]:.2f} | '
              f'{batch / r["step_s"]:,.0f} | {r["flops"] / 1e9:,.1f} | {mfu} | '
              f'{r["compile_s"]:.1f} |', out_file)


def pipeline_rows(synthetic: int, out_file) -> None:
  _emit('\n### Input pipeline (`python -m vaegan_jax.benchmark --data --config '
        f'celeba_folder --synthetic {synthetic}`; {os.cpu_count()} CPUs)\n', out_file)
  proc = subprocess.run(
      [sys.executable, '-m', 'vaegan_jax.benchmark', '--data', '--config',
       'celeba_folder', f'--synthetic={synthetic}'],
      capture_output=True, text=True, cwd=_ROOT, timeout=240, check=False)
  text = proc.stdout.strip() or proc.stderr.strip().splitlines()[-1:]
  _emit('\n'.join(text) if isinstance(text, list) else text, out_file)


def digits_run(out_file) -> None:
  from vaegan_jax import evaluate  # pylint: disable=g-import-not-at-top
  workdir = tempfile.mkdtemp(prefix='vaegan_accel_digits_')
  config = vaegan_jax.get_config('default', num_train_steps=500, log_every=100,
                                 image_every=0)
  t = time.perf_counter()
  vaegan_jax.train(config, workdir, out=io.StringIO(), write_summaries=False)
  wall = time.perf_counter() - t
  r = evaluate.evaluate(workdir=workdir, num=1000, num_ref=1797, features='classifier')
  _emit(f'\n### 500 steps of the default config on the digits\n\n'
        f'wall {wall:.1f} s (compilation included), {500 / wall:.1f} steps/s; classifier '
        f'FD of 1,000 samples ({r["sampler"]}) {r["fid"]:.3f}, recon MSE '
        f'{r.get("recon_mse", float("nan")):.4f}; workdir {workdir}', out_file)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--out', default='', help='Also append the table to this file.')
  parser.add_argument('--quick', action='store_true', help='Batch 64 only.')
  parser.add_argument('--synthetic', type=int, default=2000,
                      help='Synthetic JPEGs for the pipeline rows.')
  parser.add_argument('--configs', default=','.join(STEP_CONFIGS),
                      help='Configs whose step is timed (names or paths).')
  parser.add_argument('--skip', default='', help='Comma-separated parts to skip: '
                      'steps, pipeline, digits.')
  args = parser.parse_args()
  cli.quiet_logging()
  skip = set(filter(None, args.skip.split(',')))
  t = time.perf_counter()
  if 'steps' not in skip:
    step_rows(args.configs.split(','), (64,) if args.quick else (64, 256), ('float32', 'bfloat16'), args.out)
  if 'pipeline' not in skip:
    pipeline_rows(args.synthetic, args.out)
  if 'digits' not in skip:
    digits_run(args.out)
  _emit(f'\n(accelerator_check: {time.perf_counter() - t:.0f} s)', args.out)


if __name__ == '__main__':
  main()
