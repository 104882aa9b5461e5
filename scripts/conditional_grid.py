"""One code per row decoded with each of several attribute settings: a conditional run's
figure (paper 4.2: the same z with the attributes changed).

  python scripts/conditional_grid.py --workdir W --out grid.png [--rows 8] [--seed 0]
      [--base People=1] [--columns "Light_Skin=1;Medium_Skin=1;Dark_Skin=1;Man=1;Woman=1"]
      [--codes prior|heldout]

Every attribute starts at -1; --base sets the ones every column shares (the category),
then each column of --columns (';' between columns, ',' inside one) sets its own.
The first column is --base alone. Codes (the same in every column): --codes prior,
z ~ N(0, I) from PRNGKey(seed); --codes heldout, the posterior means of --rows held-out
images that have every attribute of --base (encoded with their own labels), spread over
the split, with the original image as an extra first column. For the emoji of
scripts/make_emoji.py the defaults give a person with the default (yellow) skin, then
three skin tones, then a man and a woman.
"""

from __future__ import annotations

import argparse
import sys

import jax
import numpy as np

import vaegan_jax
from vaegan_jax import errors
from vaegan_jax import labels
from vaegan_jax import live_eval
from vaegan_jax import sampling

COLUMNS = 'Light_Skin=1;Medium_Skin=1;Dark_Skin=1;Man=1;Woman=1'


def rows_of(config, base: str, columns: str) -> np.ndarray:
  """Label rows [1 + C, D]: --base alone, then --base with each column's settings."""
  names = tuple(config.label_names)
  specs = [base] + [f'{base},{c}' if base else c for c in columns.split(';') if c.strip()]
  out = []
  for spec in specs:
    y = np.full(len(names), -1.0, np.float32)
    if spec:
      given = labels.parse(spec, config)[0]
      y[~np.isnan(given)] = given[~np.isnan(given)]
    out.append(y)
  return np.stack(out)


def heldout_images(config, base: np.ndarray, num: int):
  """(images [num, H, W, C], their label rows) of held-out images with every attribute
  that `base` sets to +1, spread evenly over the split."""
  ds, _ = live_eval.heldout(config)
  own = labels.prepare(config, ds, hide=False).read_labels(np.arange(ds.num_examples))
  idx = np.flatnonzero(np.all(own[:, base > 0] > 0, axis=1))
  if not len(idx):
    raise errors.UsageError('no held-out image has the attributes of --base')
  idx = idx[np.linspace(0, len(idx) - 1, min(num, len(idx))).astype(int)]
  x = ds.batch(idx, np.random.default_rng(config.seed)).astype(np.float32)
  return x, own[idx].astype(np.float32)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--workdir', required=True)
  p.add_argument('--out', required=True)
  p.add_argument('--rows', type=int, default=8)
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--base', default='People=1')
  p.add_argument('--columns', default=COLUMNS)
  p.add_argument('--codes', default='prior', choices=('prior', 'heldout'))
  a = p.parse_args(argv)
  try:
    model = vaegan_jax.load(a.workdir)
    if not model.conditional:
      raise errors.UsageError(f'{a.workdir} is not a conditional run '
                              '(train it with --config.conditional=True)')
    y = rows_of(model.config, a.base, a.columns)
    originals = None
    if a.codes == 'prior':
      z = np.asarray(sampling.prior_z(model.config, jax.random.PRNGKey(a.seed), a.rows))
    else:
      originals, own = heldout_images(model.config, y[0], a.rows)
      z = model.encode(originals, labels=own)
    n = len(z)
    images = model.decode(np.repeat(z, len(y), axis=0), labels=np.tile(y, (n, 1)))
    if originals is not None:
      images = np.concatenate([originals[:, None], images.reshape(
          (n, len(y)) + images.shape[1:])], 1).reshape((-1,) + images.shape[1:])
      y = np.concatenate([y[:1], y])  # one more column
  except errors.Error as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  vaegan_jax.save_grid(images, a.out, cols=len(y))
  print(f'wrote {len(images) // len(y)} codes x {len(y)} columns to {a.out}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
