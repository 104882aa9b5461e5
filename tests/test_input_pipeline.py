"""Data: digits range and determinism; CelebA preprocessing with tfds mock data."""

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

from configs import celeba
from configs import tiny
from vaegan_jax import input_pipeline


def test_digits_are_16x16_in_range_and_the_stream_is_a_function_of_seed_and_step():
  config = tiny.get_config()
  ds = input_pipeline.load(config)
  assert ds.num_examples == 1797
  a = input_pipeline.batch_for_step(ds, 8, seed=0, step=5)['image']
  assert a.shape == (8, 16, 16, 1) and a.dtype == np.float32
  assert a.min() >= -1.0 and a.max() <= 1.0 and a.min() < -0.9 and a.max() > 0.9
  np.testing.assert_array_equal(a, input_pipeline.batch_for_step(ds, 8, 0, 5)['image'])
  assert not np.array_equal(a, input_pipeline.batch_for_step(ds, 8, 1, 5)['image'])
  # Resuming the iterator at step 5 yields the batch of step 5.
  np.testing.assert_array_equal(a, next(input_pipeline.iterate(ds, 8, 0, start_step=5))['image'])


def test_batch_indices_cover_an_epoch_without_repeats():
  idx = np.concatenate([input_pipeline.batch_indices(100, 10, 0, s) for s in range(10)])
  assert sorted(idx) == list(range(100))
  later = input_pipeline.batch_indices(100, 10, 0, 10)  # next epoch: a new order
  assert not np.array_equal(later, input_pipeline.batch_indices(100, 10, 0, 0))


def _boxed(box, inside=255, outside=0):
  """One 218x178 RGB image: `inside` within rows r0:r1, cols c0:c1, `outside` elsewhere."""
  r0, r1, c0, c1 = box
  img = np.full((1, 218, 178, 3), outside, np.uint8)
  img[:, r0:r1, c0:c1] = inside
  return img


def _prep(images, rng, size, crop, flip):
  return input_pipeline.preprocess(images, rng, size=size, channels=3, crop=crop, flip=flip)


@pytest.mark.parametrize('crop,box', [
    ('celeba', (40, 188, 15, 163)),
    ('center108', (55, 163, 35, 143)),
])
def test_celeba_crop_box_is_exact(crop, box):
  rng = np.random.default_rng(0)
  out = _prep(_boxed(box), rng, 64, crop, False)
  assert out.shape == (1, 64, 64, 3)
  np.testing.assert_allclose(out, 1.0)  # only the box survives: all white -> 1.0
  r0, r1, c0, c1 = box
  for shifted in ((r0 + 1, r1, c0, c1), (r0, r1 - 1, c0, c1), (r0, r1, c0 + 1, c1),
                  (r0, r1, c0, c1 - 1)):
    out = _prep(_boxed(shifted), rng, 64, crop, False)
    assert out.min() < 0.99  # one pixel less of the box shows at the border
  black = _prep(_boxed(box, 0, 255), rng, 64, crop, False)
  np.testing.assert_allclose(black, -1.0)


def test_celeba_flip_happens_for_about_half_and_mirrors_exactly():
  img = np.zeros((64, 218, 178, 3), np.uint8)
  img[:, 40:188, 15:60] = 255  # a bright left part of the crop
  out = _prep(img, np.random.default_rng(1), 32, 'celeba', True)
  plain = _prep(img[:1], None, 32, 'celeba', False)[0]
  flipped = [bool(np.allclose(o, plain[:, ::-1])) for o in out]
  kept = [bool(np.allclose(o, plain)) for o in out]
  assert all(f != k for f, k in zip(flipped, kept))
  assert 16 < sum(flipped) < 48


def test_celeba_through_tfds_mock_data():
  config = celeba.get_config()
  config.image_size = 32
  with tfds.testing.mock_data(num_examples=12):
    ds = input_pipeline.load(config)
    assert ds.num_examples == 12
    batch = input_pipeline.batch_for_step(ds, 4, seed=0, step=1)
  image, label = batch['image'], batch['label']
  assert image.shape == (4, 32, 32, 3) and image.dtype == np.float32
  assert -1.0 <= image.min() and image.max() <= 1.0
  assert len(ds.label_names) == 40 and label.shape == (4, 40)
  assert set(np.unique(label)) <= {-1, 1}


def test_celeba_missing_data_names_the_fix(tmp_path):
  config = celeba.get_config()
  config.data_dir = str(tmp_path)
  with pytest.raises(input_pipeline.DataError, match='tfds build celeb_a'):
    input_pipeline.load(config)


def test_wrong_channels_are_rejected():
  config = tiny.get_config()
  config.channels = 3
  with pytest.raises(input_pipeline.DataError, match='channels=1'):
    input_pipeline.load(config)


@pytest.mark.parametrize('name,size,channels', [('mnist', 28, 1), ('cifar10', 32, 3)])
def test_any_tfds_image_dataset_by_name(name, size, channels):
  config = tiny.get_config()
  config.update(dict(dataset=name, image_size=16, channels=channels))
  with tfds.testing.mock_data(num_examples=10):
    ds = input_pipeline.load(config)
    image = input_pipeline.batch_for_step(ds, 4, 0, 0)['image']
  assert image.shape == (4, 16, 16, channels)
  assert -1.0 <= image.min() and image.max() <= 1.0
  del size


def test_unknown_dataset_names_the_choices():
  config = tiny.get_config()
  config.dataset = 'no_such_dataset_xyz'
  with pytest.raises(input_pipeline.DataError, match='unknown dataset'):
    input_pipeline.load(config)


def test_shards_of_processes_are_disjoint_and_make_the_global_batch():
  global_batch = input_pipeline.batch_indices(1000, 64, seed=3, step=7)
  shards = [input_pipeline.batch_indices(1000, 64, 3, 7, p, 4) for p in range(4)]
  assert all(len(s) == 16 for s in shards)
  assert len(set(np.concatenate(shards))) == 64
  np.testing.assert_array_equal(np.concatenate(shards), global_batch)
  ds = input_pipeline.load(tiny.get_config())
  with pytest.raises(input_pipeline.DataError, match='not divisible'):
    input_pipeline.batch_for_step(ds, 10, 0, 0, 0, 4)


# ------------------------------------------------------------------ folders and zips


def _celeba_folder(root, n=12, gray_every=0, corrupt=(), attrs=True, partition=True):
  """n PNGs of 218x178 (pixel value encodes the index), CelebA metadata beside them."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  images = root / 'img_align_celeba'
  images.mkdir(parents=True)
  names = [f'{i + 1:06d}.png' for i in range(n)]
  for i, name in enumerate(names):
    if i in corrupt:
      (images / name).write_bytes(b'this is not a png')
      continue
    arr = np.full((218, 178, 3), 10 * i, np.uint8)
    img = Image.fromarray(arr)
    if gray_every and i % gray_every == 0:
      img = img.convert('L')
    img.save(images / name)
  (images / 'notes.txt').write_text('not an image')
  if attrs:
    header = 'Smiling Young'
    rows = [f'{name} {1 if i % 2 else -1} {1 if i % 3 else -1}' for i, name in
            enumerate(names)]
    (root / 'list_attr_celeba.txt').write_text(f'{n}\n{header}\n' + '\n'.join(rows))
  if partition:
    rows = [f'{name} {0 if i < n - 4 else (1 if i < n - 2 else 2)}'
            for i, name in enumerate(names)]
    (root / 'list_eval_partition.txt').write_text('\n'.join(rows))
  return images


def _folder_config(path, **kw):
  config = tiny.get_config()
  config.update(dict(dataset='folder', data_path=str(path), channels=3, crop='celeba',
                     image_size=16))
  config.update(kw)
  return config


def test_folder_reads_images_attributes_and_official_partition(tmp_path):
  images = _celeba_folder(tmp_path)
  ds = input_pipeline.load(_folder_config(images))
  assert ds.num_examples == 8  # partition 0 of 12
  assert ds.label_names == ('Smiling', 'Young')
  batch = input_pipeline.batch_for_step(ds, 8, 0, 0)
  # Each image is constant 10 * i: its value identifies it and its label row.
  ids = np.round((batch['image'][:, 0, 0, 0] + 1) * 127.5 / 10).astype(int)
  assert sorted(ids) == list(range(8))
  want = np.array([[1 if i % 2 else -1, 1 if i % 3 else -1] for i in ids])
  np.testing.assert_array_equal(batch['label'], want)
  val = input_pipeline.load(_folder_config(images, split='validation'))
  assert val.num_examples == 2


def test_zip_gives_the_same_batches_as_the_folder(tmp_path):
  import zipfile  # pylint: disable=g-import-not-at-top
  images = _celeba_folder(tmp_path / 'f')
  zpath = tmp_path / 'z' / 'img_align_celeba.zip'
  zpath.parent.mkdir()
  with zipfile.ZipFile(zpath, 'w') as zf:
    for p in sorted(images.iterdir()):
      zf.write(p, f'img_align_celeba/{p.name}')
    zf.write(tmp_path / 'f' / 'list_attr_celeba.txt', 'list_attr_celeba.txt')
    zf.write(tmp_path / 'f' / 'list_eval_partition.txt', 'list_eval_partition.txt')
  a = input_pipeline.batch_for_step(input_pipeline.load(_folder_config(images)), 4, 0, 1)
  b = input_pipeline.batch_for_step(input_pipeline.load(_folder_config(zpath)), 4, 0, 1)
  np.testing.assert_array_equal(a['image'], b['image'])
  np.testing.assert_array_equal(a['label'], b['label'])


def test_folder_without_partition_uses_a_seeded_fraction(tmp_path):
  images = _celeba_folder(tmp_path, n=20, partition=False, attrs=False)
  train = input_pipeline.load(_folder_config(images, val_fraction=0.25))
  val = input_pipeline.load(_folder_config(images, val_fraction=0.25, split='validation'))
  assert (train.num_examples, val.num_examples) == (15, 5)
  assert train.read_labels is None


def test_grayscale_images_are_converted_and_corrupt_ones_skipped(tmp_path):
  images = _celeba_folder(tmp_path, n=10, gray_every=3, corrupt=(4,), partition=False)
  ds = input_pipeline.load(_folder_config(images))
  batch = input_pipeline.batch_for_step(ds, 10, 0, 0)['image']
  assert batch.shape == (10, 16, 16, 3) and np.all(np.isfinite(batch))
  assert ds.corrupt == {4}
  # Image 5 stands in for the corrupt image 4, with its own label row.
  assert ds.stand_in == {4: 5}
  np.testing.assert_array_equal(ds.read_labels(np.array([4])), ds.read_labels(np.array([5])))
  gray = input_pipeline.load(_folder_config(images, channels=1))
  assert input_pipeline.batch_for_step(gray, 2, 0, 0)['image'].shape == (2, 16, 16, 1)


def test_folder_errors_are_one_line_and_say_what_to_do(tmp_path):
  with pytest.raises(input_pipeline.DataError, match='needs --config.data_path'):
    input_pipeline.load(_folder_config(''))
  with pytest.raises(input_pipeline.DataError, match='does not exist'):
    input_pipeline.load(_folder_config(tmp_path / 'missing.zip'))
  (tmp_path / 'empty').mkdir()
  (tmp_path / 'empty' / 'readme.txt').write_text('x')
  with pytest.raises(input_pipeline.DataError, match='no images'):
    input_pipeline.load(_folder_config(tmp_path / 'empty'))
  small = _celeba_folder(tmp_path / 's', n=2, partition=False, attrs=False)
  from PIL import Image  # pylint: disable=g-import-not-at-top
  Image.fromarray(np.zeros((50, 50, 3), np.uint8)).save(small / '000001.png')
  ds = input_pipeline.load(_folder_config(small))
  with pytest.raises(input_pipeline.DataError, match='crop=center_square'):
    ds.batch(np.array([0]), None)


def test_pipeline_bench_reports_images_per_second(tmp_path):
  import io as _io  # pylint: disable=g-import-not-at-top
  images = input_pipeline.write_synthetic_jpegs(str(tmp_path / 'jpg'), 20)
  config = _folder_config(images, batch_size=4, image_size=64)
  out = _io.StringIO()
  rate = input_pipeline.bench(config, steps=3, out=out)
  assert rate > 0 and 'images/s' in out.getvalue()


def test_folder_stream_is_deterministic_with_flips_and_resumes(tmp_path):
  images = input_pipeline.write_synthetic_jpegs(str(tmp_path / 'jpg'), 16)
  config = _folder_config(images, random_flip=True)
  ds = input_pipeline.load(config)
  a = input_pipeline.batch_for_step(ds, 8, 5, 3)['image']
  np.testing.assert_array_equal(a, input_pipeline.batch_for_step(ds, 8, 5, 3)['image'])
  assert not np.array_equal(a, input_pipeline.batch_for_step(ds, 8, 6, 3)['image'])
  resumed = next(input_pipeline.iterate(ds, 8, 5, start_step=3, workers=2))['image']
  np.testing.assert_array_equal(a, resumed)


def _class_folders_with_attributes(root, n=6):
  """Images in two class folders, RGBA with a transparent border, and an attribute file
  beside them (the layout of scripts/make_emoji.py)."""
  root.mkdir()
  names = []
  for i in range(n):
    cls = ('Animals', 'Flags')[i % 2]
    (root / cls).mkdir(exist_ok=True)
    rgba = np.zeros((8, 8, 4), np.uint8)  # transparent black ...
    rgba[2:6, 2:6] = (200, 10, 10, 255)  # ... around an opaque red square
    Image.fromarray(rgba, 'RGBA').save(root / cls / f'e{i}.png')
    names.append(f'e{i}.png')
  (root / 'list_attr_celeba.txt').write_text(
      f'{n}\nMan Flags\n' + ''.join(f'{m} {1 if i < 2 else -1} {1 if i % 2 else -1}\n'
                                    for i, m in enumerate(names)))
  return root


def test_folder_labels_choose_attributes_or_class_folders(tmp_path):
  root = _class_folders_with_attributes(tmp_path / 'emoji')
  auto = input_pipeline.load(_folder_config(root, crop='none', image_size=8))
  assert auto.label_names == ('Man', 'Flags') and auto.classes == ()
  classes = input_pipeline.load(_folder_config(root, crop='none', image_size=8,
                                               folder_labels='classes'))
  assert classes.classes == ('Animals', 'Flags') and classes.label_names == ('class',)
  idx = np.arange(6)
  # The same images either way; the class folder agrees with the Flags attribute.
  np.testing.assert_array_equal(classes.read_labels(idx)[:, 0] == 1,
                                auto.read_labels(idx)[:, 1] == 1)
  with pytest.raises(input_pipeline.DataError, match='not in class folders'):
    input_pipeline.load(_folder_config(_celeba_folder(tmp_path / 'c'),
                                       folder_labels='classes'))
  with pytest.raises(input_pipeline.DataError, match='no list_attr_celeba.txt'):
    input_pipeline.load(_folder_config(_celeba_folder(tmp_path / 'd', attrs=False),
                                       folder_labels='attributes'))


def test_transparent_pixels_are_white(tmp_path):
  root = _class_folders_with_attributes(tmp_path / 'emoji')
  ds = input_pipeline.load(_folder_config(root, crop='none', image_size=8))
  x = ds.batch(np.arange(1), np.random.default_rng(0))[0]
  np.testing.assert_allclose(x[0, 0], [1.0, 1.0, 1.0])  # white, not the hidden black
  np.testing.assert_allclose(x[4, 4], np.array([200, 10, 10]) / 127.5 - 1, atol=1e-6)
