"""One pure function per model: (params, batch_stats, batch, key) -> losses per role.

An objective returns `(losses, aux)`: `losses` maps each role that owns parameters to the
scalar that role minimises; `aux` holds `batch_stats` (new running statistics, one forward
pass per step), `metrics` (scalars to log) and optionally `update` (a bool per role, False
to skip that role's update this step). The train step differentiates `losses[role]` with
respect to `params[role]` only, so who-learns-from-what is decided here, in one place.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from vaegan_jax import losses as L
from vaegan_jax import networks


def per_example_normal(key: jax.Array, shape, axis_name: str | None = None) -> jax.Array:
  """Standard normal [B, ...] where example i's draw depends only on (key, global i).

  Inside pmap the global index is axis_index * B + i, so every device draws different
  noise and n devices draw exactly what one device draws for the same global batch.
  """
  offset = jax.lax.axis_index(axis_name) * shape[0] if axis_name else 0
  idx = offset + jnp.arange(shape[0])
  return jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(key, i), shape[1:]))(idx)


def _mean(x: jax.Array, axis_name: str | None) -> jax.Array:
  """x averaged over devices (identity outside pmap)."""
  return jax.lax.pmean(x, axis_name) if axis_name else x


def _discriminate(module, params, batch_stats, groups, train, mode):
  """The discriminator on several groups of images: (logits, features) concatenated.

  mode 'joint': one call on the concatenation, BatchNorm statistics over all groups.
  mode 'per_source': one call per group (real, reconstructed, sampled), each normalised
  with its own batch statistics (as DCGAN does for real and fake batches); the running
  averages are updated once, with the mean of the groups' statistics.
  """
  if mode == 'joint' or not train:
    return networks.apply(module, params, batch_stats, jnp.concatenate(groups), train)
  if mode != 'per_source':
    raise ValueError(f"unknown dis_batch_norm {mode!r}; use 'joint' or 'per_source'")
  outs, stats = zip(*(networks.apply(module, params, batch_stats, g, train)
                      for g in groups))
  logits, feats = (jnp.concatenate(t) for t in zip(*outs))
  mean_stats = jax.tree.map(lambda *s: sum(s) / len(s), *stats)
  return (logits, feats), mean_stats


def vaegan(params, batch_stats, batch, key, *, nets: networks.Networks, config,
           train: bool = True, axis_name: str | None = None):
  """VAE-GAN (SPEC 2-4). One forward pass of each network.

  Encoder: L_prior + L_llike. Decoder: a * L_llike + b * L_gen. Discriminator: L_GAN.
  The GAN terms never enter the encoder's loss, and L_llike never enters the
  discriminator's, so with per-subtree gradients neither signal can leak; the feature
  target Dis_l(x) is additionally a stop_gradient (in losses.gaussian_feature_nll).

  Inside pmap (`axis_name`), the equilibrium rule reads the costs averaged over devices,
  so every replica takes the same branch.
  """
  x = batch['image']
  b = x.shape[0]
  eps_key, prior_key = jax.random.split(key)
  (mu, logvar), enc_bs = networks.apply(
      nets.encoder, params['encoder'], batch_stats['encoder'], x, train)
  z = mu + jnp.exp(0.5 * logvar) * per_example_normal(eps_key, mu.shape, axis_name)
  z_p = per_example_normal(prior_key, mu.shape, axis_name)
  # Decoder and discriminator each see one concatenated batch, so their BatchNorm
  # statistics are those of everything they process in the step.
  x_gen, dec_bs = networks.apply(
      nets.decoder, params['decoder'], batch_stats['decoder'],
      jnp.concatenate([z, z_p]), train)
  x_rec, x_p = x_gen[:b], x_gen[b:]
  (logits, feats), dis_bs = _discriminate(
      nets.discriminator, params['discriminator'], batch_stats['discriminator'],
      [x, x_rec, x_p], train, config.dis_batch_norm)
  l_real, l_rec, l_p = logits[:b], logits[b:2 * b], logits[2 * b:]
  f_real, f_rec = feats[:b], feats[b:2 * b]

  l_prior = L.kl_standard_normal(mu, logvar).mean()
  l_llike = L.gaussian_feature_nll(f_rec, f_real).mean()
  real_cost = L.bce_real(l_real).mean()
  fake_cost = L.bce_fake(l_p).mean()
  recon_cost = L.bce_fake(l_rec).mean()
  l_gan = config.gan_real_weight * real_cost + config.gan_fake_weight * (
      fake_cost + (recon_cost if config.gan_include_recon else 0.0))
  l_gen = L.generator_loss(l_p, config.gan_generator_loss).mean()
  if config.gan_include_recon:
    l_gen += L.generator_loss(l_rec, config.gan_generator_loss).mean()

  losses = {
      'encoder': l_prior + l_llike,
      'decoder': config.decoder_llike_weight * l_llike + config.decoder_gan_weight * l_gen,
      'discriminator': l_gan,
  }
  update = {'encoder': jnp.bool_(True)}
  if config.use_equilibrium:
    update['discriminator'], update['decoder'] = L.equilibrium_updates(
        _mean(real_cost, axis_name), _mean(fake_cost, axis_name),
        equilibrium=config.equilibrium, margin=config.margin)
  metrics = {
      'loss/prior': l_prior,
      'loss/llike': l_llike,
      'loss/gan': l_gan,
      'loss/gen': l_gen,
      'loss/real_cost': real_cost,
      'loss/fake_cost': fake_cost,
      'loss/recon_cost': recon_cost,
      'D/x': jax.nn.sigmoid(l_real).mean(),
      'D/x_p': jax.nn.sigmoid(l_p).mean(),
      'D/x_rec': jax.nn.sigmoid(l_rec).mean(),
      'pixel_mse': jnp.mean((x_rec - x) ** 2),
  }
  aux = {
      'batch_stats': {'encoder': enc_bs, 'decoder': dec_bs, 'discriminator': dis_bs},
      'metrics': metrics,
      'update': update,
  }
  return losses, aux


OBJECTIVES = {'vaegan': vaegan}


def get(name: str):
  """The objective function registered under `name`."""
  if name not in OBJECTIVES:
    raise ValueError(f'unknown model {name!r}; choose one of {sorted(OBJECTIVES)}')
  return OBJECTIVES[name]
