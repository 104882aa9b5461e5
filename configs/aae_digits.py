"""Adversarial autoencoder on the embedded digits (Makhzani et al. 2016).

A deterministic encoder, Bernoulli pixel reconstruction, and an MLP discriminator on
codes telling prior samples z_p ~ N(0, prior_scale^2 I) from codes; the encoder is also
that discriminator's generator. Same conv networks and optimizer as the VAE. The values
are vaegan_jax/recipes.py's 'aae' recipe, shared with configs/aae_celeba.py.

Command:
  python train.py --config aae_digits

Runtime: not measured as a run. The step: 0.023 s on an earlier 2-core CPU
  (python -m vaegan_jax.benchmark --config configs/aae_digits.py; docs/performance.md).

Result: not measured at 16x16. At 28x28, seed 0 only
  (python -m vaegan_jax.compare --image_size 28 --models aae): FD of prior samples
  1.134, recon MSE 0.0134 (docs/results.md).
"""

from vaegan_jax.configs import default
from vaegan_jax import recipes


def get_config():
  c = default.get_config()
  recipes.apply(c, 'aae')
  return c
