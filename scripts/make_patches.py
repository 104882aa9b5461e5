"""Cuts seeded random square patches from the colour photographs that ship in packages.

  python scripts/make_patches.py --out DIR [--size 32] [--per_photo 625] [--seed 0]
      [--photos china,flower,grace_hopper,astronaut,chelsea,coffee,hubble_deep_field,ihc]

Writes DIR/<photo>/<i>.png, one class folder per photograph: the colour data set of
`python -m vaegan_jax.compare --data folder --data_path DIR --channels 3` and of
`train.py --config.dataset=folder`. Each photograph is first resized so that its short
side is 4 x size (128 for 32x32 patches, 256 for 64x64), so a patch covers about a
sixteenth of the photo's area: textures (fur, foliage, stars, cells), not whole scenes.
Sources: scikit-learn's `load_sample_images()` (china, flower), matplotlib's sample data
(grace_hopper) and, when scikit-image is installed, its colour photographs (astronaut,
chelsea, coffee, hubble_deep_field, ihc, motorcycle_left, retina, rocket). A photo whose
package is missing is an error that names the package.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from PIL import Image

DEFAULT = ('china', 'flower', 'grace_hopper', 'astronaut', 'chelsea', 'coffee',
           'hubble_deep_field', 'ihc')
# scikit-image's colour photographs: name -> file in skimage.data's folder.
SKIMAGE = {'astronaut': 'astronaut.png', 'chelsea': 'chelsea.png', 'coffee': 'coffee.png',
           'hubble_deep_field': 'hubble_deep_field.jpg', 'ihc': 'ihc.png',
           'motorcycle_left': 'motorcycle_left.png', 'retina': 'retina.jpg',
           'rocket': 'rocket.jpg'}


def photo(name: str) -> np.ndarray:
  """The photograph `name` as uint8 [H, W, 3]."""
  if name in ('china', 'flower'):
    from sklearn.datasets import load_sample_image  # pylint: disable=g-import-not-at-top
    return load_sample_image(f'{name}.jpg')
  if name == 'grace_hopper':
    import matplotlib.cbook  # pylint: disable=g-import-not-at-top
    with matplotlib.cbook.get_sample_data('grace_hopper.jpg') as f:
      return np.asarray(Image.open(f).convert('RGB'))
  if name in SKIMAGE:
    try:
      import skimage.data  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise SystemExit(f'error: photo {name!r} needs scikit-image: pip install '
                       'scikit-image') from e
    path = os.path.join(skimage.data.data_dir, SKIMAGE[name])
    return np.asarray(Image.open(path).convert('RGB'))
  known = ('china', 'flower', 'grace_hopper') + tuple(SKIMAGE)
  raise SystemExit(f'error: unknown photo {name!r}; known: {", ".join(known)}')


def patches(image: np.ndarray, size: int, n: int, rng: np.random.Generator) -> np.ndarray:
  """n random size x size patches [n, size, size, 3] of `image` resized to a short side
  of 4 * size."""
  h, w = image.shape[:2]
  f = 4 * size / min(h, w)
  im = np.asarray(Image.fromarray(image).resize((round(w * f), round(h * f)),
                                                Image.BICUBIC))
  h, w = im.shape[:2]
  ys = rng.integers(0, h - size + 1, n)
  xs = rng.integers(0, w - size + 1, n)
  return np.stack([im[y:y + size, x:x + size] for y, x in zip(ys, xs)])


def main(argv=None) -> None:
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--out', required=True, help='output folder (class folders inside)')
  p.add_argument('--size', type=int, default=32, help='patch height = width')
  p.add_argument('--per_photo', type=int, default=625, help='patches per photograph')
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--photos', default=','.join(DEFAULT), help='comma-separated names')
  args = p.parse_args(argv)
  names = [s.strip() for s in args.photos.split(',') if s.strip()]
  for i, name in enumerate(names):
    rng = np.random.default_rng([args.seed, i])
    cut = patches(photo(name), args.size, args.per_photo, rng)
    folder = os.path.join(args.out, name)
    os.makedirs(folder, exist_ok=True)
    for j, im in enumerate(cut):
      Image.fromarray(im).save(os.path.join(folder, f'{j:05d}.png'))
    print(f'{name}: {len(cut)} patches of {args.size}x{args.size} in {folder}',
          file=sys.stderr)


if __name__ == '__main__':
  main()
