"""The config files: the shipped ones (package vaegan_jax.configs) by name, or any path.

The files live in the repository's top-level configs/; vaegan_jax/configs is a symlink
to it in a checkout and a copy of it in an installed wheel, so a name resolves the same
way in both. A config file imports the others as `from vaegan_jax.configs import
default`.
"""

from __future__ import annotations

import importlib.util
import os

from vaegan_jax import errors

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'configs')


NoConfig = errors.NoConfig


def names() -> list[str]:
  """The shipped configs' names (the file names without .py), sorted."""
  return sorted(f[:-3] for f in os.listdir(DIR)
                if f.endswith('.py') and not f.startswith('_'))


def shipped(name: str) -> str:
  """The path of the shipped config `name` ('celeba' or 'celeba.py'); NoConfig if none."""
  stem = name[:-3] if name.endswith('.py') else name
  file = os.path.join(DIR, f'{stem}.py')
  if not stem or os.sep in stem or stem.startswith('_') or not os.path.isfile(file):
    missing = ': No such file' if os.sep in name else ''
    raise NoConfig(f'no config {name!r}{missing}: give a path to a config file or one '
                   'of: ' + ', '.join(names()))
  return file


def path(name_or_path: str) -> str:
  """The config file for `name_or_path`: a file that exists as it is, else a shipped
  config's name ('celeba', 'celeba.py': shipped); raises NoConfig (one line) otherwise.

  A `:arg` suffix (ml_collections' get_config(arg)) is kept: 'celeba:x' -> '.../celeba.py:x'.
  """
  if os.path.isfile(name_or_path):
    return name_or_path
  head, sep, tail = name_or_path.partition(':')
  if sep and head:
    return path(head) + sep + tail
  return shipped(name_or_path)


def load(name_or_path: str):
  """get_config() of the config file `path(name_or_path)` (no `:arg` suffix)."""
  file = path(name_or_path)
  name = os.path.splitext(os.path.basename(file))[0]
  spec = importlib.util.spec_from_file_location(f'_vaegan_config_{name}', file)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()
