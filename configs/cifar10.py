"""VAE-GAN on tfds `cifar10`, 32x32x3, the CelebA widths with one stage less.

Command:
  python train.py --config cifar10

Runtime: not measured.

Result: never trained. Its colour settings (kernel 4, decoder_gan_weight=2,
  ema_decay=0.999) are those measured on 32x32 photograph patches (docs/colour.md).
"""

from vaegan_jax.configs import default


def get_config():
  c = default.get_config()
  c.dataset = 'cifar10'
  c.image_size = 32
  c.channels = 3
  c.crop = 'none'
  c.random_flip = True
  c.kernel_size = 4  # no checkerboard (configs/celeba.py, docs/colour.md)
  c.decoder_gan_weight = 2.0  # GAN term x2 on colour (configs/colour.py, docs/colour.md)
  c.ema_decay = 0.999  # samples from averaged weights (configs/colour.py, docs/colour.md)
  # The recipe's per-element pixel weight comes to 0.75 x 8x8x256 / 32x32x3 = 4 with this
  # wider discriminator (1 with the digit widths of configs/colour.py); not measured.
  c.latent_dim = 128
  c.enc_widths = (64, 128, 256)
  c.enc_dense = 1024
  c.dec_dense_channels = 256
  c.dec_widths = (256, 128)
  c.dis_widths = (32, 128, 256)
  c.dis_strides = (1, 2, 2)
  c.dis_dense = 512
  c.num_train_steps = 50000
  c.image_every = 1000
  c.checkpoint_every = 2000
  c.eval_features = 'inception'  # RGB: pytorch-fid's features (--config.eval_every)
  return c
