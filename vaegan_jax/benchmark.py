"""Times the jitted train step on a synthetic batch and compares it with a matmul peak.

  vaegan-benchmark --config celeba [--config.batch_size=64]
      [--steps 10] [--profile DIR] [--config.compute_dtype=bfloat16] [--config.layers=flax]
  vaegan-benchmark --config celeba --data [--synthetic 2000]

(or `python -m vaegan_jax.benchmark`; --config: a shipped config's name or a path,
default celeba.)

`--data` times the input pipeline alone instead (reading, decoding, preprocessing,
batching; `input_pipeline.bench`), on the configured source or, with `--synthetic N`, on
a temporary folder of N synthetic 218x178 JPEGs, and prints its images/s.

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


def useful_flops(config, state, batch) -> float:
  """FLOPs of the step built from the plain flax layers (no structural zeros).

  Args:
    config: as for `run`.
    state: a TrainState of the fast networks (same variables as the reference ones).
    batch: the step's batch.

  Returns:
    XLA's cost-analysis FLOPs of that step (compiled, not run).
  """
  from vaegan_jax import networks  # pylint: disable=g-import-not-at-top
  from vaegan_jax import objectives  # pylint: disable=g-import-not-at-top
  from vaegan_jax import train_state as ts  # pylint: disable=g-import-not-at-top
  from vaegan_jax import train_step as tstep  # pylint: disable=g-import-not-at-top
  nets = objectives.build_networks(config, axis_name=tstep.AXIS)
  ref = networks.Networks(**{r: getattr(nets, r).clone(reference_layers=True)
                             for r in nets.roles()})
  txs = ts.make_optimizers(config, ref.roles())
  step = tstep.make_parallel_train_step(config, ref, txs)
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

  # The trainer's path: pmap over every local device (n = 1 on one device).
  n_dev, per_device = parallel.check_batch(config)
  step_fn = tstep.make_parallel_train_step(
      config, objectives.build_networks(config, axis_name=tstep.AXIS), txs)
  state = parallel.replicate(state)
  batch = parallel.split(jax.device_get(batch), n_dev)
  t = time.perf_counter()
  compiled = step_fn.lower(state, batch).compile()
  compile_s = time.perf_counter() - t
  flops = total_flops(compiled) * n_dev  # the cost analysis is per replica
  useful = 0.0
  if count_useful_flops:  # the plain layers' step: compiled once more only when it differs
    useful = useful_flops(config, state, batch) if config_uses_rewrites(config) else flops

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
      f'{len(batch["image"][0]) * n_dev / step_s:.1f} images/s on {n_dev} device(s) = '
      f'{len(batch["image"][0]) / step_s:.1f} images/s per device '
      f'({per_device} examples each)')
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


def _data(config, synthetic: int, steps: int) -> None:
  from vaegan_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  from vaegan_jax import validation  # pylint: disable=g-import-not-at-top
  if synthetic < 0:
    raise validation.ConfigError(f'--synthetic must be >= 0 (got {synthetic})')
  if synthetic:
    import tempfile  # pylint: disable=g-import-not-at-top
    tmp = tempfile.mkdtemp(prefix='vaegan_synthetic_')
    input_pipeline.write_synthetic_jpegs(tmp, synthetic)
    config.dataset, config.data_path = 'folder', tmp
  input_pipeline.bench(config, steps)


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
    sys.exit(cli.run(lambda: _data(cli.config_value(_CONFIG), _SYNTHETIC.value,
                                   _STEPS.value)))
  run(cli.config_value(_CONFIG), steps=_STEPS.value, warmup=_WARMUP.value, matmul_n=_MATMUL_N.value,
      profile_dir=_PROFILE_DIR.value, count_useful_flops=_USEFUL_FLOPS.value)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
