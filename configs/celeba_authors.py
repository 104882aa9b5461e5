"""VAE-GAN on CelebA 64x64 with the authors' exact settings (their celeba_aegan.py).

The data and networks of configs/celeba.py (the authors' crop, blur and encoder dense
1024) with vaegan_jax/recipes.py's VAEGAN_AUTHORS: decoder loss
1e-6 * L_llike + (1 - 1e-6) * GAN, the discriminator on real images and prior samples
only (real/fake weights 1/2), the equilibrium rule, RMSProp with weight decay 1e-5 and a
linear learning-rate decay over 250 epochs of 250 batches. Kept to reproduce the
authors; configs/celeba.py is the recipe that trains (docs/gan_health.md has
what these settings measure here).

Command:
  python train.py --config celeba_authors --workdir runs/celeba_authors

Runtime: not measured.

Result: never trained on CelebA. On digits its discriminator was skipped on 83-97% of
  steps (docs/notes/2026-11-23-vaegan-diagnosis.md).
"""

from vaegan_jax.configs import celeba
from vaegan_jax import recipes


def get_config():
  c = celeba.get_config()
  c.kernel_size = 5  # the authors' networks
  c.ema_decay = 0.0  # their code samples the trained weights
  recipes.apply(c, 'vaegan', fields=recipes.VAEGAN_AUTHORS)
  c.num_train_steps = 250 * 250
  return c
