"""VAE on CelebA 64x64.

The data and networks of configs/celeba.py with vaegan_jax/recipes.py's 'vae' recipe.

Reads tfds `celeb_a`; with img_align_celeba.zip on disk instead:
  --config.dataset=folder --config.data_path=PATH/img_align_celeba.zip

Command:
  python train.py --config vae_celeba --workdir runs/vae_celeba

Runtime: not measured with these 4x4 kernels. With the 5x5 kernels of an earlier
  commit the step was 1.36 s on an earlier 2-core CPU
  (python -m vaegan_jax.benchmark --config configs/vae_celeba.py; docs/performance.md).

Result: never trained.
"""

from vaegan_jax.configs import celeba
from vaegan_jax import recipes


def get_config():
  c = celeba.get_config()
  recipes.apply(c, 'vae')
  return c
