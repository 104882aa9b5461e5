"""Writes a labelled colour data set of emoji from the npm packages' renderings.

  npm pack emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0
  python scripts/make_emoji.py --out DIR [--size 64] [--vendors google,twitter]
      [--packages .] [--holdout 0.1] [--seed 0]

Reads each vendor's tarball (`emoji-datasource-<vendor>-*.tgz` in --packages, as
`npm pack` leaves it; or the unpacked `package/` folder) without unpacking it: the 64x64
RGBA PNGs of `package/img/<vendor>/64/` and `package/emoji.json`. Every emoji and each of
its skin-tone variants becomes one RGB image, composited on white and resized to --size:

  DIR/<Category>/<vendor>_<file>.png   class folders by category: Smileys, People,
                                       Animals, Food, Travel, Activities, Objects,
                                       Symbols, Flags (the 'Component' swatches are left
                                       out)
  DIR/list_attr_celeba.txt             the attributes, in CelebA's format (+1 / -1)
  DIR/list_eval_partition.txt          0 train, 1 validation, 2 test (CelebA's format)

The attributes (ATTRIBUTES): the five skin tones (+1 where that Fitzpatrick modifier is
in the image: a two-person emoji can have two, the yellow default has none), Man (the
name has the word MAN, MEN or BOY), Woman (WOMAN, WOMEN or GIRL) and one per category.
The split holds out --holdout of the emoji for validation and as many for test, seeded,
by base emoji: an emoji's skin-tone variants and its renderings by every vendor land in
the same split, so held-out images are emoji the models never saw. `train.py --config
emoji --config.data_path=DIR` trains on it; the folder source reads the partition and
the attribute file beside the images (docs/data.md).

Licences: Google's Noto emoji are Apache-2.0, Twitter's Twemoji CC-BY 4.0 (credit them
where an image is shown). The Apple and Facebook renderings of the sibling packages are
not freely licensed and are refused.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import re
import sys
import tarfile

import numpy as np
from PIL import Image

VENDORS = ('google', 'twitter')
LICENCES = {'google': 'Noto Emoji, Apache-2.0', 'twitter': 'Twemoji, CC-BY 4.0'}
REFUSED = ('apple', 'facebook')  # not freely licensed (the packages' README)
VERSION = '16.0.0'
CATEGORIES = {  # emoji.json's category -> folder and attribute name
    'Smileys & Emotion': 'Smileys', 'People & Body': 'People',
    'Animals & Nature': 'Animals', 'Food & Drink': 'Food', 'Travel & Places': 'Travel',
    'Activities': 'Activities', 'Objects': 'Objects', 'Symbols': 'Symbols',
    'Flags': 'Flags'}
SKIN_TONES = {  # Fitzpatrick modifiers (Unicode) -> attribute
    '1F3FB': 'Light_Skin', '1F3FC': 'Medium_Light_Skin', '1F3FD': 'Medium_Skin',
    '1F3FE': 'Medium_Dark_Skin', '1F3FF': 'Dark_Skin'}
WORDS = {'Man': ('MAN', 'MEN', 'BOY'), 'Woman': ('WOMAN', 'WOMEN', 'GIRL')}
ATTRIBUTES = (tuple(SKIN_TONES.values()) + tuple(WORDS) + tuple(CATEGORIES.values()))


class Package:
  """One vendor's npm package: its emoji.json and its 64x64 images, read by file name."""

  def __init__(self, path: str, vendor: str):
    self.vendor = vendor
    prefix = f'package/img/{vendor}/64/'
    if os.path.isdir(path):
      root = path if os.path.basename(os.path.normpath(path)) == 'package' else (
          os.path.join(path, 'package'))
      with open(os.path.join(root, 'emoji.json'), encoding='utf-8') as f:
        self.emoji = json.load(f)
      self._read = lambda name: open(os.path.join(root, 'img', vendor, '64', name),
                                     'rb').read()
      self.names = set(os.listdir(os.path.join(root, 'img', vendor, '64')))
      return
    tar = tarfile.open(path)  # kept open: images are read by name
    members = {m.name: m for m in tar.getmembers() if m.isfile()}
    self.emoji = json.load(tar.extractfile(members['package/emoji.json']))
    self.names = {n[len(prefix):] for n in members if n.startswith(prefix)}
    self._read = lambda name: tar.extractfile(members[prefix + name]).read()

  def image(self, name: str) -> Image.Image:
    return Image.open(io.BytesIO(self._read(name)))


def find_package(packages: str, vendor: str) -> str:
  """The tarball (or unpacked folder) of `vendor` in `packages`; SystemExit (one line)
  saying how to get it."""
  found = sorted(glob.glob(os.path.join(packages, f'emoji-datasource-{vendor}-*.tgz')))
  if found:
    return found[-1]
  unpacked = os.path.join(packages, f'emoji-datasource-{vendor}')
  if os.path.isfile(os.path.join(unpacked, 'package', 'emoji.json')):
    return unpacked
  raise SystemExit(
      f'error: no emoji-datasource-{vendor}-*.tgz in {os.path.abspath(packages)}: run '
      f'`npm pack emoji-datasource-{vendor}@{VERSION}` there (or pass --packages DIR)')


def on_white(image: Image.Image, size: int) -> Image.Image:
  """An RGBA (or palette) image composited on white, RGB, resized to size x size."""
  rgba = image.convert('RGBA')
  white = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
  rgb = Image.alpha_composite(white, rgba).convert('RGB')
  if rgb.size != (size, size):
    rgb = rgb.resize((size, size), Image.LANCZOS)
  return rgb


def has_word(name: str, words) -> bool:
  """Whether the emoji name holds one of `words` as a whole word (SNOWMAN has no MAN)."""
  return any(w in words for w in re.split(r'[^A-Z]+', (name or '').upper()))


def attributes(name: str, category: str, tones) -> np.ndarray:
  """int8 [len(ATTRIBUTES)] of +1 / -1 for one image (its emoji's name, category and the
  skin-tone modifiers it carries)."""
  on = {SKIN_TONES[t] for t in tones} | {CATEGORIES[category]}
  on |= {a for a, words in WORDS.items() if has_word(name, words)}
  return np.array([1 if a in on else -1 for a in ATTRIBUTES], np.int8)


def images_of(entry: dict, vendor: str):
  """(file name, skin-tone modifiers) of an emoji and of its skin-tone variants that
  the vendor renders."""
  key = f'has_img_{vendor}'
  if entry.get(key):
    yield entry['image'], ()
  for tones, variant in sorted(entry.get('skin_variations', {}).items()):
    if variant.get(key):
      yield variant['image'], tuple(dict.fromkeys(t.upper() for t in tones.split('-')))


def split_of(groups, holdout: float, seed: int) -> dict:
  """{group: 0 train / 1 validation / 2 test}: a seeded `holdout` share of the groups
  for validation and as many for test."""
  groups = sorted(set(groups))
  order = np.random.default_rng(seed).permutation(len(groups))
  n = int(round(holdout * len(groups)))
  part = np.zeros(len(groups), int)
  part[order[:n]], part[order[n:2 * n]] = 1, 2
  return dict(zip(groups, part.tolist()))


def make(out: str, size: int = 64, vendors=VENDORS, packages: str = '.',
         holdout: float = 0.1, seed: int = 0, log=print) -> dict:
  """Writes the data set into `out` (see the module docstring); returns {'images',
  'per_category', 'per_split'} counts."""
  refused = [v for v in vendors if v in REFUSED]
  if refused:
    raise SystemExit(f'error: the {refused[0]} renderings are not freely licensed; use '
                     f'{" and ".join(VENDORS)}')
  unknown = [v for v in vendors if v not in VENDORS]
  if unknown:
    raise SystemExit(f'error: unknown vendor {unknown[0]!r}; choose from {", ".join(VENDORS)}')
  if not 0 <= holdout < 0.5:
    raise SystemExit(f'error: --holdout must be in [0, 0.5) (got {holdout})')
  paths = {v: find_package(packages, v) for v in vendors}
  rows = []  # (file, category, base group, attributes)
  for vendor, path in paths.items():
    pkg = Package(path, vendor)
    n = 0
    for entry in pkg.emoji:
      if entry['category'] not in CATEGORIES:
        continue
      folder = CATEGORIES[entry['category']]
      os.makedirs(os.path.join(out, folder), exist_ok=True)
      for name, tones in images_of(entry, vendor):
        if name not in pkg.names:
          continue
        file = f'{vendor}_{name}'
        on_white(pkg.image(name), size).save(os.path.join(out, folder, file))
        rows.append((file, folder, entry['unified'],
                     attributes(entry.get('name') or entry['short_name'],
                                entry['category'], tones)))
        n += 1
    log(f'{vendor} ({LICENCES[vendor]}): {n} images from {path}')
  part = split_of([r[2] for r in rows], holdout, seed)
  with open(os.path.join(out, 'list_attr_celeba.txt'), 'w') as f:
    f.write(f'{len(rows)}\n{" ".join(ATTRIBUTES)}\n')
    for file, _, _, attr in rows:
      f.write(file + ' ' + ' '.join(f'{v:2d}' for v in attr) + '\n')
  with open(os.path.join(out, 'list_eval_partition.txt'), 'w') as f:
    for file, _, group, _ in rows:
      f.write(f'{file} {part[group]}\n')
  per_category = {c: sum(r[1] == c for r in rows) for c in CATEGORIES.values()}
  per_split = {s: sum(part[r[2]] == i for r in rows)
               for i, s in enumerate(('train', 'validation', 'test'))}
  log(f'wrote {len(rows)} images ({size}x{size}) to {out}: ' +
      ', '.join(f'{c} {k}' for c, k in per_category.items()) + '; ' +
      ', '.join(f'{s} {k}' for s, k in per_split.items()))
  return dict(images=len(rows), per_category=per_category, per_split=per_split)


def main(argv=None) -> None:
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--out', required=True, help='output folder')
  p.add_argument('--size', type=int, default=64, help='height = width of the images')
  p.add_argument('--vendors', default=','.join(VENDORS),
                 help=f'comma-separated: {", ".join(VENDORS)}')
  p.add_argument('--packages', default='.',
                 help='folder holding the npm tarballs (npm pack emoji-datasource-...)')
  p.add_argument('--holdout', type=float, default=0.1,
                 help='share of the emoji held out for validation, and as many for test')
  p.add_argument('--seed', type=int, default=0, help='seed of the split')
  a = p.parse_args(argv)
  if a.size < 8:
    raise SystemExit(f'error: --size must be >= 8 (got {a.size})')
  make(a.out, a.size, tuple(v.strip() for v in a.vendors.split(',') if v.strip()),
       a.packages, a.holdout, a.seed)


if __name__ == '__main__':
  sys.exit(main())
