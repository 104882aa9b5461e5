"""Adversarial autoencoder on the embedded digits (Makhzani et al. 2016).

A deterministic encoder, Bernoulli pixel reconstruction, and an MLP discriminator on
codes telling prior samples z_p ~ N(0, prior_scale^2 I) from codes; the encoder is also
that discriminator's generator. Same conv networks and optimizer as the VAE. The values
are vaegan_jax/recipes.py's 'aae' recipe, shared with configs/aae_celeba.py.
"""

from vaegan_jax.configs import default
from vaegan_jax import recipes


def get_config():
  c = default.get_config()
  recipes.apply(c, 'aae')
  return c
