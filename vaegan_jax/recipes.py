"""Each model's training recipe: the config fields that belong to the model, not the data.

A recipe is what makes a model train well on any data set: its optimizer and learning
rate, how its discriminator is normalised and initialised, how its adversarial terms
are balanced. The networks' shapes and the data are not part of it. The family's
configs are `configs/default.py` (VAE-GAN) and `configs/<model>_<data>.py`, each the
data's config with `apply(config, model)`; `tests/test_configs.py` checks that every
shipped config agrees with its model's recipe.

`--config.model=X` on the command line of train.py or the benchmark switches recipes
too: the fields of X's recipe replace the config file's, except the fields also given
on the command line, and one line lists what changed (docs/configs.md, "Switching models").
"""

from __future__ import annotations

# The VAE-GAN recipe that works (docs/gan_health.md links the measurement behind each
# field; the diagnosis: docs/notes/2026-11-23-vaegan-diagnosis.md).
# Each departure from the authors' code is a published mechanism:
#   dis_batch_norm='per_source', Adam 2e-4 beta1 0.5, init 'dcgan', leaky ReLU 0.2 and one
#     discriminator update before the others (critic_steps=1): DCGAN (Radford et al. 2016).
#     Joint BatchNorm over [x; x_rec; x_p] lets the discriminator tell the sources apart
#     by their batch statistics; the equilibrium rule then froze it for good.
#   decoder_gan_balance='adaptive': the GAN term's weight is |grad L_llike| / |grad L_gen|
#     at the decoder's output (VQGAN, Esser et al. 2021), so neither term drowns the other.
#   pixel_llike_weight: a pixel term beside L_llike (CVAE-GAN, Bao et al. 2017; VQGAN's
#     L1 term), so reconstructions stay as faithful as the VAE's: weight 3 matches the
#     VAE's MSE on real MNIST on 3 of 3 seeds (weight 1 trailed it by 4-9%).
#   pixel_llike_scale='features': that weight per element, times |Dis_l| / |x|, so it keeps
#     its meaning at any image size and channel count: 0.75 * 4 = 3 on grey digits (the
#     measured weight, unchanged), 0.75 * 4/3 = 1 on 32x32 and 64x64 colour, where the
#     summed weight 3 left prior samples smoother (FD 1.15 against 0.70,
#     docs/notes/2026-12-01-colour-pixel-weight.md).
#   use_equilibrium=False: with the above the discriminator never runs away.
VAEGAN = dict(
    optimizer='adam', learning_rate=2e-4, adam_b1=0.5, adam_b2=0.999,
    rmsprop_decay=0.9, lr_schedule='constant', lr_end_factor=0.0, weight_decay=0.0,
    init='dcgan', dis_leak=0.2, dis_batch_norm='per_source', critic_steps=1,
    dis_weight_clip=0.0, prior_scale=1.0, use_equilibrium=False, equilibrium=0.68,
    margin=0.35, gan_generator_loss='non_saturating', decoder_gan_balance='adaptive',
    decoder_llike_weight=1.0, pixel_llike_weight=0.75,
    pixel_llike_scale='features', pixel_likelihood='bernoulli',
    gan_real_weight=1.0, gan_fake_weight=1.0, prior_weight=1.0, dis_r1_weight=0.0,
)
# Not in the recipe: decoder_gan_weight, the multiplier of the adaptive GAN weight, is
# the data config's (like the networks): 1 on grey digits (configs/default.py; 2 was
# worse on real MNIST, FD 0.475 against 0.342), 2 on colour photographs
# (configs/colour.py, celeba.py, cifar10.py; docs/notes/2026-12-02-colour-gan-weight.md).
# The published recipes below set it with decoder_llike_weight, as their papers and code
# do. Nor is gan_include_recon, whether the reconstructions are discriminated as fake
# too: the data config's, False (the authors' code) in configs/default.py and the configs
# built on it, True (the paper's) in configs/emoji.py, so `compare --config emoji` trains
# the VAE-GAN that `train.py --config emoji` trains.

# The authors' celeba_aegan.py (andersbll/autoencoding_beyond_pixels): decoder w * L_llike + (1 - w) * GAN with
# w = 1e-6, the discriminator sees real images and prior samples only, real/generated
# weighted 1/2, the equilibrium rule (margin 0.35 around 0.68), RMSProp with weight decay
# 1e-5 and the learning rate decayed linearly to 0. configs/celeba_authors.py.
VAEGAN_AUTHORS = dict(
    optimizer='rmsprop', learning_rate=3e-4, adam_b1=0.9, adam_b2=0.999,
    rmsprop_decay=0.9, lr_schedule='linear', lr_end_factor=0.0, weight_decay=1e-5,
    init='default', dis_leak=0.0, dis_batch_norm='joint', critic_steps=0,
    dis_weight_clip=0.0, prior_scale=1.0, use_equilibrium=True, equilibrium=0.68,
    margin=0.35, gan_generator_loss='non_saturating', decoder_gan_balance='fixed',
    decoder_llike_weight=1e-6, decoder_gan_weight=1.0 - 1e-6, pixel_llike_weight=0.0,
    pixel_llike_scale='none', pixel_likelihood='bernoulli', gan_include_recon=False,
    gan_real_weight=0.5, gan_fake_weight=0.5, prior_weight=1.0, dis_r1_weight=0.0,
)

# The paper as written (sections 2-3 and 4): Dec minimises gamma * L_llike - L_GAN (saturating),
# x_rec discriminated as fake, no equilibrium rule, RMSProp 3e-4 constant. gamma is not
# published; 1e-6 as the authors' code. configs/celeba_paper.py.
VAEGAN_PAPER = dict(
    optimizer='rmsprop', learning_rate=3e-4, adam_b1=0.9, adam_b2=0.999,
    rmsprop_decay=0.9, lr_schedule='constant', lr_end_factor=0.0, weight_decay=0.0,
    init='default', dis_leak=0.0, dis_batch_norm='joint', critic_steps=0,
    dis_weight_clip=0.0, prior_scale=1.0, use_equilibrium=False, equilibrium=0.68,
    margin=0.35, gan_generator_loss='saturating', decoder_gan_balance='fixed',
    decoder_llike_weight=1e-6, decoder_gan_weight=1.0, pixel_llike_weight=0.0,
    pixel_llike_scale='none', pixel_likelihood='bernoulli', gan_include_recon=True,
    gan_real_weight=1.0, gan_fake_weight=1.0, prior_weight=1.0, dis_r1_weight=0.0,
)

# The VAE-GAN default until this recipe (configs/default.py before it): the paper's
# weights 1 and 1, x_rec discriminated as fake, joint BatchNorm, the equilibrium rule,
# RMSProp 3e-4. Its discriminator froze after ~20 updates
# (docs/notes/2026-11-23-vaegan-diagnosis.md). A run saved without one of these fields
# was trained with its value here.
VAEGAN_BEFORE = dict(
    optimizer='rmsprop', learning_rate=3e-4, adam_b1=0.9, adam_b2=0.999,
    rmsprop_decay=0.9, lr_schedule='constant', lr_end_factor=0.0, weight_decay=0.0,
    init='default', dis_leak=0.0, dis_batch_norm='joint', critic_steps=0,
    dis_weight_clip=0.0, prior_scale=1.0, use_equilibrium=True, equilibrium=0.68,
    margin=0.35, gan_generator_loss='non_saturating', decoder_gan_balance='fixed',
    decoder_llike_weight=1.0, decoder_gan_weight=1.0, pixel_llike_weight=0.0,
    pixel_llike_scale='none', pixel_likelihood='bernoulli', gan_include_recon=True,
    gan_real_weight=1.0, gan_fake_weight=1.0, prior_weight=1.0, dis_r1_weight=0.0,
)

RECIPES = {
    'vaegan': VAEGAN,
    # Kingma & Welling: Bernoulli pixels + KL; the VAE-GAN's optimizer, so the two
    # differ only in the reconstruction loss and the discriminator.
    'vae': dict(
        optimizer='rmsprop', learning_rate=3e-4, adam_b1=0.9, adam_b2=0.999,
        rmsprop_decay=0.9, lr_schedule='constant', weight_decay=0.0, init='default',
        prior_scale=1.0, use_equilibrium=False, critic_steps=0, dis_weight_clip=0.0,
        pixel_likelihood='bernoulli', prior_weight=1.0, dis_r1_weight=0.0),
    # Radford et al. (2016): Adam 2e-4, beta1 0.5, N(0, 0.02) initialisation, leaky
    # ReLU 0.2, real and generated batches normalised apart, the non-saturating
    # generator loss, one discriminator update before each generator update; and the R1
    # penalty (Mescheder et al. 2018, gamma 10, their value): without it the generator
    # collapsed on colour photographs (every sample one saturated pattern, on 3 of 3
    # runs on patches of three photographs; docs/notes/2026-12-01-dcgan-collapse-r1.md).
    'dcgan': dict(
        optimizer='adam', learning_rate=2e-4, adam_b1=0.5, adam_b2=0.999,
        lr_schedule='constant', weight_decay=0.0, init='dcgan', dis_leak=0.2,
        dis_batch_norm='per_source', critic_steps=1, dis_weight_clip=0.0,
        prior_scale=1.0, use_equilibrium=False, gan_generator_loss='non_saturating',
        dis_r1_weight=10.0),
    # Arjovsky et al. (2017): RMSProp 5e-5 (PyTorch's decay 0.99), weights clipped
    # to [-0.01, 0.01], 5 critic updates per generator update; DCGAN's networks.
    'wgan': dict(
        optimizer='rmsprop', learning_rate=5e-5, rmsprop_decay=0.99,
        lr_schedule='constant', weight_decay=0.0, init='dcgan', dis_leak=0.2,
        dis_batch_norm='per_source', critic_steps=5, dis_weight_clip=0.01,
        prior_scale=1.0, use_equilibrium=False, dis_r1_weight=0.0),
    # Makhzani et al. (2016): deterministic encoder, Bernoulli pixels, an MLP
    # discriminator on codes against z_p ~ N(0, 5^2 I); the VAE-GAN's optimizer.
    'aae': dict(
        optimizer='rmsprop', learning_rate=3e-4, adam_b1=0.9, adam_b2=0.999,
        rmsprop_decay=0.9, lr_schedule='constant', weight_decay=0.0, init='default',
        dis_leak=0.2, critic_steps=0, dis_weight_clip=0.0, prior_scale=5.0,
        use_equilibrium=False, gan_generator_loss='non_saturating',
        pixel_likelihood='bernoulli', aae_adversarial_weight=1.0, dis_r1_weight=0.0),
}


def recipe(model: str) -> dict:
  """The recipe of `model` (a copy), {config field: value}."""
  if model not in RECIPES:
    raise ValueError(f'no recipe for model {model!r}; models: {", ".join(sorted(RECIPES))}')
  return dict(RECIPES[model])


def switch(config, model: str, keep=()) -> dict:
  """Switches `config` to `model` as `--config.model=X` does in every command and
  `vaegan_jax.get_config(model=X)` in the API: config.model = model and, for a model
  with a recipe, the recipe's fields except those in `keep` (the ones the user also
  set). An unknown name is only set (validation reports it). Returns {field: (old,
  new)} of the recipe's fields that changed, without 'model'."""
  if model not in RECIPES:
    config.model = model
    return {}
  changed = apply(config, model, keep=set(keep) - {'model'})
  changed.pop('model', None)
  return changed


def apply(config, model: str, keep=(), fields: dict | None = None) -> dict:
  """Sets config.model = model and the fields of its recipe, except those in `keep`.

  Args:
    config: a ConfigDict with every field of the recipe (configs/default.py has all).
    model: a key of RECIPES.
    keep: field names left as they are (the ones a user set on the command line).
    fields: another recipe for the model instead of RECIPES[model] (VAEGAN_AUTHORS).
  Returns:
    {field: (old value, new value)} of the fields that changed, model included.
  """
  changed = {}
  values = dict(fields) if fields is not None else recipe(model)
  for name, value in {'model': model, **values}.items():
    if name in keep or (name == 'model' and 'model' in keep):
      continue
    old = config[name]
    if old != value or type(old) is not type(value):
      config[name] = value
      changed[name] = (old, value)
  return changed
