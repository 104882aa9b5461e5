"""The training loop: data, jitted step, progress, TensorBoard, image grids, checkpoints."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time

import jax
import numpy as np

from vaegan_jax import checkpointing
from vaegan_jax import errors
from vaegan_jax import health
from vaegan_jax import input_pipeline
from vaegan_jax import labels
from vaegan_jax import live_eval
from vaegan_jax import mixture
from vaegan_jax import networks
from vaegan_jax import objectives
from vaegan_jax import parallel
from vaegan_jax import preemption
from vaegan_jax import sampling
from vaegan_jax import train_state as ts
from vaegan_jax import train_step as tstep
from vaegan_jax import validation
from vaegan_jax import workdir as wd


TrainingDiverged = errors.TrainingDiverged


def _check_finite(metrics: dict, step: int) -> None:
  for name, value in metrics.items():
    if name.startswith('loss/') and not np.isfinite(value):
      raise TrainingDiverged(
          f'{name} = {value} at step {step}: training stopped, the last good checkpoint '
          'is kept (lower --config.learning_rate or set --config.grad_clip_norm)')


def _first(metrics: dict) -> dict:
  """One device's values of replicated metrics, on the host (all devices agree)."""
  return parallel.unreplicate(metrics)


def _eta(seconds: float) -> str:
  if not math.isfinite(seconds):
    return '?'
  m, s = divmod(int(seconds), 60)
  h, m = divmod(m, 60)
  return f'{h}h{m:02d}m' if h else f'{m}m{s:02d}s'


def _progress_line(step, total, means, steps_per_s) -> str:
  roles = ' '.join(f'{r[:3]} {means[f"loss/{r}"]:.4g}' for r in networks.ROLES
                   if f'loss/{r}' in means)
  # What the adversary thinks (D/...: mean D of a GAN; W: WGAN's distance estimate).
  d = ' '.join(f'{k} {v:.3f}' for k, v in sorted(means.items())
               if k.startswith('D/') or k == 'W')
  # The fraction of the window's steps each adversarial network was updated (the
  # equilibrium rule can skip the decoder and the discriminator).
  updated = ' '.join(f'{r[:3]} {means[f"updated/{r}"]:.2f}' for r in networks.ROLES
                     if f'updated/{r}' in means and r != 'encoder')
  eta = (total - step) / steps_per_s if steps_per_s > 0 else float('inf')
  # The auxiliary head's accuracy on the window's labelled real images (aux_weight > 0).
  aux = f'aux acc {means["aux_accuracy"]:.3f}' if 'aux_accuracy' in means else ''
  return ' | '.join(p for p in (
      f'step {step:>{len(str(total))}}/{total}', roles, d, aux,
      f'updated {updated}' if 'updated/discriminator' in means else '',
      f'{steps_per_s:.2f} steps/s', f'ETA {_eta(eta)}') if p)


class _ImageWriter:
  """Samples from a fixed z and reconstructions of a fixed batch, to PNG and TensorBoard."""

  def __init__(self, config, nets, ds, workdir, tb):
    self.nets, self.tb = nets, tb
    self.dir = os.path.join(workdir, 'images')
    os.makedirs(self.dir, exist_ok=True)
    n = min(config.num_images, ds.num_examples)
    self.z = sampling.prior_z(config, jax.random.PRNGKey(config.seed + 1),
                              config.num_images)
    self.x = ds.batch(np.arange(n), np.random.default_rng(config.seed))
    self.has_encoder = nets.encoder is not None
    self.y = self.y_z = None
    self.cols = None
    if sampling.is_conditional(nets):  # labels of the fixed batch; classes: a row each
      self.y = ds.read_labels(np.arange(n))
      self.y_z = np.resize(self.y, (config.num_images, self.y.shape[1]))
      if config.label_kind == 'classes':
        k = len(config.label_names)
        cols = max(1, config.num_images // k)  # the same codes in every class's row
        self.y_z, self.cols = labels.grid_rows(np.eye(k, dtype=np.float32), k * cols)
        self.z = np.tile(np.asarray(self.z)[:cols], (k, 1))
    self._decode = jax.jit(lambda s, z, y: sampling.decode(nets, s, z, y))
    self._recon = jax.jit(lambda s, x, y: sampling.reconstructions(nets, s, x, y))

  def write(self, state, step: int) -> str:
    state = ts.averaged(state)  # what sample.py will show
    grids = {'samples': sampling.grid(self._decode(state, self.z, self.y_z), self.cols)}
    if self.has_encoder:
      m = max(1, len(self.x) // 2)
      half, y = self.x[:m], None if self.y is None else self.y[:m]
      grids['reconstructions'] = sampling.side_by_side(half, self._recon(state, half, y))
    for name, g in grids.items():
      sampling.save_png(g, os.path.join(self.dir, f'{name}_{step:07d}.png'))
      if self.tb is not None:
        self.tb.add_image(name, g, step, dataformats='HWC')
    return os.path.join(self.dir, f'samples_{step:07d}.png')


def _summary_writer(workdir):
  from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
  return SummaryWriter(os.path.join(workdir, 'tb'))


def train_and_evaluate(config, workdir: str, *, out=sys.stdout, write_summaries=True,
                       on_log=None):
  """Trains `config.model` for `config.num_train_steps` steps in `workdir`.

  Resumes from the newest checkpoint in `workdir` that restores (damaged newer ones are
  moved to WORKDIR/corrupt_checkpoints with a warning). Refuses, before writing
  anything, a workdir that another live process trains in (workdir.RunLock) or whose run
  has other state shapes (workdir.check_resume). SIGTERM and SIGINT save the current
  step and raise preemption.Stopped. Data-parallel over all devices (see
  vaegan_jax/parallel.py). Every `config.log_every` steps the window's mean metrics go
  to the progress line, TensorBoard, the GAN health check (vaegan_jax/health.py) and
  `on_log(step, means)` if given. Returns the final TrainState (host copy).
  """
  validation.validate(config)
  parallel.maybe_initialize_distributed(config)
  par = parallel.DataParallel(config)  # config.parallel: 'jit' or 'pmap'
  # data_cache='auto' builds or reads WORKDIR/data_cache; process 0 prints its progress.
  ds = input_pipeline.load(config, workdir=workdir,
                           out=out if jax.process_index() == 0 else None)
  validation.validate(config, ds.num_examples)
  labels.resolve(config, ds)  # what y is, into the config (and config.json)
  ds = labels.prepare(config, ds)
  lead = jax.process_index() == 0  # process 0 alone logs and writes images and config

  def log(msg):
    if lead:
      print(msg, file=out, flush=True)

  lock = wd.RunLock(workdir, warn=log) if lead else contextlib.nullcontext()
  with lock, preemption.StopSignals() as stop:
    return _train(config, workdir, ds, write_summaries, on_log, log, lead, stop, par)


def _restore_or_create(config, workdir, nets, txs, log):
  """(state, manager, changed fields): the run in `workdir` if any, else a new state."""
  state = ts.create(config, nets, txs)
  mngr = checkpointing.manager(workdir, config.max_to_keep)
  changed = {}
  if mngr.latest_step() is None:
    return state, mngr, changed
  try:
    if os.path.exists(os.path.join(workdir, checkpointing.CONFIG_FILE)):
      changed = wd.check_resume(checkpointing.load_config(workdir), config, workdir)
    skipped = []
    state = checkpointing.restore(mngr, state, warn=log, skipped=skipped)
  except BaseException:
    mngr.close()
    raise
  if skipped and jax.process_index() == 0:
    where = checkpointing.set_aside(mngr, [s for s, _ in skipped])
    log(f'warning: moved the skipped checkpoints (steps {", ".join(str(s) for s, _ in skipped)})'
        f' to {where}')
  if skipped and jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    multihost_utils.sync_global_devices('set_aside')
    mngr.reload()
  log(f'resumed from {mngr.directory} at step {int(state.step)}')
  if changed:
    log('resuming with changed: ' + ', '.join(
        f'{k} {wd.fmt(o)} -> {wd.fmt(n)}' for k, (o, n) in changed.items()))
  return state, mngr, changed


def _train(config, workdir, ds, write_summaries, on_log, log, lead, stop, par):
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  # Before anything is written: missing Inception weights stop the run here.
  live = (live_eval.LiveEval(config, nets, workdir)
          if lead and config.eval_every else None)
  state, mngr, changed = _restore_or_create(config, workdir, nets, txs, log)
  start = int(state.step)
  if lead:
    wd.save_config(config, workdir, start, changed)
  total = int(config.num_train_steps)
  n_params = {r: sum(x.size for x in jax.tree.leaves(p)) for r, p in state.params.items()}
  log(f'{config.model} on {config.dataset} ({ds.num_examples} examples, '
      f'{config.image_size}x{config.image_size}x{config.channels}); parameters ' +
      ', '.join(f'{r} {n:,}' for r, n in n_params.items()) + f'; workdir {workdir}')
  log(f'{jax.device_count()} {jax.devices()[0].platform} devices ({jax.process_count()} '
      f'processes x {par.n_local}), {par.per_device} examples per device ({par.mode})')
  if live is not None:
    log(live.description)

  step_fn = par.train_step(config, txs, nets)
  tb = _summary_writer(workdir) if write_summaries and lead else None
  images = _ImageWriter(config, nets, ds, workdir, tb) if lead else None
  pstate = par.put_state(state)  # replicated on every device
  del state
  batches = input_pipeline.iterate(ds, tstep.examples_per_step(config), config.seed, start,
                                   process_index=jax.process_index(),
                                   process_count=jax.process_count(),
                                   workers=config.data_workers)

  def write_scalars(means, step):
    if tb is not None:
      for k, v in means.items():
        tb.add_scalar(k, v, step)
      tb.flush()

  def host_state():  # where a host copy is needed: process 0, and every one with pmap
    return parallel.unreplicate(pstate) if lead or par.mode == 'pmap' else None

  def save(host):  # 'jit': orbax writes the global arrays; host: for the checksums
    checkpointing.save(mngr, par.to_save(pstate, host), write_checksums=lead, host=host)

  def save_unsaved():  # the current state, if newer than the last checkpoint; its step
    step = int(parallel.unreplicate(pstate.step))
    if step > last_saved:
      if pending is not None:  # never save a state whose losses were not checked
        _check_finite(_first(pending[1]), pending[0])
      save(host_state())
    return step

  gan_health = health.GanHealth()
  last_saved = start
  pending = None  # (step, device metrics) of the step in flight, checked one step late
  window, t0, t_start = [], time.time(), time.time()
  try:
    for step in range(start + 1, total + 1):
      if stop.requested(step - 1):
        break
      pstate, metrics = step_fn(pstate, par.put_batch(next(batches)))
      if step == start + 1:
        log(f'compiled and ran the first step in {time.time() - t_start:.1f} s')
        t0 = time.time()
      if pending is not None:
        window.append(_first(pending[1]))
        _check_finite(window[-1], pending[0])
      pending = (step, metrics)
      last = step == total
      if step % config.log_every == 0 or step % config.checkpoint_every == 0 or last:
        window.append(_first(metrics))
        _check_finite(window[-1], step)
        pending = None
      evaluated = {}
      if live is not None and (step % config.eval_every == 0 or last):
        t_eval = time.time()
        evaluated = live(parallel.unreplicate(pstate), step)
        t0 += time.time() - t_eval  # steps/s counts training only
        write_scalars(evaluated, step)
        if not (step % config.log_every == 0 or last):
          log(f'step {step}: {live_eval.summary(evaluated)}')
      if step % config.log_every == 0 or last:
        means = {k: float(np.mean([w[k] for w in window])) for k in window[-1]}
        now = time.time()
        rate = len(window) / max(now - t0, 1e-9) if step > start + 1 else 0.0
        log(_progress_line(step, total, means, rate) +
            (f' | {live_eval.summary(evaluated)}' if evaluated else '') +
            (f' | skipped {len(ds.corrupt)} corrupt images' if ds.corrupt else ''))
        for warning in gan_health.check(step, means):
          log(warning)
        write_scalars(means, step)
        if on_log is not None:
          on_log(step, means)
        window, t0 = [], now
      if lead and ((config.image_every and step % config.image_every == 0) or last):
        path = images.write(parallel.unreplicate(pstate), step)
        if last:
          log(f'samples: {path}')
      if step % config.checkpoint_every == 0 or last:
        state = host_state()
        save(state)
        last_saved = step
        if lead:  # what sampling needs, beside the checkpoint (vaegan_jax/mixture.py)
          mixture.write_for_checkpoint(config, nets, state, ds, workdir, ts.averaged)
          mixture.prune(workdir, set(mngr.all_steps()) | {step})
        del state
    # A signal during the last step changes nothing: that step was saved as the last.
    if stop.signum is not None and last_saved < total:
      now = save_unsaved()
      checkpointing.wait(mngr)
      msg = (f'stopped by {stop.name} at step {now}; checkpoint saved; re-run the same '
             'command to resume' if now else
             f'stopped by {stop.name} before the first step; nothing to save')
      log(msg)
      raise preemption.Stopped(stop.signum, msg)
  except KeyboardInterrupt as e:
    if isinstance(e, preemption.Stopped):
      raise
    if jax.process_count() == 1:  # a save needs every process
      now = save_unsaved()
      if now > last_saved:
        log(f'interrupted: saved step {now}; re-run the command to resume')
    raise
  finally:
    checkpointing.wait(mngr)
    mngr.close()
    if tb is not None:
      tb.close()
  if start >= total:
    log(f'nothing to do: the checkpoint is at step {start} >= num_train_steps={total}')
  return parallel.unreplicate(pstate)
