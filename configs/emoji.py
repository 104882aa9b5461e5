"""VAE-GAN on the emoji of scripts/make_emoji.py: 64x64 colour images with attributes.

Data (Noto emoji, Apache-2.0, and Twemoji, CC-BY 4.0, from the npm packages
emoji-datasource-google and emoji-datasource-twitter; docs/data.md):
  npm pack emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0
  python scripts/make_emoji.py --out data/emoji --size 64

Command:
  python train.py --config emoji                          # 64x64: an accelerator
  python train.py --config emoji --config.image_size=32   # the CPU size

Runtime: at 32x32 the step takes 0.765 s on both cores of a quiet 2-core CPU (matmul
  peak 131 GFLOP/s; python -m vaegan_jax.benchmark --config emoji
  --config.image_size=32 --steps 3 --warmup 1): 2,000 steps in about 26 minutes. 64x64
  is not timed.

Result, at 32x32, seed 0 (docs/emoji.md):
  python -m vaegan_jax.compare --data folder --data_path data/emoji --image_size 32 \
      --channels 3 --config emoji --models vae,dcgan,vaegan --seeds 1
  FD of the default samples (the codes' mixture) 1.24 against the DCGAN's 1.11 and the
  VAE's 2.97 (real images 0.741), in compare's classifier features: the DCGAN wins on
  FD; no model draws faces with eyes and mouths yet. Reconstructions: FD 0.328 against
  the VAE's 1.96, pixel MSE 0.0545 against 0.0524. Attribute vectors (paper 4.1) on
  the people: Dark_Skin's predicted probability 0.06 -> 0.63 at scale 2, the other
  attributes' moving 0.09 at most (python -m vaegan_jax.attributes --workdir W
  --attribute Dark_Skin --among People --scales=0,0.5,1,1.5,2 --measure). 64x64 never
  trained.

What it sets on top of configs/colour.py (the measurements: docs/emoji.md):
- crop='none', random_flip=False: square, centred renderings; a mirrored flag is another
  image;
- latent_dim=64: 16 numbers are too few for these images (pixel error 0.0848 -> 0.0545);
- gan_include_recon=True (the paper's): the reconstructions are discriminated too, the
  closest to the real images of any model here;
- auto_sampler='gmm': the codes' mixture (FD 1.24, the prior's samples 2.64).
"""

from vaegan_jax.configs import colour


def get_config():
  c = colour.get_config()
  c.data_path = 'data/emoji'
  c.image_size = 64
  c.crop = 'none'  # the renderings are square and centred
  c.random_flip = False  # a mirrored flag or sign is another image
  c.latent_dim = 64
  c.gan_include_recon = True
  c.auto_sampler = 'gmm'
  return c
