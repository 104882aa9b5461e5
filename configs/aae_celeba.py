"""Adversarial autoencoder on CelebA 64x64.

The data and networks of configs/celeba.py with the model of configs/aae_digits.py.

Reads tfds `celeb_a`; with img_align_celeba.zip on disk instead:
  --config.dataset=folder --config.data_path=PATH/img_align_celeba.zip
"""

from configs import celeba
from configs import aae_digits


def get_config():
  c = aae_digits.model_fields(celeba.get_config())
  c.latent_dis_widths = (1000, 1000)  # Makhzani et al.'s discriminator on codes
  return c
