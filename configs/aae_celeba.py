"""Adversarial autoencoder on CelebA 64x64.

The data and networks of configs/celeba.py with vaegan_jax/recipes.py's 'aae' recipe.

Reads tfds `celeb_a`; with img_align_celeba.zip on disk instead:
  --config.dataset=folder --config.data_path=PATH/img_align_celeba.zip

Command:
  python train.py --config aae_celeba --workdir runs/aae_celeba

Runtime: not measured with these 4x4 kernels. With the 5x5 kernels of an earlier
  commit the step was 1.36 s on an earlier 2-core CPU
  (python -m vaegan_jax.benchmark --config configs/aae_celeba.py; docs/performance.md).

Result: never trained.
"""

from vaegan_jax.configs import celeba
from vaegan_jax import recipes


def get_config():
  c = celeba.get_config()
  recipes.apply(c, 'aae')
  c.latent_dis_widths = (1000, 1000)  # Makhzani et al.'s discriminator on codes
  return c
