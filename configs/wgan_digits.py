"""WGAN on the embedded digits: a critic without sigmoid, weight clipping (Arjovsky et al. 2017).

Arjovsky et al.: RMSProp 5e-5 (PyTorch's default decay 0.99, as in the
reference code), weights clipped to [-0.01, 0.01] after every critic update, 5 critic
updates per generator update inside the jitted step (a step reads 5 batches), DCGAN's
initialisation and leaky ReLUs. num_train_steps counts generator updates. The values
are vaegan_jax/recipes.py's 'wgan' recipe, shared with configs/wgan_celeba.py.

Command:
  python train.py --config wgan_digits

Runtime: not measured as a run. The step (5 critic updates, 1 generator update): 0.086 s
  on an earlier 2-core CPU (python -m vaegan_jax.benchmark --config
  configs/wgan_digits.py; docs/performance.md).

Result: not measured (no comparison has trained the WGAN).
"""

from vaegan_jax.configs import default
from vaegan_jax import recipes


def get_config():
  c = default.get_config()
  recipes.apply(c, 'wgan')
  return c
