"""Where a trained model's sample FD comes from: its decoder, or the prior's gaps.

  python scripts/prior_gap.py --out runs/compare --image_size 28 [--seed 0]
      [--models vae,vaegan] [--data folder --data_path DIR]

Reads the models that `python -m vaegan_jax.compare` trained in OUT/seed<s>/<model>
(same data split, same classifier and feature space as compare) and prints, per model,
one JSON line of Frechet distances to the held-out images:

  prior:        1000 prior samples (z ~ N(0, I), compare's key): compare's FD.
  recon_train:  the reconstructions (decoded posterior means) of 1000 train images.
  real_train:   the same 1000 train images themselves (the floor).

If recon_train is near real_train while prior is well above it, the decoder draws
good images where the encoder puts codes and poor ones elsewhere: the samples are
limited by how the posteriors cover the prior, not by the decoder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np

from vaegan_jax import xla_flags  # pylint: disable=g-import-not-at-top
xla_flags.set_cpu_flags()
from vaegan_jax import classifier, metrics, sample_cli, sampling  # pylint: disable=g-import-not-at-top

NUM = 1000


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--out', required=True)
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--models', default='vae,vaegan')
  p.add_argument('--image_size', type=int, default=16)
  p.add_argument('--data', default='digits')
  p.add_argument('--data_path', default='')
  p.add_argument('--classifier_steps', type=int, default=400)
  a = p.parse_args()
  train, _, clf, held_f = classifier.seed_classifier(
      a.seed, steps=a.classifier_steps, data=a.data, image_size=a.image_size,
      data_path=a.data_path)
  fd = lambda images: metrics.frechet_distance(clf.features(images), held_f)
  x_train = train.images[:NUM]
  for model in a.models.split(','):
    config, nets, state = sample_cli.restore(os.path.join(a.out, f'seed{a.seed}', model))
    decode = jax.jit(lambda z, s=state, n=nets: sampling.decode(n, s, z))
    recon = jax.jit(lambda x, s=state, n=nets: sampling.reconstructions(n, s, x))
    z = np.asarray(sampling.prior_z(config, jax.random.PRNGKey(a.seed), NUM))
    row = dict(model=model, step=int(state.step),
               prior=fd(classifier.batched(decode, z)),
               recon_train=fd(classifier.batched(recon, x_train)),
               real_train=fd(x_train))
    print(json.dumps(row), flush=True)


if __name__ == '__main__':
  main()
