"""Measures why a VAE-GAN's adversarial game stalls; writes the numbers and a figure.

  python scripts/diagnose.py --out runs/diagnose [--steps 1000] [--image_size 16]
      [--data digits | --data folder --data_path DIR] [--seed 0]
      [--runs before,after]  # names from RUNS below
  python scripts/diagnose.py --out runs/diagnose --plot_only  # redraw from saved runs

Trains each named run with the real train step (`vaegan_jax.train_step`) on the
compare split of the data (80% train), logging every step's metrics, and every
`--probe_every` steps probes the current state on a training batch:

- the norm of each role's gradient from each of its loss terms alone (decoder: L_llike
  and L_gen; encoder: L_llike and L_prior; discriminator: L_GAN);
- the root mean square of Dis_l(x), the scale L_llike is measured in;
- the discriminator's mean D(x) and D(x_p) when the three sources are normalised
  jointly, one source at a time (per-source BatchNorm) and with the running averages.

Then it scores 1000 prior samples like `vaegan_jax.compare` (classifier FD against the
held-out 20%) and saves OUT/<run>.npz. The figure OUT/diagnosis.png (copied to
docs/vaegan_diagnosis.png for docs/notes/2026-11-23-vaegan-diagnosis.md) shows, per run:
the fraction of steps the discriminator was updated, D(x) and D(x_p), and the ratio of
the decoder's gradient norms |grad L_llike| / |grad L_gen|. Needs matplotlib (`pip
install matplotlib`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time

import numpy as np

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _REPO)

# pylint: disable=g-import-not-at-top,wrong-import-position
from vaegan_jax import xla_flags

xla_flags.set_cpu_flags()

import jax
import jax.numpy as jnp
import optax

from vaegan_jax import classifier
from vaegan_jax import compare
from vaegan_jax import input_pipeline
from vaegan_jax import metrics
from vaegan_jax import networks
from vaegan_jax import objectives
from vaegan_jax import recipes
from vaegan_jax import sampling
from vaegan_jax import train_state as ts
from vaegan_jax import train_step as tstep

# The runs of the diagnosis (docs/notes/2026-11-23-vaegan-diagnosis.md): the VAE-GAN
# as it was (the authors' equilibrium rule, joint BatchNorm, equal weights) and the
# recipe that works (recipes.VAEGAN).
RUNS = {
    'before': recipes.VAEGAN_BEFORE,
    'after': recipes.VAEGAN,
}


def _probe_fn(config, nets):
  """jitted (state, batch, key) -> dict of probe scalars (see the module doc)."""
  objective = functools.partial(objectives.vaegan, nets=nets, config=config)

  def term_norm(params, bs, batch, key, role, name):
    def f(p):
      return objective({**params, role: p}, bs, batch, key)[1]['metrics'][name]
    return optax.global_norm(jax.grad(f)(params[role]))

  @jax.jit
  def probe(state, batch, key):
    params, bs = state.params, state.batch_stats
    m = {f'grad/{role}/{name[5:]}': term_norm(params, bs, batch, key, role, name)
         for role, name in (('decoder', 'loss/llike'), ('decoder', 'loss/gen'),
                            ('encoder', 'loss/llike'), ('encoder', 'loss/prior'),
                            ('discriminator', 'loss/gan'))}
    x = batch['image']
    b = x.shape[0]
    (mu, logvar), _ = networks.apply(nets.encoder, params['encoder'], bs['encoder'], x,
                                     True)
    z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(key, mu.shape)
    z_p = jax.random.normal(jax.random.fold_in(key, 1), mu.shape)
    x_gen, _ = networks.apply(nets.decoder, params['decoder'], bs['decoder'],
                              jnp.concatenate([z, z_p]), True)
    groups = [x, x_gen[:b], x_gen[b:]]
    for mode in ('joint', 'per_source'):
      (logits, feats), _ = objectives._discriminate(  # pylint: disable=protected-access
          nets.discriminator, params['discriminator'], bs['discriminator'], groups, True,
          mode)
      m[f'bn_{mode}/D_x'] = jax.nn.sigmoid(logits[:b]).mean()
      m[f'bn_{mode}/D_xp'] = jax.nn.sigmoid(logits[2 * b:]).mean()
      if mode == 'joint':
        m['feature_rms'] = jnp.sqrt(jnp.mean(feats[:b] ** 2))
    (logits, _), _ = networks.apply(nets.discriminator, params['discriminator'],
                                    bs['discriminator'], jnp.concatenate(groups), False)
    m['bn_running/D_x'] = jax.nn.sigmoid(logits[:b]).mean()
    m['bn_running/D_xp'] = jax.nn.sigmoid(logits[2 * b:]).mean()
    return m

  return probe


def run(name, overrides, args, out_dir):
  """Trains one run, probing as it goes; saves and returns OUT/<name>.npz's contents."""
  config = compare.model_config('vaegan', args.steps, args.seed, overrides,
                                data=args.data, image_size=args.image_size,
                                data_path=args.data_path)
  split = dict(data=args.data, image_size=args.image_size, data_path=args.data_path)
  train = classifier.load_split('train', args.seed, **split)
  heldout = classifier.load_split('validation', args.seed, **split)
  clf = classifier.train_classifier(train, heldout, steps=600, seed=args.seed)
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = ts.create(config, nets, txs)
  step = tstep.make_train_step(config, nets, txs)
  probe = _probe_fn(config, nets)
  per_step = tstep.examples_per_step(config)
  history, probes, t0 = [], [], time.time()
  for s in range(args.steps):
    idx = input_pipeline.batch_indices(len(train.images), per_step, args.seed, s)
    batch = {'image': jnp.asarray(train.images[idx])}
    if s % args.probe_every == 0:
      p = jax.device_get(probe(state, {'image': batch['image'][:config.batch_size]},
                               jax.random.PRNGKey(s)))
      probes.append(dict(p, step=s))
    state, step_metrics = step(state, batch)
    history.append(jax.device_get(step_metrics))
    if (s + 1) % 250 == 0:
      late = history[-250:]
      print(f'[{name}] step {s + 1}: D(x) {np.mean([h["D/x"] for h in late]):.3f} '
            f'D(x_p) {np.mean([h["D/x_p"] for h in late]):.3f} dis updated '
            f'{np.mean([h["updated/discriminator"] for h in late]):.2f} '
            f'L_llike {np.mean([h["loss/llike"] for h in late]):.4g} '
            f'({time.time() - t0:.0f} s)', flush=True)
  z = np.asarray(sampling.prior_z(config, jax.random.PRNGKey(args.seed), 1000))
  decode = jax.jit(lambda st, z: sampling.decode(nets, st, z))
  samples = classifier.batched(lambda z: decode(state, z), z)
  held_f = clf.features(heldout.images)
  result = dict(fd=metrics.frechet_distance(clf.features(samples), held_f),
                dis_updated_second_half=float(np.mean(
                    [h['updated/discriminator'] for h in history[args.steps // 2:]])))
  print(f'[{name}] {json.dumps(result)}', flush=True)
  arrays = {f'h/{k}': np.array([h[k] for h in history]) for k in history[-1]}
  arrays.update({f'p/{k}': np.array([p[k] for p in probes]) for k in probes[0]})
  np.savez(os.path.join(out_dir, f'{name}.npz'), result=json.dumps(result),
           samples=samples[:32], **arrays)
  return np.load(os.path.join(out_dir, f'{name}.npz'))


def _smooth(x, n=50):
  return np.convolve(x, np.ones(n) / n, mode='valid') if len(x) > n else x


def plot(runs: dict, path: str) -> None:
  """Three panels per run (see the module doc) into one PNG."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, axes = plt.subplots(3, len(runs), figsize=(5.5 * len(runs), 8.5), squeeze=False,
                           sharex=True)
  for j, (name, d) in enumerate(runs.items()):
    fd = json.loads(str(d['result']))['fd']
    ax = axes[0, j]
    ax.plot(_smooth(d['h/updated/discriminator']), color='k')
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f'{name}: sample FD {fd:.3g}')
    ax.set_ylabel('discriminator updated\n(fraction, 50-step mean)')
    ax = axes[1, j]
    ax.plot(_smooth(d['h/D/x']), label='D(x)')
    ax.plot(_smooth(d['h/D/x_p']), label='D(x_p)')
    ax.plot(_smooth(d['h/D/x_rec']), label='D(x_rec)')
    ax.set_ylim(0, 1)
    ax.set_ylabel('discriminator output')
    ax.legend(loc='upper right', fontsize=8)
    ax = axes[2, j]
    ax.semilogy(d['p/step'], d['p/grad/decoder/llike'] / d['p/grad/decoder/gen'],
                label='|grad L_llike| / |grad L_gen| (unweighted)')
    if 'h/decoder_gan_weight' in d:
      ax.semilogy(_smooth(d['h/decoder_gan_weight']), label='GAN weight in the decoder')
    ax.set_ylabel('decoder')
    ax.set_xlabel('step')
    ax.legend(loc='upper right', fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=80)


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument('--out', default=os.path.join('runs', 'diagnose'))
  p.add_argument('--steps', type=int, default=1000)
  p.add_argument('--probe_every', type=int, default=50)
  p.add_argument('--image_size', type=int, default=16)
  p.add_argument('--data', default='digits', choices=compare.DATA)
  p.add_argument('--data_path', default='')
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--runs', default='before,after')
  p.add_argument('--plot_only', action='store_true')
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  names = [n for n in args.runs.split(',') if n]
  runs = {}
  for name in names:
    path = os.path.join(args.out, f'{name}.npz')
    runs[name] = np.load(path) if args.plot_only else run(name, RUNS[name], args, args.out)
  plot(runs, os.path.join(args.out, 'diagnosis.png'))
  print(f'wrote {os.path.join(args.out, "diagnosis.png")}')


if __name__ == '__main__':
  main()
