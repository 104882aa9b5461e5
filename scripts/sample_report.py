"""Where a model's sample FD comes from: which class, blends, and which frequencies.

  python scripts/sample_report.py --data_path DIR [--image_size 32] [--channels 3]
      [--seed 0] --run NAME=WORKDIR[:SAMPLER] [--run ...] [--gradients] [--out F.json]

Reads runs that `python -m vaegan_jax.compare` trained on a folder of class folders
(WORKDIR = OUT/seed<s>/<model>; SAMPLER 'prior' by default, or 'gmm') with compare's
split and classifier (same seed, same feature space, so the FD column equals compare's),
draws 1,000 samples of each (key 0; averaged weights when the run has them) and, for
models with an encoder, reconstructs the held-out images. For each image set (also the
1,000 training images of compare's "real data" row, and the held-out ones) it prints one JSON line:

  fd:            FD against the held-out images (compare's FD).
  fd_per_class:  FD of the samples the classifier assigns to class k against the
                 held-out images of class k (None under 20 samples): which class's
                 images the FD comes from.
  class_share, mean_conf, share_conf_lt_0.9: the classifier's class shares and mean
                 top probability; low confidence would mean samples that blend classes.
  hi_share, mid_share: the share of the mean power spectrum (grey, each image's mean
                 removed) above 1/4 cycle per pixel, and between 1/8 and 1/4.
  peak_1/2d, peak_1/4d, peak_1/2, peak_1/4: the power at a periodic-grid frequency
                 ((1/2, 1/2) is the checkerboard, (1/4, 1/4) its stride-4 cousin, the
                 others the axis ones) over the mean of its 8 neighbours; about 1 for a
                 spectrum without a grid.

With --gradients (VAE-GAN runs, raw weights): the same spectrum statistics of each
decoder loss term's gradient at the decoder's pre-tanh output over 8 training batches
(feature term and pixel term on the reconstructions, GAN term on the prior samples)
and of the images themselves, plus each gradient's root mean square.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _REPO)

# pylint: disable=g-import-not-at-top,wrong-import-position
from vaegan_jax import xla_flags

xla_flags.set_cpu_flags()

import jax
import jax.numpy as jnp

import vaegan_jax
from vaegan_jax import classifier
from vaegan_jax import compare
from vaegan_jax import metrics
from vaegan_jax import objectives

MIN_PER_CLASS = 20


def spectrum(images: np.ndarray) -> np.ndarray:
  """Mean power spectrum [H, W] of the grey images (channel mean, image mean removed)."""
  g = images.mean(-1)
  g = g - g.mean(axis=(1, 2), keepdims=True)
  return (np.abs(np.fft.fft2(g)) ** 2).mean(0)


def spectrum_stats(p: np.ndarray) -> dict:
  """High-frequency shares and periodic-grid peaks of a power spectrum (module doc)."""
  n = p.shape[0]
  f = np.fft.fftfreq(n)
  fx, fy = np.meshgrid(f, f, indexing='ij')
  r = np.sqrt(fx ** 2 + fy ** 2)
  total = p.sum()
  out = {'hi_share': float(p[r > 0.25].sum() / total),
         'mid_share': float(p[(r > 0.125) & (r <= 0.25)].sum() / total)}
  for name, (a, b) in {'1/2d': (n // 2, n // 2), '1/4d': (n // 4, n // 4),
                       '1/2': (n // 2, 0), '1/4': (n // 4, 0)}.items():
    points = [(a, b)] if a == b else [(a, b), (b, a)]
    ring = [p[(i + di) % n, (j + dj) % n] for i, j in points
            for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj]
    out['peak_' + name] = float(np.mean([p[i, j] for i, j in points]) / np.mean(ring))
  return out


def report(x: np.ndarray, clf, held, held_features) -> dict:
  probs = clf.probabilities(x)
  f = clf.features(x)
  pred, conf = probs.argmax(-1), probs.max(-1)
  per_class = []
  for c in range(clf.num_classes):
    sel = pred == c
    per_class.append(metrics.frechet_distance(f[sel], held_features[held.labels == c])
                     if sel.sum() >= MIN_PER_CLASS else None)
  return {'fd': metrics.frechet_distance(f, held_features), 'fd_per_class': per_class,
          'class_share': [float(np.mean(pred == c)) for c in range(clf.num_classes)],
          'mean_conf': float(conf.mean()), 'share_conf_lt_0.9': float(np.mean(conf < 0.9)),
          **spectrum_stats(spectrum(x))}


def gradient_report(workdir: str, images: np.ndarray, batches: int = 8) -> dict:
  """Spectrum statistics of each decoder term's gradient at the pre-tanh output."""
  m = vaegan_jax.load(workdir, ema=False)
  c, p, bs = m.config, m.state.params, m.state.batch_stats

  @jax.jit
  def grads(x, key):
    t = objectives.vaegan_terms(p, bs, {'image': x}, key, nets=m.nets, config=c)
    b, a = t.b, t.a_gen
    out = lambda a: t.discriminate(a)[0]
    w_pix = objectives.pixel_weight(c, x.shape, out(a)[1].shape)  # shape only
    feature = lambda a: t.llike(out(a))
    pixel = lambda a: w_pix * t.pixel(a)
    # The GAN term on the prior samples (its gradient's rows b: are theirs).
    gen = lambda a: t.gen(out(a))
    x_gen = jnp.tanh(a)
    return {'grad_feature': jax.grad(feature)(a)[:b], 'grad_pixel': jax.grad(pixel)(a)[:b],
            'grad_gan': jax.grad(gen)(a)[b:], 'x_rec': x_gen[:b], 'x_p': x_gen[b:]}

  rng = np.random.default_rng(0)
  parts = [jax.device_get(grads(jnp.asarray(images[rng.choice(len(images), 64, False)]),
                                jax.random.PRNGKey(i))) for i in range(batches)]
  out = {}
  for k in parts[0]:
    v = np.concatenate([q[k] for q in parts])
    out[k] = dict(spectrum_stats(spectrum(v)), rms=float(np.sqrt(np.mean(v ** 2))))
  return out


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument('--data_path', required=True)
  ap.add_argument('--image_size', type=int, default=32)
  ap.add_argument('--channels', type=int, default=3)
  ap.add_argument('--seed', type=int, default=0)
  ap.add_argument('--run', action='append', default=[], help='NAME=WORKDIR[:SAMPLER]')
  ap.add_argument('--num', type=int, default=1000)
  ap.add_argument('--gradients', action='store_true')
  ap.add_argument('--out', default='')
  a = ap.parse_args()
  train, held, clf, held_features = classifier.seed_classifier(
      a.seed, data='folder', image_size=a.image_size, data_path=a.data_path,
      channels=a.channels)
  # compare's "real data" row: the same training images (its seeded draw).
  idx = compare.floor_indices(a.seed, len(train.images), a.num)
  sets = {'real_train': train.images[idx], 'heldout': held.images}
  results, seen = {}, set()
  for spec in a.run:
    name, _, rest = spec.partition('=')
    workdir, _, sampler = rest.partition(':')
    model = vaegan_jax.load(workdir)
    sets[name] = model.sample(a.num, seed=0, sampler=sampler or 'prior')
    if workdir in seen:  # a second sampler of the same run
      continue
    seen.add(workdir)
    if model.has_encoder:
      sets[name + '_recon'] = model.reconstruct(held.images)
    if a.gradients and model.config.model == 'vaegan':
      results[name + '_gradients'] = gradient_report(workdir, train.images)
      print(name + '_gradients', json.dumps(results[name + '_gradients']), flush=True)
  for name, x in sets.items():
    results[name] = report(x, clf, held, held_features)
    print(name, json.dumps(results[name]), flush=True)
  if a.out:
    with open(a.out, 'w') as f:
      json.dump(results, f, indent=1)


if __name__ == '__main__':
  main()
