"""WGAN on CelebA 64x64.

The data and networks of configs/celeba.py with vaegan_jax/recipes.py's 'wgan' recipe.

Reads tfds `celeb_a`; with img_align_celeba.zip on disk instead:
  --config.dataset=folder --config.data_path=PATH/img_align_celeba.zip

Command:
  python train.py --config wgan_celeba --workdir runs/wgan_celeba

Runtime: not measured with these 4x4 kernels. With the 5x5 kernels of an earlier
  commit the step (5 critic updates, 1 generator update) was 9.35 s on an earlier 2-core
  CPU (python -m vaegan_jax.benchmark --config configs/wgan_celeba.py; docs/performance.md).

Result: never trained.
"""

from vaegan_jax.configs import celeba
from vaegan_jax import recipes


def get_config():
  c = celeba.get_config()
  recipes.apply(c, 'wgan')
  return c
