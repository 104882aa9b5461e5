"""WGAN on CelebA 64x64.

The data and networks of configs/celeba.py with vaegan_jax/recipes.py's 'wgan' recipe.

Reads tfds `celeb_a`; with img_align_celeba.zip on disk instead:
  --config.dataset=folder --config.data_path=PATH/img_align_celeba.zip
"""

from vaegan_jax.configs import celeba
from vaegan_jax import recipes


def get_config():
  c = celeba.get_config()
  recipes.apply(c, 'wgan')
  return c
