"""WGAN on the embedded digits: a critic without sigmoid, weight clipping (SPEC 9).

Arjovsky et al. / seed 004: RMSProp 5e-5 (PyTorch's default decay 0.99, as in the
reference code), weights clipped to [-0.01, 0.01] after every critic update, 5 critic
updates per generator update inside the jitted step (a step reads 5 batches), DCGAN's
initialisation and leaky ReLUs. num_train_steps counts generator updates.
`model_fields` is shared with configs/wgan_celeba.py.
"""

from configs import default


def model_fields(c):
  c.model = 'wgan'
  c.use_equilibrium = False
  c.init = 'dcgan'
  c.dis_leak = 0.2
  c.dis_batch_norm = 'per_source'
  c.critic_steps = 5
  c.dis_weight_clip = 0.01
  c.optimizer = 'rmsprop'
  c.learning_rate = 5e-5
  c.rmsprop_decay = 0.99
  c.lr_schedule = 'constant'
  c.weight_decay = 0.0
  return c


def get_config():
  return model_fields(default.get_config())
