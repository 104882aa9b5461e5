"""VAE-GAN on tfds `mnist`, 28x28x1 (two stride-2 stages: 7 -> 14 -> 28).

Command:
  python train.py --config mnist

Runtime: not measured.

Result: never trained. The real-MNIST numbers of docs/results.md are compare's, on a
  5,000-digit subset for 2,000 steps, with configs/default.py's networks at 28x28.
"""

from vaegan_jax.configs import default


def get_config():
  c = default.get_config()
  c.dataset = 'mnist'
  c.image_size = 28
  c.channels = 1
  c.crop = 'none'
  c.num_train_steps = 20000
  c.image_every = 1000
  c.checkpoint_every = 2000
  return c
