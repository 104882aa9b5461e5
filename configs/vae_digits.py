"""Plain VAE on the embedded digits: encoder + decoder, Bernoulli pixels + KL (Kingma and Welling 2014).

Same networks and budget as the VAE-GAN default; the optimizer is vaegan_jax/recipes.py's
'vae' recipe (shared with configs/vae_celeba.py).
"""

from vaegan_jax.configs import default
from vaegan_jax import recipes


def get_config():
  c = default.get_config()
  recipes.apply(c, 'vae')
  return c
