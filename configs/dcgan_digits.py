"""DCGAN on the embedded digits: the decoder as generator vs. the image discriminator.

Seed 004 / Radford et al.: Adam 2e-4 with beta1 0.5, N(0, 0.02) initialisation, leaky
ReLU 0.2 in the discriminator, real and generated batches normalised separately, the
non-saturating generator loss, and one discriminator update before each generator
update (critic_steps=1: the reference's alternation). The values are
vaegan_jax/recipes.py's 'dcgan' recipe, shared with configs/dcgan_celeba.py.
"""

from vaegan_jax.configs import default
from vaegan_jax import recipes


def get_config():
  c = default.get_config()
  recipes.apply(c, 'dcgan')
  return c
