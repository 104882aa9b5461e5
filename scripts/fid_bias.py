"""How FD and KID depend on the number of images: why small-N FID is not comparable.

  python scripts/fid_bias.py [--workdir W] [--reps 5]

Feature space: the digit classifier of `evaluate --features classifier` (16x16, trained
on the embedded digits as evaluate trains it). Prints a markdown table per curve:

  real vs real:  two disjoint random sets of N of the 1,797 embedded digits. Both come
                 from one distribution, so the true distance is 0; the mean FD at N is
                 the estimator's bias there. KID is unbiased: its mean is ~0 at every N.
  samples:       (--workdir, a digits run at 16x16) N prior samples, each rep a fresh z,
                 against all 1,797 digits.

Mean and standard deviation over --reps draws.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from vaegan_jax import classifier  # pylint: disable=g-import-not-at-top
from vaegan_jax import features  # pylint: disable=g-import-not-at-top
from vaegan_jax import metrics  # pylint: disable=g-import-not-at-top
from vaegan_jax import sample_cli  # pylint: disable=g-import-not-at-top
from vaegan_jax import sampling  # pylint: disable=g-import-not-at-top


def _row(n, fds, kids):
  return (f'| {n} | {np.mean(fds):.3f} ± {np.std(fds):.3f} | '
          f'{np.mean(kids):.5f} ± {np.std(kids):.5f} |')


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--workdir', default=None)
  p.add_argument('--reps', type=int, default=5)
  a = p.parse_args()
  fn = features.feature_fn('classifier', (16, 16, 1))
  split = classifier.load_split('train', 0, image_size=16)
  held = classifier.load_split('validation', 0, image_size=16)
  real = np.concatenate([split.images, held.images])
  real_f = fn(real)
  header = '| N | FD | KID |\n|---:|---:|---:|'
  print(f'real vs real ({len(real)} embedded digits, two disjoint sets of N)\n{header}')
  for n in (50, 100, 200, 400, 800):
    fds, kids = [], []
    for r in range(a.reps):
      perm = np.random.default_rng(r).permutation(len(real))
      f1, f2 = real_f[perm[:n]], real_f[perm[n:2 * n]]
      fds.append(metrics.frechet_distance(f1, f2))
      kids.append(metrics.kernel_distance(f1, f2))
    print(_row(n, fds, kids))
  if a.workdir:
    config, nets, state = sample_cli.restore(a.workdir, None, ema=True)
    decode = jax.jit(lambda s, z: sampling.decode(nets, s, z))
    print(f'\nsamples of {a.workdir} vs all {len(real)} digits\n{header}')
    for n in (100, 250, 500, 1000, 2000, 5000):
      fds, kids = [], []
      for r in range(a.reps):
        z = np.asarray(sampling.prior_z(config, jax.random.PRNGKey(100 + r), n))
        g = fn(classifier.batched(lambda z: decode(state, z), z))
        fds.append(metrics.frechet_distance(g, real_f))
        kids.append(metrics.kernel_distance(g, real_f))
      print(_row(n, fds, kids))


if __name__ == '__main__':
  main()
