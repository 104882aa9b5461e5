"""How much compare's FD moves with the draw of prior samples alone.

  python scripts/fd_noise.py --out runs/compare --image_size 28 [--seed 0] [--draws 6]
      [--models vae,dcgan,vaegan] [--data folder --data_path DIR] [--num_samples 1000]

Reads the models that `python -m vaegan_jax.compare` trained in OUT/seed<s>/<model>,
rebuilds compare's classifier and held-out split for that seed, and scores each model's
raw parameters with `--draws` independent sets of prior samples (z from PRNGKey(0),
PRNGKey(1), ...; compare itself uses PRNGKey(seed)). Prints, per model, the FD of each
draw and their mean and standard deviation. Two models whose FDs differ by less than
that spread are not told apart by one draw.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from vaegan_jax import classifier  # pylint: disable=g-import-not-at-top
from vaegan_jax import metrics  # pylint: disable=g-import-not-at-top
from vaegan_jax import sample_cli  # pylint: disable=g-import-not-at-top
from vaegan_jax import sampling  # pylint: disable=g-import-not-at-top


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--out', required=True)
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--image_size', type=int, default=16)
  p.add_argument('--data', default='digits')
  p.add_argument('--data_path', default='')
  p.add_argument('--models', default='vae,dcgan,vaegan')
  p.add_argument('--draws', type=int, default=6)
  p.add_argument('--num_samples', type=int, default=1000)
  p.add_argument('--classifier_steps', type=int, default=400)
  a = p.parse_args()
  _, _, clf, held_f = classifier.seed_classifier(
      a.seed, steps=a.classifier_steps, data=a.data, image_size=a.image_size,
      data_path=a.data_path)
  for model in a.models.split(','):
    workdir = os.path.join(a.out, f'seed{a.seed}', model)
    config, nets, state = sample_cli.restore(workdir, None, ema=False)
    decode = jax.jit(lambda s, z, nets=nets: sampling.decode(nets, s, z))
    fds = []
    for r in range(a.draws):
      z = np.asarray(sampling.prior_z(config, jax.random.PRNGKey(r), a.num_samples))
      x = classifier.batched(lambda z: decode(state, z), z)
      fds.append(metrics.frechet_distance(clf.features(x), held_f))
    print(f'{model}: FD per draw {" ".join(f"{f:.3f}" for f in fds)}; mean '
          f'{np.mean(fds):.3f} sd {np.std(fds):.3f}', flush=True)


if __name__ == '__main__':
  main()
