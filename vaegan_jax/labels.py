"""Labels as model inputs and targets: the conditioning vector y and its missing rows.

A data set's raw labels (input_pipeline.Dataset.read_labels, int8 [n, A]) are either
one class index per example (the digits, class folders, tfds sets with a 'label')
or CelebA-style binary attributes as +/-1 (0 where an image has no row in the attribute
file). Models read them as one float vector per example:

  classes     y = one-hot of the class, [B, K];
  attributes  y = the +/-1 values of the chosen attributes (config.attributes, default
              all), [B, A].

A row of zeros means "no label" (an attribute file without the image, or a label hidden
by config.labeled_fraction): the conditional networks see zeros and the auxiliary
classifier's loss skips the row (losses.masked_label_loss).

`resolve(config, ds)` writes what a run's y is into the config (config.label_kind,
config.label_names), so config.json tells sample.py and the networks the size and the
meaning of y without the data.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vaegan_jax import errors

KINDS = ('classes', 'attributes')


def uses_labels(config) -> bool:
  """Whether the model reads labels (conditional networks or the auxiliary head)."""
  return bool(config.conditional) or config.aux_weight > 0


def label_dim(config) -> int:
  """The size of y (0 for a run that uses no labels)."""
  return len(config.label_names) if uses_labels(config) else 0


def data_kind(ds) -> tuple[str, tuple[str, ...]]:
  """(kind, names) of a data set's labels: ('classes', class names) or ('attributes',
  attribute names); ('', ()) when it has none."""
  if ds.read_labels is None:
    return '', ()
  if ds.classes:
    return 'classes', tuple(ds.classes)
  return 'attributes', tuple(ds.label_names)


def chosen_attributes(config) -> tuple[str, ...]:
  """config.attributes as names; '--config.attributes=Smiling,Male' arrives as the one
  string 'Smiling,Male', which is split here."""
  return tuple(a.strip() for item in config.get('attributes', ())
               for a in str(item).split(',') if a.strip())


def columns(config, names: tuple[str, ...]) -> list[int]:
  """The raw attribute columns y keeps: config.attributes in their order, or all."""
  chosen = chosen_attributes(config) or names
  unknown = [a for a in chosen if a not in names]
  if unknown:
    raise errors.ConfigError(
        f'unknown attribute{"s" if len(unknown) > 1 else ""} {", ".join(unknown)} in '
        f'--config.attributes; the data set has: {", ".join(names)}')
  return [names.index(a) for a in chosen]


def resolve(config, ds) -> None:
  """Sets config.label_kind and config.label_names from the data set `ds` when the
  model uses labels; a ConfigError (one line) when the data set has none."""
  if not uses_labels(config):
    return
  kind, names = data_kind(ds)
  what = 'conditional=True' if config.conditional else f'aux_weight={config.aux_weight}'
  if not kind:
    raise errors.ConfigError(
        f'--config.{what} needs labels but {config.dataset!r} has none: use a labelled '
        'data set (digits, class folders DIR/<class>/*.png, CelebA with its '
        'list_attr_celeba.txt, tfds celeb_a/mnist/cifar10)')
  if kind == 'classes':
    if chosen_attributes(config):
      raise errors.ConfigError(
          f'--config.attributes applies to attribute labels; {config.dataset!r} has '
          f'classes ({", ".join(names)}): leave it empty')
  else:
    names = tuple(names[i] for i in columns(config, names))
  with config.unlocked():
    config.label_kind, config.label_names = kind, tuple(names)


def to_y(raw: np.ndarray, kind: str, num_classes: int = 0,
         cols: list[int] | None = None) -> np.ndarray:
  """Raw int8 labels [n, A] -> y float32 [n, D] (module doc); a class index < 0 or an
  attribute row of zeros gives a row of zeros (missing)."""
  raw = np.asarray(raw)
  if kind == 'classes':
    idx = raw[:, 0].astype(np.int64)
    y = np.zeros((len(raw), num_classes), np.float32)
    ok = (idx >= 0) & (idx < num_classes)
    y[np.flatnonzero(ok), idx[ok]] = 1.0
    return y
  y = raw[:, cols].astype(np.float32) if cols is not None else raw.astype(np.float32)
  y[~np.all(y != 0, axis=1)] = 0.0  # a partial row counts as missing
  return y


def hidden(num_examples: int, fraction: float, seed: int) -> np.ndarray:
  """bool [n]: the examples whose labels config.labeled_fraction hides (a seeded
  1 - fraction of them, rounded down to whole examples)."""
  keep = int(np.floor(fraction * num_examples + 1e-9))
  order = np.random.default_rng([seed, 7]).permutation(num_examples)
  mask = np.ones(num_examples, bool)
  mask[order[:keep]] = False
  return mask


def prepare(config, ds, hide: bool = True):
  """The data set whose batches carry 'label' = y (float32 [B, D]; zero rows where a
  label is missing or, with `hide`, hidden by config.labeled_fraction), or no 'label'
  at all when the model uses none. Call after `resolve`."""
  if not uses_labels(config):
    return dataclasses.replace(ds, read_labels=None)
  kind, names = data_kind(ds)
  cols = None if kind == 'classes' else columns(config, names)
  read, k = ds.read_labels, len(names)
  hide = hidden(ds.num_examples, float(config.labeled_fraction) if hide else 1.0,
                int(config.seed))

  def read_y(idx):
    idx = np.asarray(idx)
    y = to_y(read(idx), kind, k, cols)
    y[hide[idx]] = 0.0
    return y

  return dataclasses.replace(ds, read_labels=read_y)


def grid_rows(y: np.ndarray, num: int) -> tuple[np.ndarray, int]:
  """(labels [num, D], columns): each of the m rows of `y` repeated over one grid row of
  ceil(num / m) images, cut to `num`."""
  per_row = -(-num // len(y))
  return np.repeat(np.asarray(y, np.float32), per_row, axis=0)[:num], per_row


def parse(spec: str, config) -> np.ndarray:
  """A --labels value -> y rows float32 [m, D] for a conditional run.

  classes: comma-separated class names or indices ('7' or '3,5'), one row each;
  attributes: NAME=+1/-1 pairs ('Smiling=1,Male=-1'; unnamed attributes are NaN, 'not
  given': the caller fills them), one row. A ConfigError (one line) names what is wrong
  and what is known.
  """
  kind, names = config.label_kind, tuple(config.label_names)
  parts = [p.strip() for p in str(spec).split(',') if p.strip()]
  if not parts:
    raise errors.ConfigError('--labels is empty: give a class (7) or attributes '
                             '(Smiling=1,Male=-1)')
  if kind == 'classes':
    rows = []
    for p in parts:
      if p in names:
        i = names.index(p)
      elif p.lstrip('-').isdigit() and 0 <= int(p) < len(names):
        i = int(p)
      else:
        raise errors.ConfigError(f'unknown class {p!r} in --labels; the classes are: '
                                 f'{", ".join(names)}')
      rows.append(np.eye(len(names), dtype=np.float32)[i])
    return np.stack(rows)
  y = np.full((1, len(names)), np.nan, np.float32)
  for p in parts:
    name, sep, value = p.partition('=')
    name = name.strip()
    if name not in names:
      raise errors.ConfigError(f'unknown attribute {name!r} in --labels; the model '
                               f'knows: {", ".join(names)}')
    try:
      v = float(value) if sep else 1.0
    except ValueError:
      v = None
    if v not in (1.0, -1.0):
      raise errors.ConfigError(f'--labels {p!r}: an attribute takes 1 or -1 '
                               f'({name}=1 or {name}=-1)')
    y[0, names.index(name)] = v
  return y
