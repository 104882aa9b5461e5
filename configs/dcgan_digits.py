"""DCGAN on the embedded digits: the decoder as generator vs. the image discriminator.

Radford et al. (2016): Adam 2e-4 with beta1 0.5, N(0, 0.02) initialisation, leaky
ReLU 0.2 in the discriminator, real and generated batches normalised separately, the
non-saturating generator loss, one discriminator update before each generator update
(critic_steps=1: the reference's alternation), and the R1 penalty of Mescheder et al.
(2018) with gamma 10 (dis_r1_weight): without it this generator collapsed on colour
photographs and onto 5 of the 10 digits (docs/notes/2026-12-01-dcgan-collapse-r1.md).
The values are vaegan_jax/recipes.py's 'dcgan' recipe, shared with
configs/dcgan_celeba.py.

Command:
  python train.py --config dcgan_digits

Runtime: not measured with R1. Without it the step was 0.030 s on an earlier 2-core CPU
  (python -m vaegan_jax.benchmark --config configs/dcgan_digits.py; docs/performance.md).

Result (compare, 2,000 steps):
  python -m vaegan_jax.compare --image_size 16 --models dcgan --seeds 3
  FD of prior samples 0.503 +- 0.241, all ten classes (docs/results.md).
"""

from vaegan_jax.configs import default
from vaegan_jax import recipes


def get_config():
  c = default.get_config()
  recipes.apply(c, 'dcgan')
  return c
