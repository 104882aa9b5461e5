"""VAE-GAN on a folder of colour images at 32x32x3, sized for a CPU.

Command:
  python train.py --config colour --config.data_path=DIR

Runtime: 2,000 steps took 1,760 s on both cores of a 2-core CPU (the same networks with
  decoder_gan_weight=3, the same cost per step) and 3,322 s on one core beside another
  run, both before commit 213f472 cut the step from 1.05 s to 0.82 s under the same load
  (python -m vaegan_jax.benchmark --config colour --steps 5; docs/colour.md).

Result, on 5,000 32x32 patches of eight photographs (python scripts/make_patches.py
  --out data/p32 --size 32), seed 0:
  python -m vaegan_jax.compare --data folder --data_path data/p32 --channels 3 \
      --image_size 32 --config colour --models vae,dcgan,vaegan --seeds 1
  FD of the VAE-GAN's default (prior) samples 0.456 against the DCGAN's 0.621 and the
  VAE's 1.99 (real patches 0.304), in compare's classifier features; recon MSE 0.0575
  against the VAE's 0.0503. The VAE-GAN alone on seeds 0, 1, 2: 0.56, 0.46, 0.38. On
  patches of three other photographs the DCGAN wins (docs/results.md, docs/colour.md).

What it sets on top of configs/default.py (the measurement behind each: docs/colour.md):
- kernel_size=4: no checkerboard from the stride-2 transposed convs (Odena et al. 2016);
- auto_sampler='prior': the VAE-GAN's prior samples, not its codes' mixture's, which are
  blurred on these images;
- decoder_gan_weight=2: the multiplier of the adaptive GAN weight (1 on grey digits);
- ema_decay=0.999: samples from averaged weights, with their own BatchNorm statistics;
- the recipe's per-element pixel weight (pixel_llike_scale='features') comes to 1 here.
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
