"""Pure loss functions (Larsen et al. 2016, section 2). Reduction: sum over features, mean over the batch.

Every function returns a per-example vector [B]; objectives take the batch mean, so loss
values do not depend on the batch size. GAN terms are written with log-sigmoid of logits
(softplus), never log(sigmoid(.)), for numerical stability.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def kl_standard_normal(mu: jax.Array, logvar: jax.Array) -> jax.Array:
  """L_prior = KL(N(mu, exp(logvar)) || N(0, I)), summed over the latent. [B, Z] -> [B]."""
  return -0.5 * jnp.sum(1.0 + logvar - mu**2 - jnp.exp(logvar), axis=-1)


def gaussian_feature_nll(pred: jax.Array, target: jax.Array) -> jax.Array:
  """L_llike = 1/2 * sum((pred - target)^2): Gaussian NLL, identity covariance, constant
  dropped. The target gets no gradient. [B, F] x [B, F] -> [B]."""
  target = jax.lax.stop_gradient(target)
  return 0.5 * jnp.sum((pred - target) ** 2, axis=tuple(range(1, pred.ndim)))


def bce_real(logits: jax.Array) -> jax.Array:
  """-log D(x) = softplus(-logit), per example."""
  return jax.nn.softplus(-logits)


def bce_fake(logits: jax.Array) -> jax.Array:
  """-log(1 - D(x)) = softplus(logit), per example."""
  return jax.nn.softplus(logits)


def generator_loss(logits: jax.Array, kind: str) -> jax.Array:
  """The generator's GAN loss on generated samples, per example, to MINIMISE.

  'saturating' (paper): log(1 - D(G(z))), i.e. -(-log(1 - D)); its minimum pushes
  D(G(z)) up, with a vanishing gradient when D is confident.
  'non_saturating': -log D(G(z)).
  """
  if kind == 'saturating':
    return -bce_fake(logits)
  if kind == 'non_saturating':
    return bce_real(logits)
  raise ValueError(f"unknown generator loss {kind!r}; use 'saturating' or 'non_saturating'")


def equilibrium_updates(real_cost: jax.Array, fake_cost: jax.Array, *,
                        equilibrium: float, margin: float):
  """The authors' equilibrium rule (their code; not in the paper) as booleans, safe inside jit.

  Args:
    real_cost: mean(-log D(x)) of the current forward pass.
    fake_cost: mean(-log(1 - D(x_p))).
  Returns:
    (update_discriminator, update_decoder): scalar bools. The discriminator is skipped
    when it is winning (a cost below equilibrium - margin), the decoder when it is
    losing (a cost above equilibrium + margin); if both would be skipped, both update.
  """
  dis_winning = (real_cost < equilibrium - margin) | (fake_cost < equilibrium - margin)
  dec_losing = (real_cost > equilibrium + margin) | (fake_cost > equilibrium + margin)
  both_skipped = dis_winning & dec_losing
  return (~dis_winning) | both_skipped, (~dec_losing) | both_skipped


def bernoulli_nll(logits: jax.Array, target: jax.Array) -> jax.Array:
  """-log p(target | Bernoulli(sigmoid(logits))), summed over all but the batch axis.

  target in [0, 1] (grey levels are soft targets: binary cross-entropy). The target
  gets no gradient. [B, ...] x [B, ...] -> [B].
  """
  target = jax.lax.stop_gradient(target)
  nll = jax.nn.softplus(logits) - target * logits
  return jnp.sum(nll, axis=tuple(range(1, logits.ndim)))


PIXEL_LIKELIHOODS = ('bernoulli', 'gaussian')


def pixel_nll(activation: jax.Array, x: jax.Array, kind: str, sigma: float) -> jax.Array:
  """The pixel-wise reconstruction loss of a decoder output tanh(activation), per example.

  Args:
    activation: the decoder's pre-tanh output a [B, H, W, C] (Decoder(logits=True)).
    x: the data [B, H, W, C] in [-1, 1].
    kind: 'bernoulli': pixel (x + 1) / 2 ~ Bernoulli(sigmoid(2a)), whose mean is
      (tanh(a) + 1) / 2, the decoded image mapped to [0, 1]; 'gaussian':
      x ~ N(tanh(a), sigma^2 I), constant dropped: sum((tanh(a) - x)^2) / (2 sigma^2).
    sigma: the Gaussian's standard deviation (unused for 'bernoulli').
  """
  if kind == 'bernoulli':
    return bernoulli_nll(2.0 * activation, (x + 1.0) / 2.0)
  if kind == 'gaussian':
    return gaussian_feature_nll(jnp.tanh(activation) / sigma, x / sigma)
  raise ValueError(f"unknown pixel likelihood {kind!r}; use 'bernoulli' or 'gaussian'")


def masked_bce(logits: jax.Array, targets: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Attribute BCE with missing rows: (loss [B] summed over attributes, mask [B]).

  targets [B, A] in {0, 1}; a row of all -1 is an example without labels (this
  project's convention): its loss is 0 and mask 0. Average with `masked_mean`, which
  divides by the number of labelled rows (a sum instead would grow with the
  number of labelled examples in the batch).
  """
  mask = jnp.any(targets != -1, axis=-1)
  t = jax.lax.stop_gradient(jnp.where(mask[:, None], targets, 0.0))
  nll = jnp.sum(jax.nn.softplus(logits) - t * logits, axis=-1)
  return jnp.where(mask, nll, 0.0), mask.astype(jnp.float32)


def label_loss(logits: jax.Array, y: jax.Array, kind: str) -> tuple[jax.Array, jax.Array]:
  """The auxiliary classifier's loss on labels y (vaegan_jax/labels.py): (loss [B],
  mask [B]); a row of zeros in y is unlabelled (loss 0, mask 0).

  kind 'classes': y one-hot [B, K], softmax cross-entropy; 'attributes': y in {-1, +1}
  [B, A], sigmoid BCE per attribute summed (masked_bce with targets (y + 1) / 2).
  """
  y = jax.lax.stop_gradient(y)
  labelled = jnp.any(y != 0, axis=-1)
  if kind == 'classes':
    nll = -jnp.sum(y * jax.nn.log_softmax(logits), axis=-1)
    return jnp.where(labelled, nll, 0.0), labelled.astype(jnp.float32)
  if kind == 'attributes':
    return masked_bce(logits, jnp.where(labelled[:, None], (y + 1.0) / 2.0, -1.0))
  raise ValueError(f"unknown label kind {kind!r}; use 'classes' or 'attributes'")


def masked_mean(values: jax.Array, mask: jax.Array, axis_name: str | None = None):
  """sum(mask * values) / sum(mask), 0 when nothing is labelled. Inside pmap the count
  is global and the result is scaled so that the mean over devices (what the train
  step takes of losses and gradients) is the mean over every labelled example."""
  total, count = jnp.sum(mask * values), jnp.sum(mask)
  if axis_name:
    count = jax.lax.psum(count, axis_name)
    total = total * jax.lax.psum(1.0, axis_name)
  return total / jnp.maximum(count, 1.0)
