"""VAE-GAN on CelebA 64x64 as the paper writes it (sections 2-4), not the authors' code.

Encoder dense 2048 (the authors' code: 1024) and vaegan_jax/recipes.py's VAEGAN_PAPER:
the decoder minimises gamma * L_llike - L_GAN (saturating, gamma = 1e-6 as the authors'
code; the paper does not publish it), x_rec discriminated as fake, no equilibrium rule,
RMSProp 3e-4. Kept to reproduce the paper; configs/celeba.py is the recipe that trains.

Command:
  python train.py --config celeba_paper --workdir runs/celeba_paper

Runtime: not measured as a run. The step: 7.06 s on a 2-core CPU with a matmul peak of
  405-420 GFLOP/s beside another job (python -m vaegan_jax.benchmark --config
  configs/celeba_paper.py --steps 3 --warmup 1; docs/notes/2026-11-22-cpu-step-times.md).

Result: never trained.
"""

from vaegan_jax.configs import celeba
from vaegan_jax import recipes


def get_config():
  c = celeba.get_config()
  c.kernel_size = 5  # the authors' networks
  c.ema_decay = 0.0  # samples from the trained weights, as published
  c.enc_dense = 2048
  recipes.apply(c, 'vaegan', fields=recipes.VAEGAN_PAPER)
  return c
