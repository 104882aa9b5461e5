"""The decoded cache (vaegan_jax/data_cache.py): the same batches bit for bit, rebuilt when
its key changes, never read half-built, 'auto' under the workdir, bad values one line."""

import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
from PIL import Image
import pytest

from configs import tiny
from vaegan_jax import data_cache
from vaegan_jax import input_pipeline
from vaegan_jax import validation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _png_folder(root, n=14, corrupt=(5,)):
  """n PNGs of different sizes in two class folders, some grey, one corrupt."""
  rng = np.random.default_rng(0)
  for i in range(n):
    d = root / ('cats' if i % 2 else 'dogs')
    d.mkdir(parents=True, exist_ok=True)
    if i in corrupt:
      (d / f'{i:03d}.png').write_bytes(b'not a png')
      continue
    h, w = 20 + 3 * i, 24 + (5 * i) % 17
    img = Image.fromarray(rng.integers(0, 256, (h, w, 3), np.uint8))
    if i % 3 == 0:
      img = img.convert('L')
    img.save(d / f'{i:03d}.png')
  return root


def _config(path, **kw):
  config = tiny.get_config()
  config.update(dict(dataset='folder', data_path=str(path), channels=3,
                     crop='center_square', image_size=16, random_flip=True))
  config.update(kw)
  return config


def _same_stream(a, b, batch_size=4, steps=range(6), seed=3):
  for step in steps:
    x = input_pipeline.batch_for_step(a, batch_size, seed, step)
    y = input_pipeline.batch_for_step(b, batch_size, seed, step)
    assert x.keys() == y.keys()
    assert x['image'].dtype == y['image'].dtype == np.float32
    # Bitwise: the float32 bit patterns, not a tolerance.
    np.testing.assert_array_equal(x['image'].view(np.uint32), y['image'].view(np.uint32))
    if 'label' in x:
      np.testing.assert_array_equal(x['label'], y['label'])


@pytest.mark.parametrize('channels', [3, 1])
def test_png_folder_batches_are_bitwise_identical_with_the_cache(tmp_path, channels):
  images = _png_folder(tmp_path / 'png')
  plain = input_pipeline.load(_config(images, channels=channels))
  out = io.StringIO()
  cached = input_pipeline.load(
      _config(images, channels=channels, data_cache=str(tmp_path / 'cache')), out=out)
  assert cached.cache_path.startswith(str(tmp_path / 'cache'))
  assert 'data cache: building' in out.getvalue() and 'data cache: built' in out.getvalue()
  assert cached.label_names == ('class',)
  _same_stream(plain, cached)
  # The corrupt image (cats/005.png, index 2 of the sorted names) and its stand-in are
  # known from the cache without decoding; its label is its stand-in's, as without it.
  reopened = input_pipeline.load(
      _config(images, channels=channels, data_cache=str(tmp_path / 'cache')), out=out)
  assert 'data cache: reading' in out.getvalue()
  assert reopened.corrupt == {2} and reopened.stand_in == {2: 3}
  _same_stream(plain, reopened)
  np.testing.assert_array_equal(reopened.read_labels(np.array([2])),
                                plain.read_labels(np.array([2])))
  # The prefetching iterator reads the same batches.
  a = next(input_pipeline.iterate(plain, 4, 3, start_step=2, workers=2))['image']
  b = next(input_pipeline.iterate(reopened, 4, 3, start_step=2, workers=2))['image']
  np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_celeba_crop_on_synthetic_jpegs_is_bitwise_identical(tmp_path):
  images = input_pipeline.write_synthetic_jpegs(str(tmp_path / 'jpg'), 10)
  config = _config(images, crop='celeba', image_size=64)
  plain = input_pipeline.load(config)
  config.data_cache = str(tmp_path / 'cache')
  cached = input_pipeline.load(config, out=None)
  pixels = np.load(cached.cache_path, mmap_mode='r')
  assert pixels.shape == (10, 64, 64, 3) and pixels.dtype == np.uint8
  _same_stream(plain, cached, batch_size=4, steps=range(4))
  # The batches other readers take (sample grids, mixtures, FD references).
  rng = np.random.default_rng(0)
  np.testing.assert_array_equal(plain.batch(np.arange(10), rng),
                                cached.batch(np.arange(10), np.random.default_rng(0)))


def test_tfds_source_with_the_cache_gives_the_same_images_and_labels(tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from configs import celeba  # pylint: disable=g-import-not-at-top
  config = celeba.get_config()
  config.image_size = 32
  with tfds.testing.mock_data(num_examples=12):
    plain = input_pipeline.load(config)
    config.data_cache = str(tmp_path)
    cached = input_pipeline.load(config, out=None)
    assert os.path.basename(cached.cache_path) == 'celeb_a-train.npy'
    _same_stream(plain, cached, steps=range(3))


def test_rebuilt_when_a_file_is_added_or_image_size_changes(tmp_path):
  images = tmp_path / 'jpg'
  input_pipeline.write_synthetic_jpegs(str(images), 6)
  cache = str(tmp_path / 'cache')
  out = io.StringIO()
  first = input_pipeline.load(_config(images, data_cache=cache), out=out)
  assert '(no cache yet)' in out.getvalue()
  out = io.StringIO()
  input_pipeline.load(_config(images, data_cache=cache), out=out)
  assert 'data cache: reading' in out.getvalue() and 'building' not in out.getvalue()

  out = io.StringIO()
  sized = input_pipeline.load(_config(images, data_cache=cache, image_size=32), out=out)
  assert "(image_size 16 -> 32)" in out.getvalue(), out.getvalue()
  assert sized.cache_path == first.cache_path  # one slot per data set and split
  assert np.load(sized.cache_path, mmap_mode='r').shape == (6, 32, 32, 3)
  _same_stream(input_pipeline.load(_config(images, image_size=32)), sized, steps=range(2))

  Image.fromarray(np.zeros((218, 178, 3), np.uint8)).save(images / '000007.jpg')
  out = io.StringIO()
  grown = input_pipeline.load(_config(images, data_cache=cache, image_size=32), out=out)
  assert 'the source has 7 examples, the cache 6' in out.getvalue(), out.getvalue()
  assert grown.num_examples == 7
  assert np.load(grown.cache_path, mmap_mode='r').shape == (7, 32, 32, 3)

  # Same names, one file rewritten: its size/mtime change the key.
  time.sleep(0.01)
  Image.fromarray(np.full((218, 178, 3), 200, np.uint8)).save(images / '000007.jpg')
  out = io.StringIO()
  input_pipeline.load(_config(images, data_cache=cache, image_size=32), out=out)
  assert "the source's files changed" in out.getvalue(), out.getvalue()


_KILLED_BUILD = textwrap.dedent('''
    import sys, time
    from configs import tiny
    from vaegan_jax import data_cache, input_pipeline
    data_cache.CHUNK = 1
    real = input_pipeline.preprocess_pixels
    def slow(*a, **k):
      time.sleep(0.05)
      return real(*a, **k)
    input_pipeline.preprocess_pixels = slow
    c = tiny.get_config()
    c.update(dict(dataset='folder', data_path=sys.argv[1], channels=3, image_size=16,
                  data_cache=sys.argv[2], data_workers=1))
    input_pipeline.load(c)
    print('finished', flush=True)
''')


def test_a_killed_build_is_not_read_as_complete(tmp_path):
  images = input_pipeline.write_synthetic_jpegs(str(tmp_path / 'jpg'), 40)
  cache = tmp_path / 'cache'
  proc = subprocess.Popen([sys.executable, '-c', _KILLED_BUILD, images, str(cache)],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True)
  try:
    for line in proc.stdout:  # kill it once the build has made progress
      if line.startswith('data cache: ') and 'images/s' in line:
        break
    proc.send_signal(signal.SIGKILL)
  finally:
    proc.wait(timeout=60)
  left = sorted(os.listdir(cache))
  assert left == [f'folder-jpg-train.npy.partial-{os.uname().nodename}-{proc.pid}'], left
  config = _config(images, data_cache=str(cache), random_flip=False)
  out = io.StringIO()
  ds = input_pipeline.load(config, out=out)
  assert 'removing' in out.getvalue() and 'did not finish' in out.getvalue()
  assert '(no cache yet)' in out.getvalue()
  assert sorted(os.listdir(cache)) == ['folder-jpg-train.json', 'folder-jpg-train.npy']
  _same_stream(input_pipeline.load(_config(images, random_flip=False)), ds, batch_size=8,
               steps=range(5))

  # An array without its key file (a kill between the two renames) is rebuilt too.
  os.remove(cache / 'folder-jpg-train.json')
  out = io.StringIO()
  input_pipeline.load(config, out=out)
  assert 'data cache: building' in out.getvalue()


def test_auto_is_under_the_workdir_and_off_without_one(tmp_path):
  images = _png_folder(tmp_path / 'png', n=6, corrupt=())
  config = _config(images, data_cache='auto')
  ds = input_pipeline.load(config, workdir=str(tmp_path / 'run'), out=None)
  assert ds.cache_path == str(tmp_path / 'run' / 'data_cache' / 'folder-png-train.npy')
  assert input_pipeline.load(config).cache_path == ''  # e.g. evaluate: no workdir
  digits = tiny.get_config()
  digits.data_cache = 'auto'  # digits are in memory: nothing to cache
  assert input_pipeline.load(digits, workdir=str(tmp_path / 'd')).cache_path == ''
  assert not os.path.exists(tmp_path / 'd')


def test_bad_data_cache_values_are_one_line_config_errors(tmp_path):
  (tmp_path / 'a_file').write_text('x')
  for value, match in ((str(tmp_path / 'a_file'), 'is a file, not a folder'),
                       (' auto', 'leading or trailing spaces')):
    config = tiny.get_config()
    config.data_cache = value
    with pytest.raises(validation.ConfigError, match=match) as e:
      validation.validate(config)
    assert '\n' not in str(e.value) and "'auto' (WORKDIR/data_cache)" in str(e.value)
  assert data_cache.check(3).startswith('--config.data_cache must be a folder')
  config = tiny.get_config()
  config.data_cache = str(tmp_path / 'new_folder')  # created when first used
  validation.validate(config)


def test_too_little_disk_is_a_one_line_data_error_and_leaves_nothing(tmp_path, monkeypatch):
  import collections  # pylint: disable=g-import-not-at-top
  images = _png_folder(tmp_path / 'png', n=6, corrupt=())
  usage = collections.namedtuple('usage', 'total used free')
  monkeypatch.setattr(data_cache.shutil, 'disk_usage', lambda _: usage(1, 1, 1000))
  with pytest.raises(input_pipeline.DataError, match=r'needs .* but 1 kB are free') as e:
    input_pipeline.load(_config(images, data_cache=str(tmp_path / 'cache')), out=None)
  assert '\n' not in str(e.value)
  assert os.listdir(tmp_path / 'cache') == []


def test_training_with_the_cache_gives_the_same_parameters(tmp_path):
  import jax  # pylint: disable=g-import-not-at-top
  from vaegan_jax import trainer  # pylint: disable=g-import-not-at-top
  images = input_pipeline.write_synthetic_jpegs(str(tmp_path / 'jpg'), 12)
  states = []
  for run, cache in (('plain', ''), ('cached', 'auto')):
    config = _config(images, crop='celeba', batch_size=4, num_train_steps=2,
                     data_cache=cache)
    out = io.StringIO()
    states.append(jax.device_get(trainer.train_and_evaluate(
        config, str(tmp_path / run), out=out, write_summaries=False)))
    assert ('data cache: built' in out.getvalue()) == bool(cache)
  assert os.path.exists(tmp_path / 'cached' / 'data_cache' / 'folder-jpg-train.npy')
  jax.tree.map(np.testing.assert_array_equal, states[0].params, states[1].params)
