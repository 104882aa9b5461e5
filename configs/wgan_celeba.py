"""WGAN on CelebA 64x64.

The data and networks of configs/celeba.py with the model of configs/wgan_digits.py.

Reads tfds `celeb_a`; with img_align_celeba.zip on disk instead:
  --config.dataset=folder --config.data_path=PATH/img_align_celeba.zip
"""

from configs import celeba
from configs import wgan_digits


def get_config():
  return wgan_digits.model_fields(celeba.get_config())
