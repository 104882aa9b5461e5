"""DCGAN on the embedded digits: the decoder as generator vs. the image discriminator.

Seed 004 / Radford et al.: Adam 2e-4 with beta1 0.5, N(0, 0.02) initialisation, leaky
ReLU 0.2 in the discriminator, real and generated batches normalised separately, the
non-saturating generator loss, and one discriminator update before each generator
update (critic_steps=1: the reference's alternation). `model_fields` is shared with
configs/dcgan_celeba.py.
"""

from configs import default


def model_fields(c):
  c.model = 'dcgan'
  c.use_equilibrium = False
  c.gan_generator_loss = 'non_saturating'
  c.init = 'dcgan'
  c.dis_leak = 0.2
  c.dis_batch_norm = 'per_source'
  c.critic_steps = 1
  c.optimizer = 'adam'
  c.learning_rate = 2e-4
  c.adam_b1 = 0.5
  c.adam_b2 = 0.999
  c.lr_schedule = 'constant'
  c.weight_decay = 0.0
  return c


def get_config():
  return model_fields(default.get_config())
