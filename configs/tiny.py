"""Tiny VAE-GAN on the digits for tests and smoke runs: widths of 8, a few steps.

Command:
  python train.py --config tiny --workdir /tmp/tiny

Runtime: not measured as a run (the tests train it for a step or two).

Result: none expected: 4 steps check that the code runs, not what it learns.
"""

from vaegan_jax.configs import default


def get_config():
  c = default.get_config()
  c.latent_dim = 8
  c.enc_widths = (8, 8)
  c.enc_dense = 16
  c.dec_dense_channels = 8
  c.dec_widths = (8, 8)
  c.dis_widths = (8, 8, 8)
  c.dis_dense = 16
  c.batch_size = 8
  c.num_train_steps = 4
  c.log_every = 2
  c.image_every = 0
  c.checkpoint_every = 2
  c.num_images = 4
  # One pass per step (the recipe's discriminator-first update doubles the compile time
  # of every test that trains); tests of the recipe's step set critic_steps=1 themselves.
  c.critic_steps = 0
  return c
