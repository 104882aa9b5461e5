"""Plain VAE on the embedded digits: encoder + decoder, Bernoulli pixels + KL (Kingma and Welling 2014).

Same networks and budget as the VAE-GAN default; the optimizer is vaegan_jax/recipes.py's
'vae' recipe (shared with configs/vae_celeba.py).

Command:
  python train.py --config vae_digits

Runtime: not measured as a run. The step: 0.018 s on an earlier 2-core CPU
  (python -m vaegan_jax.benchmark --config configs/vae_digits.py; docs/performance.md).

Result (compare, 2,000 steps):
  python -m vaegan_jax.compare --image_size 16 --models vae --seeds 3
  FD of prior samples 1.986 +- 0.529, recon MSE 0.0255 +- 0.0002 (docs/results.md; its
  default samples, the codes' mixture, were not scored on this set).
"""

from vaegan_jax.configs import default
from vaegan_jax import recipes


def get_config():
  c = default.get_config()
  recipes.apply(c, 'vae')
  return c
