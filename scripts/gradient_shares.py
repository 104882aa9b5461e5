"""How much of each network's gradient comes from each of its loss terms, as it trains.

  python scripts/gradient_shares.py --out runs/shares/c32.json --data folder \
      --data_path DIR --image_size 32 --channels 3 [--config colour] [--steps 1000]
      [--probe_every 100] [--seed 0] [--set field=value ...]

Trains the VAE-GAN (the config's networks with the recipe of vaegan_jax/recipes.py, or
`--set` overrides) with the real train step on compare's 80% training split and,
every `--probe_every` steps, takes on one training batch the global norm of the
gradient of each weighted loss term alone with respect to each role's parameters:

  decoder:       pixel   w_pix * L_pixel      (objectives.pixel_weight; 0 in the paper)
                 feature a * L_llike          (decoder_llike_weight)
                 GAN     lambda * L_gen       (the adaptive or fixed GAN weight)
  encoder:       pixel   w_pix * L_pixel
                 feature L_llike
                 KL      beta * L_prior       (prior_weight)

and the same norms at the decoder's output activation (pre-tanh; where the adaptive
weight is measured). Each term's share is its norm over the sum of the role's norms.
Prints one line per probe and writes OUT (JSON): the probes, the sizes the sums run
over (pixels H*W*C, Dis_l features), and the mean shares of the second half of the run.
"""

from __future__ import annotations

import argparse
import ast
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
from vaegan_jax import networks
from vaegan_jax import objectives
from vaegan_jax import train_state as ts
from vaegan_jax import train_step as tstep

TERMS = {  # role -> {share name: (metric, weight field or None for the adaptive weight)}
    'decoder': {'pixel': ('loss/pixel', 'pixel_llike_weight'),
                'feature': ('loss/llike', 'decoder_llike_weight'),
                'gan': ('loss/gen', None)},
    'encoder': {'pixel': ('loss/pixel', 'pixel_llike_weight'),
                'feature': ('loss/llike', ''),
                'kl': ('loss/prior', 'prior_weight')},
}


def _weight(config, field, metrics, w_pix):
  if field is None:
    return metrics['decoder_gan_weight']
  if field == 'pixel_llike_weight':
    return w_pix
  return 1.0 if field == '' else float(config[field])


def probe_fn(config, nets, w_pix):
  """jitted (state, batch, key) -> {'decoder/pixel': norm, ...} (see the module doc)."""
  objective = functools.partial(objectives.vaegan, nets=nets, config=config)

  @jax.jit
  def probe(state, batch, key):
    params, bs = state.params, state.batch_stats
    metrics = objective(params, bs, batch, key)[1]['metrics']
    out = {'decoder_gan_weight': metrics['decoder_gan_weight']}
    for role, terms in TERMS.items():
      for name, (metric, field) in terms.items():
        def f(p, metric=metric):
          return objective({**params, role: p}, bs, batch, key)[1]['metrics'][metric]
        w = _weight(config, field, metrics, w_pix)
        out[f'{role}/{name}'] = w * optax.global_norm(jax.grad(f)(params[role]))
    return out

  return probe


def feature_size(config, nets, params, bs):
  x = jnp.zeros((1, config.image_size, config.image_size, config.channels))
  (_, feats), _ = networks.apply(nets.discriminator, params['discriminator'],
                                 bs['discriminator'], x, False)
  return int(feats.shape[-1])


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument('--out', required=True)
  p.add_argument('--data', default='digits', choices=compare.DATA)
  p.add_argument('--data_path', default='')
  p.add_argument('--image_size', type=int, default=16)
  p.add_argument('--channels', type=int, default=1)
  p.add_argument('--config', default='')
  p.add_argument('--steps', type=int, default=1000)
  p.add_argument('--probe_every', type=int, default=100)
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--set', nargs='*', default=[], help='config overrides field=value')
  args = p.parse_args()
  overrides = {}
  for kv in args.set:
    k, v = kv.split('=', 1)
    try:
      overrides[k] = ast.literal_eval(v)
    except (ValueError, SyntaxError):
      overrides[k] = v
  split = dict(data=args.data, image_size=args.image_size, data_path=args.data_path,
               channels=args.channels)
  config = compare.model_config('vaegan', args.steps, args.seed, overrides,
                                base=args.config, **split)
  train = classifier.load_split('train', args.seed, **split)
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = ts.create(config, nets, txs)
  step = tstep.make_train_step(config, nets, txs)
  per_step = tstep.examples_per_step(config)
  sizes = dict(pixels=args.image_size ** 2 * args.channels,
               features=feature_size(config, nets, state.params, state.batch_stats),
               latent=int(config.latent_dim))
  w_pix = objectives.pixel_weight(config, (1, sizes['pixels']), (1, sizes['features']))
  sizes['pixel_weight'] = w_pix
  probe = probe_fn(config, nets, w_pix)
  print(f'sums over {sizes}', flush=True)
  probes, t0 = [], time.time()
  for s in range(args.steps + 1):
    idx = input_pipeline.batch_indices(len(train.images), per_step, args.seed, s)
    batch = {'image': jnp.asarray(train.images[idx])}
    if s % args.probe_every == 0:
      m = {k: float(v) for k, v in jax.device_get(probe(
          state, {'image': batch['image'][:config.batch_size]},
          jax.random.PRNGKey(s))).items()}
      probes.append(dict(m, step=s))
      line = ' '.join(f'{k} {v:.3g}' for k, v in m.items())
      print(f'step {s} ({time.time() - t0:.0f} s): {line}', flush=True)
    if s < args.steps:
      state, _ = step(state, batch)
  late = [q for q in probes if q['step'] >= args.steps // 2]
  shares = {}
  for role, terms in TERMS.items():
    norms = np.array([[q[f'{role}/{n}'] for n in terms] for q in late])
    frac = norms / norms.sum(axis=1, keepdims=True)
    shares[role] = dict(zip(terms, map(float, frac.mean(axis=0))))
  result = dict(args=vars(args), overrides=overrides, sizes=sizes, probes=probes,
                shares_second_half=shares)
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  with open(args.out, 'w') as f:
    json.dump(result, f, indent=1)
  print(json.dumps(dict(sizes=sizes, shares_second_half=shares)))


if __name__ == '__main__':
  main()
