"""One pure function per model: (params, batch_stats, batch, key) -> losses per role.

An objective returns `(losses, aux)`: `losses` maps each role that owns parameters to the
scalar that role minimises; `aux` holds `batch_stats` (new running statistics, one forward
pass per step), `metrics` (scalars to log) and optionally `update` (a bool per role, False
to skip that role's update this step). The train step differentiates `losses[role]` with
respect to `params[role]` only, so who-learns-from-what is decided here, in one place.

Roles: 'encoder', 'decoder' (also the GANs' generator) and 'discriminator' (also WGAN's
critic and the adversarial autoencoder's discriminator on codes). `MODELS` registers each
objective with the networks it needs; a new model is one function here, one line in
MODELS and one config file.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from vaegan_jax import augment
from vaegan_jax import losses as L
from vaegan_jax import networks


def pixel_weight(config, image_shape, feature_shape) -> float:
  """The weight of the VAE-GAN's pixel term, a Python float fixed by the shapes.

  pixel_llike_scale='none': pixel_llike_weight as given. 'features': pixel_llike_weight
  times |Dis_l| / |x|, the elements per example of the feature term over those of the
  pixel term. Both terms are sums over their elements, so a fixed weight means a
  different balance at every image size, channel count and discriminator width (at 16x16
  and 28x28 grey |Dis_l| / |x| = 4, at 32x32 and 64x64 colour with the same stage widths
  4/3); scaled, the weight is per element of each term and keeps its meaning. Old runs
  saved without the field were trained with 'none'.
  """
  w = float(config.pixel_llike_weight)
  scale = config.get('pixel_llike_scale', 'none')
  if scale == 'none' or not w:
    return w
  if scale != 'features':
    raise ValueError(f"unknown pixel_llike_scale {scale!r}; use 'features' or 'none'")
  n_features = math.prod(feature_shape[1:])
  n_pixels = math.prod(image_shape[1:])
  return w * n_features / n_pixels


def per_example_normal(key: jax.Array, shape, axis_name: str | None = None) -> jax.Array:
  """Standard normal [B, ...] where example i's draw depends only on (key, global i).

  Inside pmap the global index is axis_index * B + i, so every device draws different
  noise and n devices draw exactly what one device draws for the same global batch.
  """
  offset = jax.lax.axis_index(axis_name) * shape[0] if axis_name else 0
  idx = offset + jnp.arange(shape[0])
  return jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(key, i), shape[1:]))(idx)


def prior_sample(key: jax.Array, shape, config, axis_name: str | None = None):
  """z_p ~ N(0, prior_scale^2 I), per example as in `per_example_normal`."""
  return config.prior_scale * per_example_normal(key, shape, axis_name)


AUGMENT_SALT = 0x5A17  # fold_in(step key, salt): the augmentation's key (no other draw moves)


def augmenter(key: jax.Array, config, b: int, size: int, axis_name: str | None = None):
  """(real, generated) -> what the discriminator sees of each (config.dis_augment;
  vaegan_jax/augment.py): `aug(x, 0)` transforms x with the real images' draws,
  `aug(x, 1)` with the generated ones'. Two batches given the same index get the same
  transformation per row (the VAE-GAN's x and x_rec); identity when the field is ''."""
  policies = augment.parse(config.get('dis_augment', ''))
  if not policies:
    return lambda x, which: x
  k = jax.random.fold_in(key, AUGMENT_SALT)
  draws = [augment.draw(jax.random.fold_in(k, i), b, size, axis_name) for i in (0, 1)]
  return lambda x, which: augment.apply(x, draws[which], policies)


def _mean(x: jax.Array, axis_name: str | None) -> jax.Array:
  """x averaged over devices (identity outside pmap)."""
  return jax.lax.pmean(x, axis_name) if axis_name else x


def _discriminate(module, params, batch_stats, groups, train, mode, ys=None):
  """The discriminator on several groups of images: its outputs (logits, features and,
  with the auxiliary head, its logits) concatenated over the groups.

  mode 'joint': one call on the concatenation, BatchNorm statistics over all groups.
  mode 'per_source': one call per group (real, reconstructed, sampled), each normalised
  with its own batch statistics (as DCGAN does for real and fake batches); the running
  averages are updated once, with the mean of the groups' statistics. mode 'none': a
  discriminator without BatchNorm (one call). `ys`: the labels
  of each group for a conditional discriminator (None otherwise).
  """
  ys = [None] * len(groups) if ys is None else ys
  kw = lambda y: {} if y is None else {'y': y}
  if mode in ('joint', 'none') or not train:  # 'none': no batch statistics to keep apart
    y = None if ys[0] is None else jnp.concatenate(ys)
    return networks.apply(module, params, batch_stats, jnp.concatenate(groups), train,
                          **kw(y))
  if mode != 'per_source':
    raise ValueError(f"unknown dis_batch_norm {mode!r}; use 'joint', 'per_source' or "
                     "'none'")
  outs, stats = zip(*(networks.apply(module, params, batch_stats, g, train, **kw(y))
                      for g, y in zip(groups, ys)))
  out = tuple(jnp.concatenate(t) for t in zip(*outs))
  mean_stats = jax.tree.map(lambda *s: sum(s) / len(s), *stats)
  return out, mean_stats


def r1_penalty(module, params, batch_stats, x, train, y=None):
  """R1 (Mescheder, Geiger, Nowozin 2018): 1/2 E ||grad_x logit(x)||^2 on real images x.

  The discriminator is applied to x alone (with per_source BatchNorm exactly the real
  group's pass; with 'joint' the statistics are the real images' only). Differentiating
  this w.r.t. the discriminator's parameters is a second-order gradient (a double
  backward pass through the discriminator).
  """
  def total_logit(x):
    (logits, *_), _ = networks.apply(module, params, batch_stats, x, train,
                                     **({} if y is None else {'y': y}))
    return logits.sum()
  g = jax.grad(total_logit)(x)
  return 0.5 * jnp.sum(jnp.square(g), axis=tuple(range(1, g.ndim))).mean()


def _with_r1(l_dis, params, batch_stats, x, nets, config, train, y=None):
  """(l_dis + gamma * R1, metrics) with gamma = config.dis_r1_weight: metrics is
  {'loss/r1': R1}, or {} (and l_dis unchanged) when gamma is 0."""
  gamma = config.get('dis_r1_weight', 0.0)
  if not gamma:
    return l_dis, {}
  r1 = r1_penalty(nets.discriminator, params['discriminator'],
                  batch_stats['discriminator'], x, train, y)
  return l_dis + gamma * r1, {'loss/r1': r1}


def _labels(batch, config):
  """The conditioning labels y [B, D] of a conditional run (None otherwise)."""
  if not config.get('conditional', False):
    return None
  if 'label' not in batch:
    raise ValueError('config.conditional needs batches with labels (labels.prepare)')
  return batch['label']


def _aux_loss(aux_logits, batch, config, axis_name):
  """(L_aux, accuracy) of the auxiliary head on the real batch: the labelled rows' mean
  loss (losses.label_loss, losses.masked_mean); accuracy per class, or per attribute
  sign, over the labelled rows."""
  y = batch['label']
  per_example, mask = L.label_loss(aux_logits, y, config.label_kind)
  if config.label_kind == 'classes':
    hit = (jnp.argmax(aux_logits, -1) == jnp.argmax(y, -1)).astype(jnp.float32)
  else:
    hit = jnp.mean((aux_logits > 0) == (y > 0), axis=-1).astype(jnp.float32)
  return (L.masked_mean(per_example, mask, axis_name),
          L.masked_mean(hit, mask, axis_name))


class VaeganTerms(NamedTuple):
  """The VAE-GAN's forward pass up to the decoder and its decoder loss terms.

  `a_gen` is the decoder's pre-tanh output [2B, H, W, C] on [z; z_p] (the encoder's
  sampled codes, then prior codes). `discriminate(a_gen)` runs the discriminator on
  [x; tanh(a_gen)] and returns ((logits, features[, aux logits]), its batch
  statistics); `llike(out)` is L_llike and `gen(out)` the decoder's GAN loss L_gen from
  its outputs (`out`, the first element), `pixel(a_gen)` the pixel term on the
  reconstructions. The objective differentiates these with respect to `a_gen`; so can a
  diagnostic (scripts/sample_report.py), with the objective's own draws and terms.
  With config.dis_augment the discriminator sees T(x), T(x_rec) (the same T per row)
  and T'(x_p); `x_seen` is T(x), what R1 is taken on.
  """
  x: jax.Array
  x_seen: jax.Array
  b: int
  y: jax.Array | None
  mu: jax.Array
  logvar: jax.Array
  a_gen: jax.Array
  enc_bs: dict
  dec_bs: dict
  discriminate: Callable
  pixel: Callable
  llike: Callable
  gen: Callable


def vaegan_terms(params, batch_stats, batch, key, *, nets: networks.Networks, config,
                 train: bool = True, axis_name: str | None = None) -> VaeganTerms:
  """The encoder and decoder passes of `vaegan` and its decoder terms (VaeganTerms)."""
  x = batch['image']
  b = x.shape[0]
  y = _labels(batch, config)
  cond = {} if y is None else {'y': y}
  eps_key, prior_key = jax.random.split(key)
  aug = augmenter(key, config, b, x.shape[1], axis_name)
  (mu, logvar), enc_bs = networks.apply(
      nets.encoder, params['encoder'], batch_stats['encoder'], x, train, **cond)
  z = mu + jnp.exp(0.5 * logvar) * per_example_normal(eps_key, mu.shape, axis_name)
  z_p = prior_sample(prior_key, mu.shape, config, axis_name)
  # Decoder and discriminator each see one concatenated batch, so their BatchNorm
  # statistics are those of everything they process in the step.
  a_gen, dec_bs = networks.apply(
      nets.decoder, params['decoder'], batch_stats['decoder'],
      jnp.concatenate([z, z_p]), train, logits=True,
      **({} if y is None else {'y': jnp.concatenate([y, y])}))

  features_seen = config.get('dis_augment_features', 'augmented')
  if features_seen not in AUGMENT_FEATURES:
    raise ValueError(f'unknown dis_augment_features {features_seen!r}; use '
                     f'{" or ".join(map(repr, AUGMENT_FEATURES))}')
  x_seen = aug(x, 0)

  def discriminate(a_gen):  # from the decoder's pre-tanh activation [2B, H, W, C]
    x_gen = jnp.tanh(a_gen)
    run = lambda groups: _discriminate(
        nets.discriminator, params['discriminator'], batch_stats['discriminator'],
        groups, train, config.dis_batch_norm, None if y is None else [y] * len(groups))
    out, bs = run([x_seen, aug(x_gen[:b], 0), aug(x_gen[b:], 1)])
    if features_seen == 'clean' and x_seen is not x:
      # L_llike on the images as they are: one more pass over [x; x_rec] (its batch
      # statistics unused), its features in the rows of x and x_rec.
      (_, clean, *_), _ = run([x, x_gen[:b]])
      out = (out[0], jnp.concatenate([clean, out[1][2 * b:]]), *out[2:])
    return out, bs

  def pixel(a_gen):  # the optional pixel-wise term on the reconstructions
    return L.pixel_nll(a_gen[:b], x, config.pixel_likelihood, config.pixel_sigma).mean()

  def llike(out):  # L_llike from the discriminator's (logits, features)
    return L.gaussian_feature_nll(out[1][b:2 * b], out[1][:b]).mean()

  def gen(out):  # the decoder's GAN loss L_gen from the logits
    l_gen = L.generator_loss(out[0][2 * b:], config.gan_generator_loss).mean()
    if config.gan_include_recon:
      l_gen += L.generator_loss(out[0][b:2 * b], config.gan_generator_loss).mean()
    return l_gen

  return VaeganTerms(x, x_seen, b, y, mu, logvar, a_gen, enc_bs, dec_bs, discriminate,
                     pixel, llike, gen)


def vaegan(params, batch_stats, batch, key, *, nets: networks.Networks, config,
           train: bool = True, axis_name: str | None = None):
  """VAE-GAN (Larsen et al. 2016, sections 2-3; the equilibrium rule of their code). One forward pass of each network.

  Encoder: beta * L_prior + L_llike (beta = config.prior_weight, 1 in the paper).
  Decoder: a * L_llike + b * L_gen. Discriminator: L_GAN.
  The GAN terms never enter the encoder's loss, and L_llike never enters the
  discriminator's, so with per-subtree gradients neither signal can leak; the feature
  target Dis_l(x) is additionally a stop_gradient (in losses.gaussian_feature_nll).

  Inside pmap (`axis_name`), the equilibrium rule reads the costs averaged over devices,
  so every replica takes the same branch.

  Labels (vaegan_jax/labels.py): with config.conditional every network also reads the
  batch's labels y (the prior samples are decoded with the same y as the batch, so
  they follow the data's label distribution). With config.aux_weight = lambda > 0 the
  discriminator's head predicts y on the real images and its loss becomes
  L_GAN + lambda * L_aux, L_aux averaged over the labelled examples only; no other role
  sees L_aux, and labels never carry a gradient.
  """
  (x, x_seen, b, y, mu, logvar, a_gen, enc_bs, dec_bs, discriminate, pixel, llike,
   gen) = vaegan_terms(params, batch_stats, batch, key, nets=nets, config=config,
                       train=train, axis_name=axis_name)
  x_rec = jnp.tanh(a_gen[:b])

  balance = config.decoder_gan_balance
  if balance == 'adaptive':
    out, dis_vjp, dis_bs = jax.vjp(discriminate, a_gen, has_aux=True)
    w_pix = pixel_weight(config, x.shape, out[1].shape)
    g_rec = config.decoder_llike_weight * dis_vjp(jax.grad(llike)(out))[0]
    if w_pix:
      g_rec += w_pix * jax.grad(pixel)(a_gen)
    gan_weight = config.decoder_gan_weight * _adaptive_weight(
        g_rec, dis_vjp(jax.grad(gen)(out))[0], axis_name)
  elif balance == 'fixed':
    out, dis_bs = discriminate(a_gen)
    w_pix = pixel_weight(config, x.shape, out[1].shape)
    gan_weight = config.decoder_gan_weight
  else:
    raise ValueError(f"unknown decoder_gan_balance {balance!r}; use 'fixed' or 'adaptive'")
  logits = out[0]
  l_real, l_rec, l_p = logits[:b], logits[b:2 * b], logits[2 * b:]

  l_prior = L.kl_standard_normal(mu, logvar).mean()
  l_llike = llike(out)
  real_cost = L.bce_real(l_real).mean()
  fake_cost = L.bce_fake(l_p).mean()
  recon_cost = L.bce_fake(l_rec).mean()
  l_gan = config.gan_real_weight * real_cost + config.gan_fake_weight * (
      fake_cost + (recon_cost if config.gan_include_recon else 0.0))
  l_gen = gen(out)
  l_pix = pixel(a_gen) if w_pix else jnp.zeros(())
  l_dis, aux_metrics = l_gan, {}
  if config.get('aux_weight', 0.0) > 0:
    l_aux, aux_accuracy = _aux_loss(out[2][:b], batch, config, axis_name)
    l_dis = l_gan + config.aux_weight * l_aux
    aux_metrics = {'loss/aux': l_aux, 'aux_accuracy': aux_accuracy}
  l_dis, r1_metrics = _with_r1(l_dis, params, batch_stats, x_seen, nets, config, train,
                               y)
  aux_metrics.update(r1_metrics)

  losses = {
      'encoder': config.prior_weight * l_prior + l_llike + w_pix * l_pix,
      'decoder': (config.decoder_llike_weight * l_llike + w_pix * l_pix +
                  gan_weight * l_gen),
      'discriminator': l_dis,
  }
  update = {'encoder': jnp.bool_(True),
            **_equilibrium(real_cost, fake_cost, config, axis_name)}
  metrics = {
      'loss/prior': l_prior,
      'loss/llike': l_llike,
      'loss/pixel': l_pix,
      'loss/gan': l_gan,
      'loss/gen': l_gen,
      'loss/real_cost': real_cost,
      'loss/fake_cost': fake_cost,
      'loss/recon_cost': recon_cost,
      'D/x': jax.nn.sigmoid(l_real).mean(),
      'D/x_p': jax.nn.sigmoid(l_p).mean(),
      'D/x_rec': jax.nn.sigmoid(l_rec).mean(),
      'pixel_mse': jnp.mean((x_rec - x) ** 2),
      'decoder_gan_weight': gan_weight,
      **aux_metrics,
  }
  aux = {
      'batch_stats': {'encoder': enc_bs, 'decoder': dec_bs, 'discriminator': dis_bs},
      'metrics': metrics,
      'update': update,
  }
  return losses, aux



ADAPTIVE_DELTA = 1e-4  # Esser et al. (2021): lambda = |g_rec| / (|g_GAN| + delta)
ADAPTIVE_MAX = 1e4  # ... clipped to [0, 1e4]


def _adaptive_weight(g_rec: jax.Array, g_gen: jax.Array, axis_name: str | None):
  """lambda = |g_rec| / (|g_gen| + delta), clipped to [0, ADAPTIVE_MAX], no gradient.

  The adaptive weight of VQGAN (Esser et al., "Taming Transformers", CVPR 2021, eq. 7)
  with the gradients taken at the decoder's last activation (pre-tanh, [x_rec; x_p])
  instead of its last layer's weights (the same balance, without reaching into the
  decoder's parameters): the decoder's GAN gradient gets the norm of its
  reconstruction gradient (L_llike and the optional pixel term), whatever the scale of
  Dis_l. Inside pmap the squared norms are summed over the n devices and divided by
  n^2 (each device's loss is a mean over its b = B / n examples, so its gradients are
  n times the global mean's): every replica uses the lambda of the global batch on one
  device, delta included.
  """
  sq = lambda g: jnp.sum(jnp.square(g))
  n_rec, n_gen = sq(g_rec), sq(g_gen)
  if axis_name:
    n = jax.lax.psum(1.0, axis_name)
    n_rec = jax.lax.psum(n_rec, axis_name) / n**2
    n_gen = jax.lax.psum(n_gen, axis_name) / n**2
  lam = jnp.sqrt(n_rec) / (jnp.sqrt(n_gen) + ADAPTIVE_DELTA)
  return jax.lax.stop_gradient(jnp.clip(lam, 0.0, ADAPTIVE_MAX))


def _equilibrium(real_cost, fake_cost, config, axis_name) -> dict:
  """The authors' equilibrium rule (their code; not in the paper) as update flags, if config.use_equilibrium.

  Reads the costs averaged over devices, so every replica takes the same branch.
  """
  if not config.use_equilibrium:
    return {}
  dis, dec = L.equilibrium_updates(_mean(real_cost, axis_name), _mean(fake_cost, axis_name),
                                   equilibrium=config.equilibrium, margin=config.margin)
  return {'discriminator': dis, 'decoder': dec}


def vae(params, batch_stats, batch, key, *, nets: networks.Networks, config,
        train: bool = True, axis_name: str | None = None):
  """VAE: pixel-wise likelihood (config.pixel_likelihood) + KL to N(0, I).

  Encoder: beta * L_prior + L_rec (beta = config.prior_weight). Decoder: L_rec (the KL
  does not depend on it). With beta = 1 their sum is the negative ELBO (up to the
  Gaussian's constant), logged as loss/neg_elbo (always with beta = 1). With
  config.conditional both networks read the batch's labels y (a conditional VAE).
  """
  x = batch['image']
  y = _labels(batch, config)
  cond = {} if y is None else {'y': y}
  (mu, logvar), enc_bs = networks.apply(
      nets.encoder, params['encoder'], batch_stats['encoder'], x, train, **cond)
  z = mu + jnp.exp(0.5 * logvar) * per_example_normal(key, mu.shape, axis_name)
  a, dec_bs = networks.apply(nets.decoder, params['decoder'], batch_stats['decoder'], z,
                             train, logits=True, **cond)
  l_prior = L.kl_standard_normal(mu, logvar).mean()
  l_rec = L.pixel_nll(a, x, config.pixel_likelihood, config.pixel_sigma).mean()
  losses = {'encoder': config.prior_weight * l_prior + l_rec, 'decoder': l_rec}
  metrics = {
      'loss/prior': l_prior,
      'loss/rec': l_rec,
      'loss/neg_elbo': l_prior + l_rec,
      'pixel_mse': jnp.mean((jnp.tanh(a) - x) ** 2),
  }
  return losses, {'batch_stats': {'encoder': enc_bs, 'decoder': dec_bs},
                  'metrics': metrics}


def _real_and_generated(params, batch_stats, batch, key, nets, config, train, axis_name):
  """The discriminator's raw outputs on the real batch and on as many generated images.

  With config.dis_augment both batches are transformed first (each image its own T).

  Returns:
    (scores on x [B], scores on x_p = Dec(z_p) [B], the real images as the
    discriminator saw them, new batch_stats).
  """
  x = batch['image']
  b = x.shape[0]
  z_p = prior_sample(key, (b, config.latent_dim), config, axis_name)
  x_p, dec_bs = networks.apply(nets.decoder, params['decoder'], batch_stats['decoder'],
                               z_p, train)
  aug = augmenter(key, config, b, x.shape[1], axis_name)
  x_seen = aug(x, 0)
  (scores, *_), dis_bs = _discriminate(
      nets.discriminator, params['discriminator'], batch_stats['discriminator'],
      [x_seen, aug(x_p, 1)], train, config.dis_batch_norm)
  return scores[:b], scores[b:], x_seen, {'decoder': dec_bs, 'discriminator': dis_bs}


def dcgan(params, batch_stats, batch, key, *, nets: networks.Networks, config,
          train: bool = True, axis_name: str | None = None):
  """DCGAN (Radford et al. 2016): the decoder as generator against an image discriminator.

  Discriminator: -log D(x) - log(1 - D(G(z))). Generator: config.gan_generator_loss
  (non-saturating -log D(G(z)) by default). The generator's loss depends on the
  discriminator and the discriminator's on the generator, but each role is
  differentiated only w.r.t. its own parameters. With config.critic_steps = k >= 1 the
  train step first updates the discriminator k times, then the generator against the
  updated discriminator (the reference's alternation is k = 1).
  """
  l_real, l_p, x_seen, bs = _real_and_generated(params, batch_stats, batch, key, nets,
                                                config, train, axis_name)
  real_cost, fake_cost = L.bce_real(l_real).mean(), L.bce_fake(l_p).mean()
  l_gen = L.generator_loss(l_p, config.gan_generator_loss).mean()
  l_dis, r1_metrics = _with_r1(real_cost + fake_cost, params, batch_stats, x_seen,
                               nets, config, train)
  losses = {'decoder': l_gen, 'discriminator': l_dis}
  metrics = {
      **r1_metrics,
      'loss/gen': l_gen,
      'loss/real_cost': real_cost,
      'loss/fake_cost': fake_cost,
      'D/x': jax.nn.sigmoid(l_real).mean(),
      'D/x_p': jax.nn.sigmoid(l_p).mean(),
  }
  return losses, {'batch_stats': bs, 'metrics': metrics,
                  'update': _equilibrium(real_cost, fake_cost, config, axis_name)}


def wgan(params, batch_stats, batch, key, *, nets: networks.Networks, config,
         train: bool = True, axis_name: str | None = None):
  """WGAN (Arjovsky et al. 2017): a critic f without sigmoid.

  Critic: mean f(G(z)) - mean f(x), i.e. it maximises the estimate
  W = mean f(x) - mean f(G(z)) of the Wasserstein-1 distance (logged as 'W'). Generator:
  -mean f(G(z)). The Lipschitz constraint is weight clipping to
  [-dis_weight_clip, dis_weight_clip] after every critic update, and the critic takes
  config.critic_steps updates per generator update, both in the train step.
  """
  f_real, f_p, _, bs = _real_and_generated(params, batch_stats, batch, key, nets, config,
                                           train, axis_name)
  w = f_real.mean() - f_p.mean()
  losses = {'decoder': -f_p.mean(), 'discriminator': -w}
  metrics = {'loss/gen': -f_p.mean(), 'loss/critic': -w, 'W': w,
             'f/x': f_real.mean(), 'f/x_p': f_p.mean()}
  return losses, {'batch_stats': bs, 'metrics': metrics}


def aae(params, batch_stats, batch, key, *, nets: networks.Networks, config,
        train: bool = True, axis_name: str | None = None):
  """Adversarial autoencoder (Makhzani et al. 2016).

  A deterministic encoder z = Enc(x), reconstruction x_rec = Dec(z) with the pixel
  likelihood of config.pixel_likelihood, and a discriminator on codes telling prior
  samples z_p ~ N(0, prior_scale^2 I) (real) from codes z (fake).
  Encoder: L_rec + aae_adversarial_weight * generator loss on D(z) (it is the GAN's
  generator). Decoder: L_rec only. Discriminator: -log D(z_p) - log(1 - D(z)).
  """
  x = batch['image']
  b = x.shape[0]
  (z, _), enc_bs = networks.apply(
      nets.encoder, params['encoder'], batch_stats['encoder'], x, train)
  a, dec_bs = networks.apply(nets.decoder, params['decoder'], batch_stats['decoder'], z,
                             train, logits=True)
  z_p = prior_sample(key, z.shape, config, axis_name)
  (logits, _), dis_bs = networks.apply(
      nets.discriminator, params['discriminator'], batch_stats['discriminator'],
      jnp.concatenate([z_p, z]), train)
  l_prior, l_code = logits[:b], logits[b:]
  l_rec = L.pixel_nll(a, x, config.pixel_likelihood, config.pixel_sigma).mean()
  real_cost, fake_cost = L.bce_real(l_prior).mean(), L.bce_fake(l_code).mean()
  l_gen = L.generator_loss(l_code, config.gan_generator_loss).mean()
  losses = {
      'encoder': l_rec + config.aae_adversarial_weight * l_gen,
      'decoder': l_rec,
      'discriminator': real_cost + fake_cost,
  }
  metrics = {
      'loss/rec': l_rec,
      'loss/gen': l_gen,
      'loss/real_cost': real_cost,
      'loss/fake_cost': fake_cost,
      'D/z_p': jax.nn.sigmoid(l_prior).mean(),
      'D/z': jax.nn.sigmoid(l_code).mean(),
      'pixel_mse': jnp.mean((jnp.tanh(a) - x) ** 2),
      'z_std': jnp.std(z),
  }
  batch_stats = {'encoder': enc_bs, 'decoder': dec_bs, 'discriminator': dis_bs}
  return losses, {'batch_stats': batch_stats, 'metrics': metrics}


AUGMENT_FEATURES = ('augmented', 'clean')  # config.dis_augment_features


@dataclasses.dataclass(frozen=True)
class Model:
  """An objective, the networks it needs (see networks.build) and what it can do.

  Every other module asks the registered Model (get_model(config.model)) instead of
  listing model names: validation, sampling, compare and the tests.

  Attributes:
    objective: (params, batch_stats, batch, key, *, nets, config, train, axis_name)
      -> (losses, aux).
    encoder: 'gaussian', 'deterministic' or None.
    discriminator: 'image', 'latent' or None.
    equilibrium: whether the objective honours config.use_equilibrium.
    r1: whether it adds config.dis_r1_weight * R1 to the discriminator's loss.
    conditional: whether it implements config.conditional (labels y join z and the
      encoder's and image discriminator's inputs).
    aux_head: whether it implements config.aux_weight > 0 (a discriminator head that
      predicts the labels).
    sampler: what sampler='auto' draws from: 'prior'; 'gmm', the codes' mixture, for a
      decoder that never sees prior codes in training; 'config': config.auto_sampler.
  """

  objective: Callable
  encoder: str | None
  discriminator: str | None
  equilibrium: bool = False
  r1: bool = False
  conditional: bool = False
  aux_head: bool = False
  sampler: str = 'prior'


# The registry. Its order is compare's: the baselines first, the method last.
MODELS = {
    'vae': Model(vae, 'gaussian', None, conditional=True, sampler='gmm'),
    'dcgan': Model(dcgan, None, 'image', equilibrium=True, r1=True),
    'wgan': Model(wgan, None, 'image'),
    'aae': Model(aae, 'deterministic', 'latent', sampler='gmm'),
    'vaegan': Model(vaegan, 'gaussian', 'image', equilibrium=True, r1=True,
                    conditional=True, aux_head=True, sampler='config'),
}


def with_capability(name: str) -> tuple[str, ...]:
  """The registered models whose Model has attribute `name` true, in registry order."""
  return tuple(m for m, model in MODELS.items() if getattr(model, name))


def get_model(name: str) -> Model:
  """The Model registered under `name`."""
  if name not in MODELS:
    raise ValueError(f'unknown model {name!r}; choose one of {", ".join(sorted(MODELS))}')
  return MODELS[name]


def get(name: str):
  """The objective function registered under `name`."""
  return get_model(name).objective


def build_networks(config, axis_name: str | None = None) -> networks.Networks:
  """The networks of config.model (networks.build with the model's choices)."""
  model = get_model(config.model)
  return networks.build(config, axis_name, encoder=model.encoder,
                        discriminator=model.discriminator)
