"""A decoded cache: the deterministic part of preprocessing, stored once as uint8 on disk.

  --config.data_cache=PATH   a folder (created if missing)
  --config.data_cache=auto   WORKDIR/data_cache (the trainer's workdir)
  --config.data_cache=''     off (the default)

Reading, decoding, crop, blur, resize and channel conversion (the data set's `pixels`,
`input_pipeline.preprocess_pixels`) run once per example, in a build that uses
config.data_workers threads and prints a progress line every 10%; the result is one
uint8 array [N, H, W, C] in a .npy file that batches then read through a memory map.
input_pipeline.load calls `attach`; this module does not import input_pipeline.
The random flips (from (seed, step, process)) and the scaling to [-1, 1] stay per batch
(`input_pipeline.finish_pixels`), so the batches are bitwise the ones decoding gives.

Files, in the cache folder, per data set and split (NAME = dataset-source-split):
  NAME.npy    the pixels (np.lib.format.open_memmap)
  NAME.json   its key, written last: a cache is complete only when the key file is there
              and matches. The key is the source's file list (names, sizes and mtimes
              for a folder, names, sizes and CRCs for a zip, name, split, version and
              size for tfds), which also captures split, val_fraction and seed where they
              choose the examples, and the preprocessing fields (FIELDS). A mismatch
              rebuilds the cache with one line saying what changed.
A build writes NAME.npy.partial-HOST-PID and renames it when complete, so a killed build
leaves nothing that is read as complete; its leftover is removed by the next build on
the same host. Corrupt images are stored as the image that stands in for them (the
next readable one, as without a cache) and the key file remembers which, for the labels.

Size: N x H x W x C bytes; CelebA's 202,599 images at 64x64x3 take 2.49 GB (2.3 GiB),
its 162,770 training images 2.0 GB.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import socket
import sys
import time

import numpy as np

from vaegan_jax import errors

FORMAT = 2  # bump when the stored pixels change meaning (2: transparency on white)
# Preprocessing fields that change the stored pixels (besides the source's files).
FIELDS = ('dataset', 'image_size', 'channels', 'crop')
CHUNK = 64  # examples per build task
AUTO_DIR = 'data_cache'  # under the workdir for data_cache='auto'


CacheError = errors.CacheError


def check(value) -> str | None:
  """A one-line error message for a bad --config.data_cache value, else None."""
  usage = "a folder, 'auto' (WORKDIR/data_cache) or '' (off)"
  if not isinstance(value, str):
    return f'--config.data_cache must be {usage} (got {value!r})'
  if value.strip() != value:
    return f'--config.data_cache has leading or trailing spaces ({value!r}): give {usage}'
  if value in ('', 'auto'):
    return None
  path = os.path.expanduser(value)
  if os.path.exists(path) and not os.path.isdir(path):
    return f'--config.data_cache={value} is a file, not a folder: give {usage}'
  return None


def folder_for(value: str, workdir: str | None) -> str | None:
  """The cache folder of a data_cache value: None when off ('' or 'auto' without a
  workdir)."""
  if not value:
    return None
  if value == 'auto':
    return os.path.join(workdir, AUTO_DIR) if workdir else None
  return os.path.expanduser(value)


def name(config) -> str:
  """NAME of the cache files: dataset, source (data_path's base name) and split."""
  source = ''
  if config.dataset == 'folder':
    source = os.path.basename(os.path.normpath(str(config.data_path)))
  parts = [config.dataset, source, config.split]
  return re.sub(r'[^A-Za-z0-9._-]+', '_', '-'.join(p for p in parts if p))


def key(config, ds) -> dict:
  """What the cache must match: format, preprocessing fields, source files, shape."""
  fields = {f: config[f] for f in FIELDS}
  if config.dataset == 'folder':
    fields['data_path'] = os.path.abspath(os.path.expanduser(str(config.data_path)))
  return {'format': FORMAT, 'fields': fields, 'source': ds.source_key(),
          'shape': [ds.num_examples, config.image_size, config.image_size,
                    config.channels]}


def _why(old: dict | None, new: dict) -> str:
  """Why the cache is (re)built, in a few words."""
  if old is None:
    return 'no cache yet'
  if old.get('format') != new['format']:
    return 'the cache format changed'
  changed = [f'{f} {old.get("fields", {}).get(f)!r} -> {v!r}'
             for f, v in new['fields'].items() if old.get('fields', {}).get(f) != v]
  if changed:
    return ', '.join(changed)
  o, n = old.get('source', {}), new['source']
  if o.get('examples') != n['examples']:
    return f'the source has {n["examples"]:,} examples, the cache {o.get("examples")}'
  if o != n:
    return "the source's files changed (names, sizes or modification times)"
  return 'the cached array does not match its key'


def _matches(meta: dict | None, want: dict) -> bool:
  return meta is not None and all(meta.get(k) == want[k] for k in want)


def _read_meta(path: str) -> dict | None:
  try:
    with open(path, encoding='utf-8') as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def _gb(nbytes: float) -> str:
  if nbytes >= 1e9:
    return f'{nbytes / 1e9:.2f} GB'
  return f'{nbytes / 1e6:.1f} MB' if nbytes >= 1e6 else f'{nbytes / 1e3:.0f} kB'


def _duration(s: float) -> str:
  s = int(round(s))
  return f'{s // 60}m {s % 60:02d}s' if s >= 60 else f'{s}s'


def attach(ds, config, workdir: str | None = None, out=sys.stdout):
  """`ds` reading its pixels from the decoded cache config.data_cache names (built
  first if missing or stale); `ds` unchanged when the cache is off or does not apply
  (no workdir for 'auto', a data set without a deterministic stage)."""
  where = folder_for(config.get('data_cache', ''), workdir)
  if where is None or ds.pixels is None or ds.source_key is None:
    return ds

  def log(msg):
    if out is not None:
      print(msg, file=out, flush=True)

  try:
    os.makedirs(where, exist_ok=True)
  except OSError as e:
    raise CacheError(
        f'cannot create the data cache folder {where}: {e.strerror}; set '
        "--config.data_cache to a writable folder or '' (off)") from e
  prefix = os.path.join(where, name(config))
  npy, meta_path = prefix + '.npy', prefix + '.json'
  want = key(config, ds)
  meta = _read_meta(meta_path)
  pixels = None
  if _matches(meta, want):
    try:
      pixels = np.load(npy, mmap_mode='r')
    except (OSError, ValueError):
      pixels = None
    if pixels is not None and (list(pixels.shape) != want['shape'] or
                               pixels.dtype != np.uint8):
      pixels = None
  if pixels is None:
    why = (_why(meta, want) if not _matches(meta, want) else
           'the key file is there but its array is missing or of another shape')
    try:
      os.remove(meta_path)  # from here on nothing is read as complete until rebuilt
    except FileNotFoundError:
      pass
    try:
      meta = build(ds, want, npy, meta_path, workers=config.data_workers, why=why,
                   log=log)
    except OSError as e:
      raise CacheError(f'cannot write the data cache {npy}: {e.strerror or e}; set '
                       "--config.data_cache to a writable folder or '' (off)") from e
    pixels = np.load(npy, mmap_mode='r')
  else:
    log(f'data cache: reading {npy} ({want["shape"][0]:,} x '
        f'{"x".join(map(str, want["shape"][1:]))} uint8, {_gb(pixels.nbytes)}, built '
        f'{meta.get("built", "?")})')
  ds.corrupt.update(int(i) for i in meta.get('corrupt', ()))
  ds.stand_in.update({int(k): int(v) for k, v in meta.get('stand_in', {}).items()})
  ds.pixels = lambda idx: np.asarray(pixels[np.asarray(idx)])
  ds.cache_path = npy
  return ds


def _stale_partials(npy: str) -> list[str]:
  """Leftover partial builds of `npy` by processes of this host that are gone."""
  folder, base = os.path.split(npy)
  host = socket.gethostname()
  stale = []
  for f in os.listdir(folder or '.'):
    m = re.fullmatch(re.escape(base) + r'\.partial-(.+)-(\d+)', f)
    if not m or m.group(1) != host:
      continue
    try:
      os.kill(int(m.group(2)), 0)
      alive = int(m.group(2)) != os.getpid()
    except ProcessLookupError:
      alive = False
    except PermissionError:
      alive = True
    if not alive:
      stale.append(os.path.join(folder, f))
  return stale


def build(ds, want: dict, npy: str, meta_path: str, *, workers: int = 2, why: str = '',
          log=print) -> dict:
  """Writes ds.pixels of every example into `npy` (through NPY.partial-HOST-PID, renamed
  when complete), then the key file `meta_path`; returns the key file's contents."""
  for f in _stale_partials(npy):
    log(f'data cache: removing {f}, a build that did not finish')
    os.remove(f)
  shape = tuple(want['shape'])
  n = shape[0]
  nbytes = int(np.prod(shape))
  folder = os.path.dirname(npy) or '.'
  free = shutil.disk_usage(folder).free
  if free < nbytes + (64 << 20):
    raise CacheError(
        f'the data cache needs {_gb(nbytes)} in {folder} but {_gb(free)} are free: free '
        "space, point --config.data_cache at another folder or set it to '' (off)")
  log(f'data cache: building {npy} ({why}): {n:,} images of '
      f'{"x".join(map(str, shape[1:]))} uint8 = {_gb(nbytes)}, {workers} workers')
  tmp = f'{npy}.partial-{socket.gethostname()}-{os.getpid()}'
  t0 = time.perf_counter()
  pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers))
  try:
    arr = np.lib.format.open_memmap(tmp, mode='w+', dtype=np.uint8, shape=shape)

    def work(start):
      idx = np.arange(start, min(start + CHUNK, n))
      arr[start:start + len(idx)] = ds.pixels(idx)
      return len(idx)

    done, report = 0, 1
    for k in pool.map(work, range(0, n, CHUNK)):
      done += k
      if done >= report * n / 10 and done < n:
        rate = done / (time.perf_counter() - t0)
        log(f'data cache: {done:,}/{n:,} images ({100 * done // n}%), {rate:,.0f} '
            f'images/s, ETA {_duration((n - done) / rate)}')
        report = int(10 * done / n) + 1
    arr.flush()
    del arr
    with open(tmp, 'rb+') as f:
      os.fsync(f.fileno())
    os.replace(tmp, npy)
  except BaseException:
    pool.shutdown(wait=False, cancel_futures=True)
    if os.path.exists(tmp):
      os.remove(tmp)
    raise
  pool.shutdown()
  seconds = time.perf_counter() - t0
  meta = dict(want, corrupt=sorted(int(i) for i in ds.corrupt),
              stand_in={str(k): int(v) for k, v in sorted(ds.stand_in.items())},
              built=time.strftime('%Y-%m-%d %H:%M:%S'), build_s=round(seconds, 2))
  tmp_meta = f'{meta_path}.partial-{socket.gethostname()}-{os.getpid()}'
  with open(tmp_meta, 'w', encoding='utf-8') as f:
    json.dump(meta, f)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp_meta, meta_path)
  corrupt = (f', {len(ds.corrupt)} corrupt, each stored as the next readable image'
             if ds.corrupt else '')
  log(f'data cache: built {n:,} images in {_duration(seconds)} ({n / seconds:,.0f} '
      f'images/s{corrupt})')
  return meta
