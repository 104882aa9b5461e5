"""VAE-GAN on CelebA 64x64 as the paper writes it (SPEC 2-6), not the authors' code."""

from configs import celeba


def get_config():
  c = celeba.get_config()
  c.enc_dense = 2048
  c.decoder_llike_weight = 1e-6  # gamma; the paper does not publish its value.
  c.decoder_gan_weight = 1.0
  c.gan_generator_loss = 'saturating'  # Dec minimises gamma * L_llike - L_GAN.
  c.gan_include_recon = True
  c.gan_real_weight = 1.0
  c.gan_fake_weight = 1.0
  c.use_equilibrium = False
  c.lr_schedule = 'constant'
  c.weight_decay = 0.0
  return c
