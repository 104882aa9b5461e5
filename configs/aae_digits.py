"""Adversarial autoencoder on the embedded digits (Makhzani et al., seed 003, SPEC 9).

A deterministic encoder, Bernoulli pixel reconstruction, and an MLP discriminator on
codes telling prior samples z_p ~ N(0, prior_scale^2 I) from codes; the encoder is also
that discriminator's generator. Same conv networks and optimizer as the VAE-GAN
default. `model_fields` is shared with configs/aae_celeba.py.
"""

from configs import default


def model_fields(c):
  c.model = 'aae'
  c.use_equilibrium = False
  c.pixel_likelihood = 'bernoulli'
  c.prior_scale = 5.0  # SPEC 9's example N(0, 5^2 I)
  c.gan_generator_loss = 'non_saturating'
  c.aae_adversarial_weight = 1.0
  c.dis_leak = 0.2
  return c


def get_config():
  return model_fields(default.get_config())
