"""VAE-GAN on a folder of colour images at 32x32x3, sized for a CPU.

  python train.py --config configs/colour.py --config.data_path=DIR

2,000 steps take about 15 minutes on 2 CPU cores. Each setting and the measurement that
chose it (5,000 32x32 patches of eight photographs, `compare`'s classifier FD; the tables
are in docs/colour.md):
- the recipe of configs/default.py, whose pixel term is scaled per element
  (pixel_llike_scale='features': weight 1 here, 3 on grey digits): FD of prior samples
  1.15 -> 0.70 against the summed weight 3, which left them smooth;
- kernel 4: the stride-2 transposed convs of kernel 5 overlap unevenly and print a
  checkerboard (Odena et al., Distill 2016); kernel 4 took the DCGAN's FD (without R1)
  from 2.27 to 1.24 and the VAE-GAN's from 1.80 to 1.15 on the same data;
- auto_sampler='prior': the VAE-GAN's prior samples against its codes' mixture's,
  FD 1.22 +- 0.71 against 3.33 +- 1.37 (3 seeds, lower on each; the mixture draws where
  the reconstruction terms make the decoder blur);
- the digit widths and latent size 16: latent 128 gave lower reconstruction error
  (0.042 against 0.053) but worse prior samples (2.01 against 1.15, seed 0, weight 3);
- decoder_gan_weight=2 (the multiplier of the adaptive GAN weight; 1 on grey digits):
  FD of the averaged VAE-GAN's prior samples 0.47 +- 0.05 against 0.72 +- 0.08 with 1
  (3 seeds; the averaged DCGAN's 0.60 +- 0.15), 0.38 against 1.13 on three other
  photographs (4 gave 0.68); reconstructions 4-7% worse in pixels (docs/colour.md section 7);
- ema_decay=0.999, samples from the averaged weights with their own BatchNorm
  statistics: FD of the VAE-GAN's prior samples 0.72 +- 0.08 against 0.99 +- 0.43 for
  the raw weights, the DCGAN's 0.60 +- 0.15 against 1.19 +- 0.25 (3 seeds, the
  statistics recomputed after training as docs/colour.md section 6 describes).
"""

from vaegan_jax.configs import default


def get_config():
  c = default.get_config()
  c.dataset = 'folder'
  c.image_size = 32
  c.channels = 3
  c.crop = 'center_square'
  c.random_flip = True
  c.kernel_size = 4
  c.auto_sampler = 'prior'
  c.decoder_gan_weight = 2.0
  c.ema_decay = 0.999
  c.num_train_steps = 2000
  c.image_every = 500
  return c
