"""Times the jitted train step on a synthetic batch and compares it with a matmul peak.

  vaegan-benchmark --config celeba [--config.batch_size=64]
      [--steps 10] [--profile DIR] [--config.compute_dtype=bfloat16] [--config.layers=flax]
  vaegan-benchmark --config celeba --data [--synthetic 2000] [--data_workers_list 1,2]
  vaegan-benchmark --config celeba_paper --needed_rate [--mfu 0.4]

(or `python -m vaegan_jax.benchmark`; --config: a shipped config's name or a path,
default celeba.)

`--data` times the input pipeline alone instead (reading, decoding, preprocessing,
batching) and prints a markdown table of images/s, in total and per worker, at each of
`--data_workers_list` workers, decoding and reading a decoded cache
(vaegan_jax/data_cache.py, built first in a temporary folder; its build rate follows the
table). The source is the configured one or, with `--synthetic N`, two temporary folders:
N synthetic 218x178 JPEGs (CelebA's aligned size) preprocessed as the config says (crop
'celeba' at 64 for the CelebA configs), and N synthetic 32x32 PNGs (or the PNG folder
`--png_folder`) at 32 with crop center_square, as configs/colour.py reads photo
patches. `--data --nodata_table` prints the one line of `input_pipeline.bench` instead:
the configured pipeline at config.data_workers.

`--needed_rate` prints the images/s an accelerator must be fed: the step's model FLOPs
(XLA's cost analysis of the step built from the plain flax layers, what GPUs and TPUs
run; compiled here, not run) over each published peak of PEAK_FLOPS at `--mfu`.

Builds the networks, optimizers, state and step exactly as `vaegan_jax.trainer` does,
feeds one batch of uniform noise in [-1, 1] (no data set needed) and prints a few info
lines, then last exactly one machine-readable line:

  step_s=<median s> compile_s=<s> flops=<per step> flops_per_s=<..>
  matmul_peak_flops_per_s=<..>

`flops` is XLA's cost analysis of the compiled step: it counts every multiply-add the
program does, including the structural zeros of the exact reformulations in
`vaegan_jax.layers` (stride-2 transposed convs and stride-2 conv input gradients run
as 3x3-tap stride-1 convs: 36 products where 25 are useful for 5x5 kernels). The info
lines also give the "useful" FLOPs: the cost analysis of the same step built from the
plain flax layers (`reference_layers=True`, compiled, not run). `matmul_peak_flops_per_s`
is the best rate of a jitted float32 matmul measured in the same process, so the rates
are comparable on the same machine and load.

By default the XLA:CPU flags of `vaegan_jax.xla_flags` are added to XLA_FLAGS before JAX
starts its backend, as train.py does (`--nofast_xla_flags` leaves XLA_FLAGS alone).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

from absl import app
from absl import flags
import jax
import jax.numpy as jnp

from vaegan_jax import cli
from vaegan_jax import config_files
from vaegan_jax import errors
from vaegan_jax import xla_flags

_CONFIG = cli.define_config_flag(config_files.shipped('celeba'))
_STEPS = flags.DEFINE_integer('steps', 10, 'Timed steps (after the warm-up).')
_WARMUP = flags.DEFINE_integer('warmup', 2, 'Untimed steps run first.')
_MATMUL_N = flags.DEFINE_integer('matmul_n', 2048, 'Size n of the n x n peak matmul.')
_PROFILE_DIR = flags.DEFINE_string(
    'profile_dir', None, 'If set, write a jax.profiler trace of a few steps here.')
flags.DEFINE_alias('profile', 'profile_dir')
_FAST_XLA_FLAGS = flags.DEFINE_bool(
    'fast_xla_flags', True, 'Add xla_flags.CPU_FLAGS to XLA_FLAGS before JAX starts.')
_DATA = flags.DEFINE_bool('data', False, 'Time the input pipeline alone (images/s).')
_SYNTHETIC = flags.DEFINE_integer(
    'synthetic', 0, 'With --data: a temporary folder of this many synthetic 218x178 '
    'JPEGs (dataset=folder) instead of the configured source.')
_DATA_TABLE = flags.DEFINE_bool(
    'data_table', True, 'With --data: the table of decoding and cache rates at each of '
    '--data_workers_list workers; false: the one line of the configured pipeline.')
_DATA_WORKERS = flags.DEFINE_list(
    'data_workers_list', ['1', '2'], 'With --data: the worker counts of the table.')
_PNG_FOLDER = flags.DEFINE_string(
    'png_folder', '', 'With --data --synthetic: a folder of PNGs to time at 32 instead of '
    'N synthetic 32x32 PNGs.')
_NEEDED_RATE = flags.DEFINE_bool(
    'needed_rate', False, 'Print the images/s an accelerator needs at --mfu of each '
    'published peak (compiles the step, does not run it).')
_MFU = flags.DEFINE_float('mfu', 0.4, 'With --needed_rate: the model FLOPs utilisation.')
_USEFUL_FLOPS = flags.DEFINE_bool(
    'useful_flops', True, 'Also compile the step with the plain flax layers to count '
    'FLOPs without structural zeros (info line only).')

# Published dense peaks per chip in FLOP/s: (device_kind substring, float32 as JAX runs
# it by default, bfloat16). On NVIDIA Ampere and Hopper JAX's default precision runs float32
# matmuls and convolutions on TF32 tensor cores, so the float32 column is the TF32 peak;
# TPUs run float32 at default precision as bfloat16 passes, so both columns are the bf16
# peak. Sources: NVIDIA's H100, H200 and A100 datasheets (without sparsity); Google
# Cloud's TPU v4, v5e, v5p and v6e pages. First match wins.
PEAK_FLOPS = (
    ('H200', 494.7e12, 989.4e12),
    ('H100 PCIe', 378e12, 756e12),
    ('H100', 494.7e12, 989.4e12),
    ('A100', 156e12, 312e12),
    ('TPU v6 lite', 918e12, 918e12),
    ('TPU v5 lite', 197e12, 197e12),
    ('TPU v5', 459e12, 459e12),
    ('TPU v4', 275e12, 275e12),
)


def published_peak(device_kind: str, dtype: str) -> float | None:
  """The published peak FLOP/s of one `device_kind` chip in `dtype`, or None."""
  for name, f32, bf16 in PEAK_FLOPS:
    if name.lower() in device_kind.lower():
      return bf16 if dtype == 'bfloat16' else f32
  return None


def total_flops(compiled) -> float:
  """FLOPs of a compiled computation from XLA's cost analysis (0 if unavailable).

  Args:
    compiled: a `jax.stages.Compiled`.

  Returns:
    The summed 'flops' entry; `cost_analysis()` returns a dict or a list of dicts
    depending on the JAX version.
  """
  cost = compiled.cost_analysis()
  if cost is None:
    return 0.0
  if isinstance(cost, dict):
    cost = [cost]
  return float(sum(c.get('flops', 0.0) for c in cost if c))


def matmul_peak_flops_per_s(n: int = 2048, repeats: int = 10) -> float:
  """Best observed rate of a jitted float32 [n, n] @ [n, n] matmul (2 n^3 FLOPs).

  Args:
    n: matrix size.
    repeats: timed runs; the fastest one counts.

  Returns:
    FLOP/s of the fastest run.
  """
  ka, kb = jax.random.split(jax.random.PRNGKey(0))
  a = jax.random.normal(ka, (n, n), jnp.float32)
  b = jax.random.normal(kb, (n, n), jnp.float32)
  f = jax.jit(jnp.matmul)
  f(a, b).block_until_ready()
  best = float('inf')
  for _ in range(repeats):
    t = time.perf_counter()
    f(a, b).block_until_ready()
    best = min(best, time.perf_counter() - t)
  return 2.0 * n ** 3 / best


def synthetic_batch(config, key: jax.Array) -> dict[str, jax.Array]:
  """{'image': float32 [B, H, W, C] uniform in [-1, 1]}: H = W, C from config, and B the
  examples one step reads (batch_size, times critic_steps if >= 1)."""
  from vaegan_jax import train_step as tstep  # pylint: disable=g-import-not-at-top
  shape = (tstep.examples_per_step(config), config.image_size, config.image_size,
           config.channels)
  return {'image': jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0)}


def useful_flops(config, state, batch, dp=None) -> float:
  """FLOPs of the step built from the plain flax layers (no structural zeros).

  Args:
    config: as for `run`.
    state: a TrainState of the fast networks (same variables as the reference ones),
      placed as `dp` places it.
    batch: the step's batch, placed as `dp` places it.
    dp: the parallel.DataParallel of `run` (None: config.parallel's).

  Returns:
    XLA's cost-analysis FLOPs of that step (compiled, not run).
  """
  from vaegan_jax import networks  # pylint: disable=g-import-not-at-top
  from vaegan_jax import objectives  # pylint: disable=g-import-not-at-top
  from vaegan_jax import parallel  # pylint: disable=g-import-not-at-top
  from vaegan_jax import train_state as ts  # pylint: disable=g-import-not-at-top
  from vaegan_jax import train_step as tstep  # pylint: disable=g-import-not-at-top
  dp = dp or parallel.DataParallel(config)
  axis = tstep.AXIS if dp.mode == 'pmap' else None
  nets = objectives.build_networks(config, axis_name=axis)
  ref = networks.Networks(**{r: getattr(nets, r).clone(reference_layers=True)
                             for r in nets.roles()})
  txs = ts.make_optimizers(config, ref.roles())
  step = (tstep.make_parallel_train_step(config, ref, txs) if dp.mode == 'pmap'
          else dp.train_step(config, txs, ref))
  return total_flops(step.lower(state, batch).compile()) * jax.local_device_count()


def run(config, steps: int = 10, warmup: int = 2, matmul_n: int = 2048,
        profile_dir: str | None = None, count_useful_flops: bool = True,
        out=sys.stdout) -> dict[str, Any]:
  """Builds the train step for `config`, times it and prints the result lines.

  Args:
    config: a config as in configs/default.py.
    steps: timed steps; the median counts.
    warmup: untimed steps run after compilation.
    matmul_n: size of the peak matmul.
    profile_dir: if set, a trace of a few extra steps is written there.
    count_useful_flops: also count the FLOPs of the plain-flax-layer step.
    out: where the lines go.

  Returns:
    Dict with step_s, compile_s, flops, flops_per_s, matmul_peak_flops_per_s.
  """
  from vaegan_jax import objectives  # pylint: disable=g-import-not-at-top
  from vaegan_jax import parallel  # pylint: disable=g-import-not-at-top
  from vaegan_jax import train_state as ts  # pylint: disable=g-import-not-at-top
  from vaegan_jax import train_step as tstep  # pylint: disable=g-import-not-at-top

  def log(msg):
    print(msg, file=out, flush=True)

  devices = jax.devices()
  log(f'devices: {len(devices)} x {devices[0].device_kind} ({devices[0].platform}), '
      f'{os.cpu_count()} CPUs; jax {jax.__version__}; '
      f'XLA_FLAGS={os.environ.get("XLA_FLAGS", "")!r}')
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = ts.create(config, nets, txs)
  batch = synthetic_batch(config, jax.random.PRNGKey(config.seed + 1))
  n_params = {r: sum(x.size for x in jax.tree.leaves(p)) for r, p in state.params.items()}
  log(f'{config.model}, batch {config.batch_size} x {config.image_size}x'
      f'{config.image_size}x{config.channels}; parameters ' +
      ', '.join(f'{r} {n:,}' for r, n in n_params.items()))

  # The trainer's path (config.parallel: jit over a device mesh, or pmap) over every
  # local device (n = 1 on one device).
  dp = parallel.DataParallel(config)
  n_dev, per_device = dp.n_local, dp.per_device
  step_fn = dp.train_step(config, txs, nets)
  state = dp.put_state(state)
  batch = dp.put_batch(jax.device_get(batch))
  images_per_step = tstep.examples_per_step(config)
  t = time.perf_counter()
  compiled = step_fn.lower(state, batch).compile()
  compile_s = time.perf_counter() - t
  flops = total_flops(compiled) * n_dev  # the cost analysis is per device program
  useful = 0.0
  if count_useful_flops:  # the plain layers' step: compiled once more only when it differs
    useful = useful_flops(config, state, batch, dp) if config_uses_rewrites(config) else flops

  for _ in range(max(warmup, 1)):
    state, metrics = compiled(state, batch)
  jax.block_until_ready((state, metrics))
  times = []
  for _ in range(max(steps, 1)):
    t = time.perf_counter()
    state, metrics = compiled(state, batch)
    jax.block_until_ready((state, metrics))
    times.append(time.perf_counter() - t)
  step_s = statistics.median(times)

  if profile_dir:
    with jax.profiler.trace(profile_dir):
      for _ in range(3):
        state, metrics = compiled(state, batch)
      jax.block_until_ready((state, metrics))
    log(f'profile written to {profile_dir}')

  peak = matmul_peak_flops_per_s(matmul_n)
  result = {
      'step_s': step_s,
      'compile_s': compile_s,
      'flops': flops,
      'flops_per_s': flops / step_s,
      'matmul_peak_flops_per_s': peak,
  }
  log(f'compile {compile_s:.2f} s; step median {step_s * 1e3:.1f} ms '
      f'(min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f}, {len(times)} steps); '
      f'{images_per_step / step_s:.1f} images/s on {n_dev} device(s) = '
      f'{images_per_step / n_dev / step_s:.1f} images/s per device '
      f'({per_device} examples each, {dp.mode})')
  log(f'{flops / 1e9:.3f} GFLOP/step (XLA cost analysis) -> '
      f'{flops / step_s / 1e9:.1f} GFLOP/s = {100 * flops / step_s / peak:.1f}% of '
      f'the {matmul_n}x{matmul_n} f32 matmul peak {peak / 1e9:.1f} GFLOP/s')
  if useful:
    log(f'{useful / 1e9:.3f} useful GFLOP/step (plain flax layers, no structural zeros) '
        f'-> {useful / step_s / 1e9:.1f} useful GFLOP/s = '
        f'{100 * useful / step_s / peak:.1f}% of the matmul peak')
  # MFU: the model's FLOPs (the plain layers' count, without the rewrites' structural
  # zeros) per second against the chip's published peak in the compute dtype.
  model_flops = useful or (0.0 if config_uses_rewrites(config) else flops)
  kind, dtype = devices[0].device_kind, config.compute_dtype
  chip_peak = published_peak(kind, dtype)
  if model_flops and chip_peak:
    log(f'MFU {100 * model_flops / step_s / n_dev / chip_peak:.2f}%: '
        f'{model_flops / 1e9:.3f} model GFLOP/step over {n_dev} x {kind} at '
        f'{chip_peak / 1e12:.1f} TFLOP/s each (published {dtype} peak)')
  elif model_flops:
    log(f'MFU: no published peak for {kind!r} ({devices[0].platform}); against the '
        f'measured matmul peak: {100 * model_flops / step_s / peak:.1f}%')
  log(' '.join(f'{k}={v:.4g}' for k, v in result.items()))
  return result


def config_uses_rewrites(config) -> bool:
  from vaegan_jax import layers  # pylint: disable=g-import-not-at-top
  return layers.use_rewrites(config.layers)


def _data(config, synthetic: int, steps: int, table: bool = True,
          workers: tuple[int, ...] = (1, 2), png_folder: str = '', out=sys.stdout) -> None:
  from vaegan_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  if synthetic < 0:
    raise errors.ConfigError(f'--synthetic must be >= 0 (got {synthetic})')
  if not workers or min(workers) < 1:
    raise errors.ConfigError(f'--data_workers_list must be integers >= 1 (got '
                             f'{",".join(map(str, workers))})')
  import tempfile  # pylint: disable=g-import-not-at-top
  tmp = tempfile.mkdtemp(prefix='vaegan_data_bench_')
  try:
    if not table:
      if synthetic:
        input_pipeline.write_synthetic_jpegs(os.path.join(tmp, 'jpg'), synthetic)
        config.dataset, config.data_path = 'folder', os.path.join(tmp, 'jpg')
      input_pipeline.bench(config, steps, out=out)
      return
    sources = []
    if synthetic:
      jpg = config.copy_and_resolve_references()
      jpg.dataset, jpg.data_path = 'folder', input_pipeline.write_synthetic_jpegs(
          os.path.join(tmp, 'jpg'), synthetic)
      sources.append((f'{synthetic} synthetic 218x178 JPEGs, crop {jpg.crop} at '
                      f'{jpg.image_size}', jpg))
      png = config.copy_and_resolve_references()
      png.update(dict(dataset='folder', image_size=32, channels=3, crop='center_square',
                      split='train', val_fraction=0.0))
      if png_folder:
        png.data_path = png_folder
        what = f'PNG folder {png_folder}'
      else:
        png.data_path = input_pipeline.write_synthetic_pngs(os.path.join(tmp, 'png'),
                                                            synthetic)
        what = f'{synthetic} synthetic 32x32 PNGs'
      sources.append((f'{what}, at 32', png))
    else:
      where = f' {config.data_path}' if config.dataset == 'folder' else ''
      sources.append((f'{config.dataset}{where}, crop {config.crop} at '
                      f'{config.image_size}', config))
    data_table(sources, steps, workers, os.path.join(tmp, 'cache'), out=out)
  finally:
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(tmp, ignore_errors=True)


def data_table(sources, steps: int, workers, cache_dir: str, out=sys.stdout,
               min_seconds: float = 1.0) -> list[dict]:
  """Prints (and returns) images/s decoding and reading a decoded cache, per source and
  worker count: a markdown table, then each cache's build rate."""
  from vaegan_jax import input_pipeline  # pylint: disable=g-import-not-at-top

  def log(msg):
    print(msg, file=out, flush=True)

  load0 = os.getloadavg()[0]
  rows, builds = [], []
  for label, config in sources:
    config = config.copy_and_resolve_references()
    config.data_cache = ''
    decoded = input_pipeline.load(config, out=None)
    config.data_cache, config.data_workers = cache_dir, max(workers)
    t = time.perf_counter()
    cached = input_pipeline.load(config, out=None)
    build_s = time.perf_counter() - t
    if cached.cache_path:
      builds.append((label, cached.num_examples, build_s, max(workers),
                     os.path.getsize(cached.cache_path)))
    else:  # digits: in memory already, no cache
      cached = None
    for w in workers:
      dec = input_pipeline.pipeline_rate(decoded, config.batch_size, config.seed, w, steps)
      hit = cached and input_pipeline.pipeline_rate(cached, config.batch_size, config.seed,
                                                    w, max(steps, 20), min_seconds)
      rows.append(dict(source=label, workers=w, decode=dec, cache=hit))
  log(f'input pipeline, batch {sources[0][1].batch_size}, {os.cpu_count()} CPUs, load '
      f'average {load0:.2f} before and {os.getloadavg()[0]:.2f} after; images/s:')
  log('')
  log('| source | workers | decode: total | decode: per worker | cache: total | '
      'cache: per worker | cache / decode |')
  log('|---|---:|---:|---:|---:|---:|---:|')
  for r in rows:
    w, hit = r['workers'], r['cache']
    cache = (f'{hit:,.0f} | {hit / w:,.0f} | {hit / r["decode"]:.0f}x' if hit else
             'no cache | - | -')
    log(f'| {r["source"]} | {w} | {r["decode"]:,.0f} | {r["decode"] / w:,.0f} | {cache} |')
  log('')
  for label, n, seconds, w, nbytes in builds:
    log(f'cache build, {label}: {n:,} images in {seconds:.1f} s = {n / seconds:,.0f} '
        f'images/s with {w} workers ({nbytes / 1e6:,.1f} MB)')
  return rows


def model_flops(config) -> float:
  """XLA's FLOPs of one train step built from the plain flax layers (no structural
  zeros: what an accelerator runs with layers='auto'), compiled on this host, not run."""
  from vaegan_jax import objectives  # pylint: disable=g-import-not-at-top
  from vaegan_jax import parallel  # pylint: disable=g-import-not-at-top
  from vaegan_jax import train_state as ts  # pylint: disable=g-import-not-at-top
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = ts.create(config, nets, txs)
  batch = synthetic_batch(config, jax.random.PRNGKey(config.seed + 1))
  dp = parallel.DataParallel(config)
  return useful_flops(config, dp.put_state(state), dp.put_batch(jax.device_get(batch)), dp)


def needed_rates(flops: float, examples: int, mfu: float = 0.4) -> list[dict]:
  """Per published peak (PEAK_FLOPS, float32 and bfloat16): the step time at `mfu` and
  the images/s that feed it, examples / (flops / (mfu * peak))."""
  rows = []
  for chip, f32, bf16 in PEAK_FLOPS:
    dtypes = ((('float32', f32), ('bfloat16', bf16)) if f32 != bf16 else
              (('float32 or bfloat16', bf16),))  # TPUs: float32 runs as bf16 passes
    for dtype, peak in dtypes:
      step_s = flops / (mfu * peak)
      rows.append(dict(chip=chip, dtype=dtype, peak=peak, step_s=step_s,
                       images_per_s=examples / step_s))
  return rows


def _needed_rate(config, mfu: float, out=sys.stdout) -> None:
  from vaegan_jax import train_step as tstep  # pylint: disable=g-import-not-at-top
  if not 0 < mfu <= 1:
    raise errors.ConfigError(f'--mfu must be in (0, 1] (got {mfu})')
  t = time.perf_counter()
  flops = model_flops(config)
  examples = tstep.examples_per_step(config)
  print(f'{config.model}, batch {config.batch_size} x {config.image_size}x'
        f'{config.image_size}x{config.channels}, {examples} images per step: '
        f'{flops / 1e9:,.1f} model GFLOP/step (XLA cost analysis of the plain flax '
        f'layers, compiled in {time.perf_counter() - t:.0f} s); at {100 * mfu:.0f}% MFU:',
        file=out)
  print('', file=out)
  print('| chip | dtype (JAX default precision) | peak TFLOP/s | step ms | images/s needed |',
        file=out)
  print('|---|---|---:|---:|---:|', file=out)
  for r in needed_rates(flops, examples, mfu):
    print(f'| {r["chip"]} | {r["dtype"]} | {r["peak"] / 1e12:,.1f} | '
          f'{r["step_s"] * 1e3:.3g} | {r["images_per_s"]:,.0f} |', file=out)


def main(argv):
  if len(argv) > 1:
    print(f'error: unexpected arguments {argv[1:]}; flags look like --name=value',
          file=sys.stderr)
    sys.exit(2)
  for name, value, low in (('steps', _STEPS.value, 1), ('warmup', _WARMUP.value, 0),
                           ('matmul_n', _MATMUL_N.value, 1)):
    if value < low:
      print(f'error: --{name} must be >= {low} (got {value})', file=sys.stderr)
      sys.exit(2)
  if _FAST_XLA_FLAGS.value:
    xla_flags.set_cpu_flags()
  cli.quiet_logging()
  if _DATA.value:
    try:
      workers = tuple(int(w) for w in _DATA_WORKERS.value)
    except ValueError:
      print(f'error: --data_workers_list must be integers (got '
            f'{",".join(_DATA_WORKERS.value)})', file=sys.stderr)
      sys.exit(2)
    sys.exit(cli.run(lambda: _data(cli.config_value(_CONFIG), _SYNTHETIC.value,
                                   _STEPS.value, _DATA_TABLE.value, workers,
                                   _PNG_FOLDER.value)))
  if _NEEDED_RATE.value:
    sys.exit(cli.run(lambda: _needed_rate(cli.config_value(_CONFIG), _MFU.value)))
  run(cli.config_value(_CONFIG), steps=_STEPS.value, warmup=_WARMUP.value, matmul_n=_MATMUL_N.value,
      profile_dir=_PROFILE_DIR.value, count_useful_flops=_USEFUL_FLOPS.value)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
