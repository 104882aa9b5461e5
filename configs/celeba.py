"""VAE-GAN on CelebA 64x64: the authors' data and networks (their celeba_aegan.py).

Reads tfds `celeb_a`. With img_align_celeba.zip (or its folder) on disk instead:
  --config.dataset=folder --config.data_path=PATH/img_align_celeba.zip
The training recipe is configs/default.py's (vaegan_jax/recipes.py VAEGAN), with 4x4
kernels instead of the authors' 5x5 (below). The authors' exact settings are
configs/celeba_authors.py, the paper's configs/celeba_paper.py (both 5x5).

Command:
  python train.py --config celeba --workdir runs/celeba

Runtime: not measured as a run (62,500 steps need an accelerator; no accelerator has
  timed it). The step: 13.90 s on a 2-core CPU with a matmul peak of about 134 GFLOP/s
  (python -m vaegan_jax.benchmark --config configs/celeba.py --steps 3 --warmup 1;
  docs/performance.md).

Result: never trained (nothing has been trained on faces).
"""

from vaegan_jax.configs import default


def get_config():
  c = default.get_config()
  c.dataset = 'celeb_a'
  c.image_size = 64
  c.channels = 3
  c.crop = 'celeba'  # rows 40:188, cols 15:163, blur, resize (authors' celeba.py)
  c.random_flip = True

  # Kernel 4 (the authors': 5): stride-2 transposed convs whose kernel the stride does
  # not divide print a checkerboard (Odena et al., Distill 2016); on 32x32 colour patches
  # kernel 4 took the DCGAN's FD from 2.27 to 1.24 and the VAE-GAN's from 1.80 to 1.15
  # (docs/colour.md). The pixel term's weight is the recipe's per element (1 here).
  c.kernel_size = 4
  # The GAN term's multiplier on colour, measured on 32x32 patches (configs/colour.py,
  # docs/colour.md); not measured on faces.
  c.decoder_gan_weight = 2.0
  # Samples from a moving average of the weights (with its own BatchNorm statistics):
  # lower FD for the VAE-GAN and the DCGAN on 32x32 colour patches (configs/colour.py,
  # docs/colour.md); not measured on faces. sample.py --no_ema gives the raw weights.
  c.ema_decay = 0.999
  c.latent_dim = 128
  c.enc_widths = (64, 128, 256)
  c.enc_dense = 1024  # Authors' code; the paper says 2048.
  c.dec_dense_channels = 256
  c.dec_widths = (256, 128, 32)
  c.dis_widths = (32, 128, 256, 256)
  c.dis_strides = (1, 2, 2, 2)
  c.dis_dense = 512
  c.dis_feature_layer = 4

  c.num_train_steps = 250 * 250  # The authors' 250 epochs of 250 batches.
  c.log_every = 50
  c.image_every = 1000
  c.checkpoint_every = 2000
  c.eval_features = 'inception'  # RGB: pytorch-fid's features (--config.eval_every)
  return c
