"""Data: digits range and determinism; CelebA preprocessing with tfds mock data."""

import numpy as np
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


@pytest.mark.parametrize('crop,box', [
    ('authors', (40, 188, 15, 163)),
    ('center108', (55, 163, 35, 143)),
])
def test_celeba_crop_box_is_exact(crop, box):
  rng = np.random.default_rng(0)
  out = input_pipeline.celeba_preprocess(_boxed(box), rng, size=64, crop=crop, flip=False)
  assert out.shape == (1, 64, 64, 3)
  np.testing.assert_allclose(out, 1.0)  # only the box survives: all white -> 1.0
  r0, r1, c0, c1 = box
  for shifted in ((r0 + 1, r1, c0, c1), (r0, r1 - 1, c0, c1), (r0, r1, c0 + 1, c1),
                  (r0, r1, c0, c1 - 1)):
    out = input_pipeline.celeba_preprocess(_boxed(shifted), rng, size=64, crop=crop,
                                           flip=False)
    assert out.min() < 0.99  # one pixel less of the box shows at the border
  black = input_pipeline.celeba_preprocess(_boxed(box, 0, 255), rng, size=64, crop=crop,
                                           flip=False)
  np.testing.assert_allclose(black, -1.0)


def test_celeba_flip_happens_for_about_half_and_mirrors_exactly():
  img = np.zeros((64, 218, 178, 3), np.uint8)
  img[:, 40:188, 15:60] = 255  # a bright left part of the crop
  out = input_pipeline.celeba_preprocess(img, np.random.default_rng(1), size=32,
                                         crop='authors', flip=True)
  plain = input_pipeline.celeba_preprocess(img[:1], None, size=32, crop='authors',
                                           flip=False)[0]
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
    batch = input_pipeline.batch_for_step(ds, 4, seed=0, step=1)['image']
  assert batch.shape == (4, 32, 32, 3) and batch.dtype == np.float32
  assert -1.0 <= batch.min() and batch.max() <= 1.0


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
