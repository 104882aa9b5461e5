"""Plain VAE on the embedded digits: encoder + decoder, Bernoulli pixels + KL (SPEC 9).

Same networks, optimizer and budget as the VAE-GAN default, so the two differ only in
the reconstruction loss and the discriminator. `model_fields` is shared with
configs/vae_celeba.py.
"""

from configs import default


def model_fields(c):
  c.model = 'vae'
  c.use_equilibrium = False
  c.pixel_likelihood = 'bernoulli'  # or 'gaussian' with --config.pixel_sigma
  return c


def get_config():
  return model_fields(default.get_config())
