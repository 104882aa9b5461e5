"""scripts/make_mnist.py: class folders of 28x28 grey PNGs that compare reads as they are."""

import numpy as np
from PIL import Image

from scripts import make_mnist
from vaegan_jax import classifier


def test_class_folders_hold_the_images_and_compare_reads_them(tmp_path):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
  labels = np.arange(30) % 3
  assert make_mnist.write(str(tmp_path / 'd'), images, labels) == {0: 10, 1: 10, 2: 10}
  back = np.asarray(Image.open(tmp_path / 'd' / '2' / '3.png'))
  np.testing.assert_array_equal(back, images[11])  # the fourth image of class 2
  split = classifier.load_split('train', 0, data='folder', data_path=str(tmp_path / 'd'),
                                image_size=28)
  assert split.images.shape[1:] == (28, 28, 1) and len(split.images) == 24
  assert make_mnist.main(['--out', str(tmp_path / 'd')]) == 2  # not empty: refused
