"""DCGAN on CelebA 64x64.

The data and networks of configs/celeba.py with vaegan_jax/recipes.py's 'dcgan' recipe.

Reads tfds `celeb_a`; with img_align_celeba.zip on disk instead:
  --config.dataset=folder --config.data_path=PATH/img_align_celeba.zip

Command:
  python train.py --config dcgan_celeba --workdir runs/dcgan_celeba

Runtime: not measured with these 4x4 kernels. With the 5x5 kernels of an earlier
  commit and the recipe without R1 of then, the step was 3.18 s on an earlier 2-core
  CPU (python -m vaegan_jax.benchmark --config configs/dcgan_celeba.py;
  docs/performance.md).

Result: never trained.
"""

from vaegan_jax.configs import celeba
from vaegan_jax import recipes


def get_config():
  c = celeba.get_config()
  recipes.apply(c, 'dcgan')
  return c
