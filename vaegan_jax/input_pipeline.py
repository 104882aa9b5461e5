"""Data sources -> endless, seeded, resumable, per-process batches in [-1, 1], [B, H, W, C].

Sources (config.dataset):
  'digits'   scikit-learn's 1,797 handwritten digits, shipped inside the package.
  'folder'   a folder or a .zip of images (config.data_path), e.g. CelebA's
             img_align_celeba.zip; list_attr_celeba.txt and list_eval_partition.txt are
             read when they sit beside the images (or inside the zip).
  any other  a tfds data set by name ('celeb_a', 'mnist', 'cifar10', ...), read with
             tfds.data_source (random access, no tensorflow needed to read).

Preprocessing (config.crop): 'celeba' (the authors': rows 40:188, cols 15:163, Gaussian
blur sigma sqrt(148/size)/2, resize), 'center108' (the FID literature's centre crop),
'center_square' (largest centred square) or 'none'; then a bilinear resize to
config.image_size, conversion to config.channels (grayscale <-> RGB), optional random
horizontal flip, and scaling to [-1, 1]. The part before the flip is deterministic and
ends in uint8 pixels (`preprocess_pixels`); with config.data_cache it is computed once and
read from a memory-mapped array on disk (vaegan_jax/data_cache.py), giving bitwise the
same batches. The flip and the scaling (`finish_pixels`) run per batch.

The batch of step k is a pure function of (seed, k, process): epoch e is the
permutation seeded by (seed, e), the global batch is its k-th slice and process p of P
takes the p-th of P equal parts. A run resumed at step k continues the same stream.
Batches are prepared ahead by a thread pool (PIL releases the GIL while decoding).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import io
import os
import sys
import threading
import time
import zipfile
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageFilter

from vaegan_jax import data_cache
from vaegan_jax import errors


DataError = errors.DataError


CROPS = ('celeba', 'center108', 'center_square', 'none')
FOLDER_LABELS = ('auto', 'attributes', 'classes')  # config.folder_labels
CELEBA_AUTHORS_CROP = (40, 188, 15, 163)  # rows, cols of the 218x178 aligned image
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.gif', '.webp')


@dataclasses.dataclass
class Dataset:
  """A finite set of examples read by index, and how to turn them into model images.

  Attributes:
    num_examples: number of training examples.
    read: indices [n] -> list of n uint8 images ([h, w], [h, w, 1], [h, w, 3] or 4).
    preprocess: (raw images, rng) -> float32 [n, H, W, C] in [-1, 1].
    read_labels: optional, indices [n] -> int8 [n, A] labels (CelebA's 40 attributes
      as -1/1, the digit class).
    label_names: names of the A label columns.
    classes: for a class label column, the class names in label order (class folders).
    corrupt: indices found unreadable so far (skipped: the next readable one is used).
    stand_in: {corrupt index: the index whose image (and label) replaced it}.
    pixels: optional, indices [n] -> uint8 [n, H, W, C], the deterministic part of
      preprocessing (read, decode, crop, blur, resize, channels); with it `batch` is
      finish(pixels(indices), rng) and `read`/`preprocess` are not used. A decoded
      cache (vaegan_jax/data_cache.py) replaces it by a memory-mapped array.
    finish: (uint8 [n, H, W, C], rng) -> float32 [n, H, W, C] in [-1, 1]: the random
      flip and the scaling (`finish_pixels`).
    source_key: optional, () -> {'examples': n, 'files': hash}: what the examples are
      (their files' names, sizes and modification times, or the tfds set, split and
      version), part of a decoded cache's key; None = not cacheable (digits).
    cache_path: the decoded cache `pixels` reads, '' = none.
  """

  num_examples: int
  read: Callable[[np.ndarray], list]
  preprocess: Callable[[list, np.random.Generator], np.ndarray]
  read_labels: Callable[[np.ndarray], np.ndarray] | None = None
  label_names: tuple[str, ...] = ()
  classes: tuple[str, ...] = ()
  corrupt: set = dataclasses.field(default_factory=set)
  stand_in: dict = dataclasses.field(default_factory=dict)
  pixels: Callable[[np.ndarray], np.ndarray] | None = None
  finish: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None
  source_key: Callable[[], dict] | None = None
  cache_path: str = ''

  def batch(self, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if self.pixels is not None:
      return self.finish(self.pixels(np.asarray(indices)), rng)
    return self.preprocess(self.read(indices), rng)


def _to_channels(img: Image.Image, channels: int) -> Image.Image:
  if channels == 1:
    return img if img.mode == 'L' else img.convert('L')
  return img if img.mode == 'RGB' else img.convert('RGB')


def _crop_box(h: int, w: int, crop: str, size: int):
  """(top, bottom, left, right, blur sigma) of a crop of an h x w image."""
  if crop == 'celeba':
    r0, r1, c0, c1 = CELEBA_AUTHORS_CROP
    if h < r1 or w < c1:
      raise DataError(f"crop='celeba' needs 218x178 aligned CelebA images, got {h}x{w}: "
                      "set --config.crop=center_square")
    return r0, r1, c0, c1, float(np.sqrt((r1 - r0) / size) / 2.0)
  if crop == 'center108':
    if h < 108 or w < 108:
      raise DataError(f"crop='center108' needs images of at least 108x108, got {h}x{w}")
    r0, c0 = (h - 108) // 2, (w - 108) // 2
    return r0, r0 + 108, c0, c0 + 108, 0.0
  if crop == 'center_square':
    s = min(h, w)
    r0, c0 = (h - s) // 2, (w - s) // 2
    return r0, r0 + s, c0, c0 + s, 0.0
  if crop == 'none':
    return 0, h, 0, w, 0.0
  raise DataError(f'unknown crop {crop!r}; use one of {", ".join(CROPS)}')


def preprocess_flip(x: np.ndarray, rng: np.random.Generator, flip: bool) -> np.ndarray:
  """Random horizontal flip of images [n, H, W, C] (float or uint8): each is mirrored
  with probability 1/2, drawn from `rng` (one number per image)."""
  if not flip:
    return x
  mirrored = np.flatnonzero(rng.random(x.shape[0]) < 0.5)
  out = np.array(x)  # a copy: the input is left as it is
  out[mirrored] = x[mirrored][:, :, ::-1]  # 2x faster than np.where over the batch
  return out


def preprocess_pixels(images: Sequence[np.ndarray], *, size: int, channels: int,
                      crop: str) -> np.ndarray:
  """uint8 images (any size, gray or colour) -> uint8 [n, size, size, channels].

  The deterministic part of preprocessing: crop (see the module doc), optional blur
  against aliasing, bilinear resize, channel conversion. What a decoded cache stores.
  """
  out = np.empty((len(images), size, size, channels), np.uint8)
  for i, im in enumerate(images):
    im = np.asarray(im)
    if im.ndim == 3 and im.shape[-1] == 1:
      im = im[..., 0]
    r0, r1, c0, c1, blur = _crop_box(im.shape[0], im.shape[1], crop, size)
    pil = _to_channels(Image.fromarray(im[r0:r1, c0:c1]), channels)
    if blur > 0:
      pil = pil.filter(ImageFilter.GaussianBlur(blur))
    if pil.size != (size, size):
      pil = pil.resize((size, size), Image.BILINEAR)
    out[i] = np.asarray(pil, np.uint8).reshape(size, size, channels)
  return out


def finish_pixels(x: np.ndarray, rng: np.random.Generator | None, flip: bool) -> np.ndarray:
  """uint8 [n, H, W, C] -> float32 in [-1, 1]: random horizontal flip (when `flip`,
  from `rng`), then x / 127.5 - 1. The same for decoded and cached pixels."""
  x = np.asarray(x)
  out = x.astype(np.float32)  # the one large new array: the rest is in place
  if flip:
    mirrored = np.flatnonzero(rng.random(x.shape[0]) < 0.5)  # as preprocess_flip
    out[mirrored] = x[mirrored][:, :, ::-1]
  out /= 127.5  # the same float32 results as out / 127.5 - 1.0, without temporaries
  out -= 1.0
  return out


def preprocess(images: Sequence[np.ndarray], rng: np.random.Generator | None, *,
               size: int, channels: int, crop: str, flip: bool) -> np.ndarray:
  """uint8 images (any size, gray or colour) -> float32 [n, size, size, channels] in [-1, 1].

  `preprocess_pixels` (crop, optional blur against aliasing, bilinear resize, channel
  conversion), then `finish_pixels` (random horizontal flip when `flip`, x / 127.5 - 1).
  """
  return finish_pixels(preprocess_pixels(images, size=size, channels=channels, crop=crop),
                       rng, flip)


def _preprocessor(config) -> Callable[[list, np.random.Generator], np.ndarray]:
  return lambda images, rng: preprocess(images, rng, size=config.image_size,
                                        channels=config.channels, crop=config.crop,
                                        flip=config.random_flip)


def _staged(ds: Dataset, config) -> Dataset:
  """`ds` with its preprocessing split into the deterministic `pixels` stage and the
  random `finish` stage (the same batches as ds.preprocess(ds.read(idx), rng))."""
  size, channels, crop, flip = (config.image_size, config.channels, config.crop,
                                config.random_flip)
  read = ds.read
  ds.pixels = lambda idx: preprocess_pixels(read(idx), size=size, channels=channels,
                                            crop=crop)
  ds.finish = lambda x, rng: finish_pixels(x, rng, flip)
  return ds


def holdout_split(n: int, config) -> np.ndarray:
  """Sorted indices of config.split among n examples without an official partition.

  A seeded (config.seed) round(n * val_fraction) examples are held out: 'validation'
  and 'test' both name them, 'train' the rest.
  """
  order = np.random.default_rng([config.seed, 7]).permutation(n)
  n_val = int(round(n * config.val_fraction))
  return np.sort(order[:n_val] if config.split != 'train' else order[n_val:])


def digits(config) -> Dataset:
  """scikit-learn's 1,797 8x8 handwritten digits (shipped in the package), upscaled.

  All of them by default; with --config.val_fraction > 0 a seeded fraction is held out
  (--config.split=validation reads it, 'train' the rest).
  """
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  if config.channels != 1:
    raise DataError(f'digits are grayscale: set --config.channels=1 (got {config.channels})')
  data = load_digits()
  keep = np.arange(len(data.images))
  if config.split != 'train' or config.val_fraction > 0:
    keep = holdout_split(len(data.images), config)
  if not len(keep):
    raise DataError(f'the {config.split!r} split of digits is empty: set '
                    '--config.val_fraction > 0 to hold examples out')
  targets = data.target[keep]
  raw = (data.images[keep] * (255.0 / 16.0)).round().astype(np.uint8)
  images = preprocess(raw, None, size=config.image_size, channels=1, crop='none',
                      flip=False)
  flip = config.random_flip
  return Dataset(
      num_examples=len(images),
      read=lambda idx: images[idx],
      preprocess=lambda x, rng: preprocess_flip(np.asarray(x), rng, flip),
      read_labels=lambda idx: targets[idx, None].astype(np.int8),
      label_names=('digit',), classes=tuple(str(d) for d in range(10)))


# ---------------------------------------------------------------------------- folders


def _parse_attributes(text: str):
  """CelebA's list_attr_celeba.txt -> (names, {file name: int8 [A]})."""
  lines = text.splitlines()
  names = tuple(lines[1].split())
  rows = {}
  for line in lines[2:]:
    parts = line.split()
    if len(parts) == len(names) + 1:
      rows[parts[0]] = np.array([int(v) for v in parts[1:]], np.int8)
  return names, rows


def _parse_partition(text: str) -> dict[str, int]:
  """CelebA's list_eval_partition.txt -> {file name: 0 train / 1 validation / 2 test}."""
  parts = (line.split() for line in text.splitlines())
  return {p[0]: int(p[1]) for p in parts if len(p) == 2}


class _Files:
  """Image files of a folder or a zip, read by name (thread-safe)."""

  def __init__(self, path: str):
    self.path = path
    self.is_zip = zipfile.is_zipfile(path) if os.path.isfile(path) else False
    self._local = threading.local()
    if self.is_zip:
      with zipfile.ZipFile(path) as zf:
        self.all_names = [n for n in zf.namelist() if not n.endswith('/')]
    elif os.path.isdir(path):
      self.all_names = sorted(
          os.path.relpath(os.path.join(d, f), path)
          for d, _, files in os.walk(path) for f in files)
    else:
      raise DataError(f'--config.data_path={path} is neither a folder nor a zip of images')
    self.images = sorted(n for n in self.all_names
                         if n.lower().endswith(IMAGE_EXTENSIONS) and '__MACOSX' not in n)

  def read_bytes(self, name: str) -> bytes:
    if self.is_zip:
      if not hasattr(self._local, 'zf'):
        self._local.zf = zipfile.ZipFile(self.path)
      return self._local.zf.read(name)
    with open(os.path.join(self.path, name), 'rb') as f:
      return f.read()

  def stat(self, names: Sequence[str]) -> list:
    """[name, size, CRC (zip) or mtime in ns (folder)] of each of `names`."""
    if self.is_zip:
      with zipfile.ZipFile(self.path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
      return [[n, infos[n].file_size, infos[n].CRC] for n in names]
    out = []
    for n in names:
      st = os.stat(os.path.join(self.path, n))
      out.append([n, st.st_size, st.st_mtime_ns])
    return out

  def find_text(self, basename: str) -> str | None:
    """A metadata file inside the zip/folder, or beside it (or one folder up)."""
    for name in self.all_names:
      if os.path.basename(name) == basename:
        return self.read_bytes(name).decode('utf-8', 'replace')
    here = os.path.dirname(os.path.abspath(self.path))
    for d in (here, os.path.dirname(here)):
      p = os.path.join(d, basename)
      if os.path.isfile(p):
        with open(p, encoding='utf-8', errors='replace') as f:
          return f.read()
    return None


def _decode(data: bytes) -> np.ndarray:
  """uint8 [h, w] or [h, w, 3]; an image with transparency is composited on white (as a
  viewer shows an emoji or a logo; dropping the alpha would leave what lies under it)."""
  with Image.open(io.BytesIO(data)) as img:
    img.load()
    if img.mode in ('RGBA', 'LA', 'PA') or 'transparency' in img.info:
      rgba = img.convert('RGBA')
      img = Image.alpha_composite(Image.new('RGBA', rgba.size, (255, 255, 255, 255)), rgba)
    if img.mode not in ('L', 'RGB'):
      img = img.convert('RGB')
    return np.asarray(img)


def _parent(name: str) -> str:
  return os.path.basename(os.path.dirname(name.replace('\\', '/')))


def class_folders(names: Sequence[str]) -> tuple[str, ...]:
  """The sorted class names when images sit in class folders (DIR/<class>/x.png), else ().

  The ImageFolder convention (torchvision): an image's class is the name of the folder
  that holds it. Used when there are 2 to 127 such folders (int8 labels) and every
  image is inside one of them.
  """
  parents = {_parent(n) for n in names}
  if '' in parents or not 2 <= len(parents) <= 127:
    return ()
  return tuple(sorted(parents))


def folder(config) -> Dataset:
  """A folder or zip of images (config.data_path) with its labels when it has some:
  CelebA's attributes (list_attr_celeba.txt) or, without them, class folders
  (DIR/<class>/*.png: label = index of the folder name in sorted order).
  config.folder_labels picks one where a folder has both ('auto': the attributes)."""
  path = config.data_path
  if not path:
    raise DataError("dataset='folder' needs --config.data_path: a folder of images or a "
                    'zip such as img_align_celeba.zip')
  if not os.path.exists(path):
    raise DataError(f'--config.data_path={path} does not exist: put the images (or '
                    'img_align_celeba.zip) there or point data_path at them')
  files = _Files(path)
  if not files.images:
    raise DataError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) in {path}')
  names = files.images
  partition_text = files.find_text('list_eval_partition.txt')
  split = {'train': 0, 'validation': 1, 'test': 2}[config.split]
  if partition_text is not None:
    part = _parse_partition(partition_text)
    names = [n for n in names if part.get(os.path.basename(n), 0) == split]
  elif config.split != 'train' or config.val_fraction > 0:
    names = [names[i] for i in holdout_split(len(names), config)]
  if not names:
    raise DataError(f'the {config.split!r} split of {path} is empty')

  labels, label_names, classes = None, (), ()
  want = config.get('folder_labels', 'auto')  # absent in runs saved before the field
  attr_text = None if want == 'classes' else files.find_text('list_attr_celeba.txt')
  if want == 'attributes' and attr_text is None:
    raise DataError(f'--config.folder_labels=attributes but no list_attr_celeba.txt in or '
                    f'beside {path}: put it there or use folder_labels=auto')
  if attr_text is not None:
    label_names, rows = _parse_attributes(attr_text)
    zero = np.zeros(len(label_names), np.int8)
    labels = np.stack([rows.get(os.path.basename(n), zero) for n in names])
  else:
    classes = class_folders(files.images)
    if classes:
      labels = np.array([[classes.index(_parent(n))] for n in names], np.int8)
      label_names = ('class',)
    elif want == 'classes':
      raise DataError(f'--config.folder_labels=classes but the images of {path} are not '
                      'in class folders: put them in DIR/<class>/*.png')

  ds = Dataset(num_examples=len(names), read=None, preprocess=_preprocessor(config),
               read_labels=None if labels is None else (
                   lambda idx: labels[[ds.stand_in.get(int(i), int(i)) for i in idx]]),
               label_names=label_names, classes=classes)

  def read_one(i: int) -> np.ndarray:
    for j in range(len(names)):  # the next readable image stands in for a corrupt one
      k = (int(i) + j) % len(names)
      if k in ds.corrupt:
        continue
      try:
        image = _decode(files.read_bytes(names[k]))
        if k != int(i):
          ds.stand_in[int(i)] = k
        return image
      except Exception:  # pylint: disable=broad-except
        ds.corrupt.add(k)
    raise DataError(f'no image in {path} could be decoded')

  ds.read = lambda idx: [read_one(i) for i in idx]
  ds.source_key = lambda: _files_key(files.stat(names), len(names))
  _probe(names, files, path)
  return _staged(ds, config)


def _files_key(rows, examples: int) -> dict:
  """{'examples': n, 'files': sha256 of the rows (file name, size, CRC or mtime)}."""
  import hashlib  # pylint: disable=g-import-not-at-top
  import json  # pylint: disable=g-import-not-at-top
  digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
  return {'examples': int(examples), 'files': digest}


PROBE = 64  # images tried at load time before a folder is declared unreadable


def _probe(names, files, path) -> None:
  """Raises DataError now, not at the first batch, if none of the first PROBE images
  decodes (a folder of non-images); stops at the first that does (usually the first)."""
  first_error = None
  for name in names[:PROBE]:
    try:
      _decode(files.read_bytes(name))
      return
    except Exception as e:  # pylint: disable=broad-except
      first_error = first_error or f'{name}: {" ".join(str(e).split())[:100]}'
  n = min(len(names), PROBE)
  raise DataError(f'none of the {"" if n == len(names) else "first "}{n} images of {path} '
                  f'could be decoded: corrupt or not images? (first: {first_error})')


# ------------------------------------------------------------------------------ tfds


def _tfds_missing(name: str, where: str) -> DataError:
  if name == 'celeb_a':
    return DataError(
        f'CelebA is not prepared in {where}: either run `tfds build celeb_a '
        '--file_format=array_record` (needs tensorflow and the Google Drive files) and '
        'set --config.data_dir, or use the img_align_celeba.zip you have with '
        '--config.dataset=folder --config.data_path=PATH/img_align_celeba.zip')
  return DataError(f'tfds data set {name!r} is not prepared in {where}: run `tfds build '
                   f'{name} --file_format=array_record` and set --config.data_dir to its '
                   'data_dir')


def tfds_source(config) -> Dataset:
  """A tfds data set by name, read with tfds.data_source (no tensorflow to read)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  name, data_dir = config.dataset, config.data_dir or None
  try:
    source = tfds.data_source(name, split=config.split, data_dir=data_dir, download=False)
  except Exception as e:  # pylint: disable=broad-except
    if isinstance(e, tfds.core.registered.DatasetNotFoundError):
      raise DataError(f'unknown dataset {name!r}: use digits, folder or a tfds name '
                      '(celeb_a, mnist, cifar10, ...)') from e
    try:
      builder = tfds.builder(name, data_dir=data_dir)
      where, prepared = str(builder.data_dir), builder.is_prepared()
    except Exception:  # pylint: disable=broad-except
      where, prepared = data_dir or '~/tensorflow_datasets', False
    if not prepared:
      raise _tfds_missing(name, where) from e
    raise DataError(f'tfds cannot read {name} in {where} ({type(e).__name__}): prepare it '
                    f'with `tfds build {name} --file_format=array_record`') from e
  label_names, classes, read_labels = (), (), None
  first = source[0] if len(source) else None
  if isinstance(first, dict) and 'attributes' in first:
    label_names = tuple(sorted(first['attributes']))

    def read_attributes(idx):
      return np.stack([np.array([2 * int(source[int(i)]['attributes'][n]) - 1
                                 for n in label_names], np.int8) for i in idx])
    read_labels = read_attributes
  elif isinstance(first, dict) and 'label' in first:  # mnist, cifar10: one class each
    classes = _class_names(source)
    label_names = ('label',)

    def read_classes(idx):
      return np.array([[int(source[int(i)]['label'])] for i in idx], np.int8)
    read_labels = read_classes

  ds = Dataset(num_examples=len(source),
               read=lambda idx: [np.asarray(source[int(i)]['image']) for i in idx],
               preprocess=_preprocessor(config), read_labels=read_labels,
               label_names=label_names, classes=classes)
  ds.source_key = lambda: _files_key(_tfds_identity(source, name, config, data_dir),
                                     len(source))
  return _staged(ds, config)


def _tfds_identity(source, name, config, data_dir) -> list:
  """What a tfds source is: its name, split, version, size and data_dir."""
  try:
    version = str(source.dataset_info.version)
  except Exception:  # pylint: disable=broad-except
    version = ''
  where = os.path.abspath(os.path.expanduser(data_dir)) if data_dir else ''
  return [[name, config.split, version, where, len(source)]]


def _class_names(source) -> tuple[str, ...]:
  """The class names of a tfds source's 'label' feature ('0'..'K-1' if it has none)."""
  try:
    feature = source.dataset_info.features['label']
    names = tuple(feature.names)
  except Exception:  # pylint: disable=broad-except
    names = ()
  return names or tuple(str(i) for i in range(10))


def load(config, workdir: str | None = None, out=sys.stdout) -> Dataset:
  """The data set named by config.dataset (see the module doc).

  With config.data_cache set (a folder, or 'auto' = WORKDIR/data_cache when `workdir` is
  given), the deterministic part of preprocessing is read from a decoded cache there,
  built first if missing or stale (vaegan_jax/data_cache.py; progress lines go to `out`,
  None = silent). The digits are in memory already: no cache.
  """
  if config.dataset == 'digits':
    return digits(config)
  ds = folder(config) if config.dataset == 'folder' else tfds_source(config)
  if config.get('data_cache', ''):
    try:
      ds = data_cache.attach(ds, config, workdir, out=out)
    except errors.CacheError as e:
      raise DataError(str(e)) from e
  return ds


# --------------------------------------------------------------------------- batches


@functools.lru_cache(maxsize=4)
def _epoch_order(num_examples: int, seed: int, epoch: int) -> np.ndarray:
  """permutation(seed, epoch) of the examples, computed once per epoch (2 ms for
  CelebA's 162,770: more than a batch read from a decoded cache), read-only."""
  perm = np.random.default_rng([seed, epoch]).permutation(num_examples)
  perm.flags.writeable = False
  return perm


def batch_indices(num_examples: int, batch_size: int, seed: int, step: int,
                  process_index: int = 0, process_count: int = 1) -> np.ndarray:
  """This process's indices of the global batch of `step`.

  Epoch e uses permutation(seed, e); the last incomplete batch of an epoch is dropped so
  every batch has `batch_size` examples; process p takes the p-th of process_count equal
  parts of the global batch.
  """
  per_epoch = num_examples // batch_size
  epoch, i = divmod(step, per_epoch)
  perm = _epoch_order(num_examples, seed, epoch)
  global_idx = perm[i * batch_size:(i + 1) * batch_size].copy()
  per_process = batch_size // process_count
  return global_idx[process_index * per_process:(process_index + 1) * per_process]


def batch_for_step(ds: Dataset, batch_size: int, seed: int, step: int,
                   process_index: int = 0, process_count: int = 1) -> dict:
  """{'image': float32 [B/P, H, W, C], 'label': int8 [B/P, A] if any} for `step`."""
  if batch_size % process_count:
    raise DataError(f'batch_size={batch_size} is not divisible by the {process_count} '
                    'processes: change --config.batch_size')
  idx = batch_indices(ds.num_examples, batch_size, seed, step, process_index,
                      process_count)
  rng = np.random.default_rng([seed, step, process_index, 1])
  batch = {'image': np.asarray(ds.batch(idx, rng), np.float32)}
  if ds.read_labels is not None:
    batch['label'] = ds.read_labels(idx)
  return batch


def iterate(ds: Dataset, batch_size: int, seed: int, start_step: int, *,
            process_index: int = 0, process_count: int = 1, workers: int = 2,
            prefetch: int = 4):
  """Endless batches from `start_step` on, `prefetch` steps prepared ahead by `workers`
  threads."""
  pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers))

  def submit(s):
    return pool.submit(batch_for_step, ds, batch_size, seed, s, process_index,
                       process_count)

  pending = [submit(s) for s in range(start_step, start_step + prefetch)]
  step = start_step + prefetch
  try:
    while True:
      batch = pending.pop(0).result()
      pending.append(submit(step))
      step += 1
      yield batch
  finally:
    pool.shutdown(wait=False, cancel_futures=True)


# ------------------------------------------------------------------------- benchmark


def write_synthetic_jpegs(directory: str, n: int, seed: int = 0) -> str:
  """n random 218x178 RGB JPEGs (CelebA's aligned size) in `directory`; returns it."""
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(seed)
  base = rng.integers(0, 256, (218, 178, 3), np.uint8)
  for i in range(n):
    img = np.roll(base, i, axis=1) // 2 + rng.integers(0, 128, (218, 178, 3), np.uint8)
    Image.fromarray(img).save(os.path.join(directory, f'{i + 1:06d}.jpg'), quality=90)
  return directory


def write_synthetic_pngs(directory: str, n: int, size: int = 32, seed: int = 0) -> str:
  """n smooth random size x size RGB PNGs (like scripts/make_patches.py's photo patches:
  a coarse random field, bilinearly enlarged, plus a little noise) in `directory`."""
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(seed)
  for i in range(n):
    coarse = Image.fromarray(rng.integers(0, 256, (4, 4, 3), np.uint8))
    img = np.asarray(coarse.resize((size, size), Image.BILINEAR), np.int16)
    img = np.clip(img + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(os.path.join(directory, f'{i:05d}.png'))
  return directory


def pipeline_rate(ds: Dataset, batch_size: int, seed: int = 0, workers: int = 2,
                  steps: int = 20, min_seconds: float = 0.0) -> float:
  """Images/s of `iterate` on `ds` with `workers` threads: `steps` batches (and more until
  `min_seconds` have passed) after one untimed batch that starts the pool."""
  it = iterate(ds, batch_size, seed, 0, workers=workers)
  next(it)  # warm up the pool
  t = time.perf_counter()
  n = 0
  while n < steps or time.perf_counter() - t < min_seconds:
    next(it)
    n += 1
  rate = n * batch_size / (time.perf_counter() - t)
  it.close()
  return rate


def bench(config, steps: int = 20, out=sys.stdout) -> float:
  """Images/s of the pipeline alone (reading, decoding, preprocessing, batching)."""
  ds = load(config, out=out)
  rate = pipeline_rate(ds, config.batch_size, config.seed, config.data_workers, steps)
  print(f'{config.dataset} ({ds.num_examples} examples, crop={config.crop}, '
        f'{config.image_size}x{config.image_size}x{config.channels}, '
        f'{config.data_workers} workers): {rate:.1f} images/s', file=out, flush=True)
  if ds.corrupt:
    print(f'skipped {len(ds.corrupt)} corrupt images', file=out)
  return rate
