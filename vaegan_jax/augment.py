"""Differentiable augmentation of what a discriminator sees (DiffAugment, Zhao et al. 2020).

"Differentiable Augmentation for Data-Efficient GAN Training" (NeurIPS 2020): a
discriminator trained on a few thousand images memorises them and its gradients stop
teaching the generator. The fix is one random transformation T, differentiable in its
input, applied to every image the discriminator sees, real and generated alike, in the
discriminator's update and in the generator's (whose gradient flows through T).

Policies (config.dis_augment, comma-separated, applied in this order; each image draws
its own parameters, fresh every step, as the authors' code does):
  color        brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5)
  translation  a shift of up to 1/8 of the size in each direction, zeros shifted in
  cutout       a square of zeros of half the size centred at a random place
on images in [-1, 1]. `draw` makes the parameters of a batch and `apply` applies them,
so two batches can share them: the VAE-GAN's feature term compares Dis_l(T(x_rec)) with
Dis_l(T(x)) under the same T (objectives.vaegan). Every draw depends only on (key,
example's global index), so n devices draw what one device draws for the same batch.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

POLICIES = ('color', 'translation', 'cutout')
TRANSLATION = 0.125  # the largest shift, a fraction of the size
CUTOUT = 0.5  # the side of the square, a fraction of the size


class Params(NamedTuple):
  """Per-image parameters [B] (or [B, 2] for positions) of every policy."""

  brightness: jax.Array
  saturation: jax.Array
  contrast: jax.Array
  shift: jax.Array  # integer pixels (dy, dx)
  centre: jax.Array  # integer pixels (cy, cx) of the cutout square


def parse(policy) -> tuple[str, ...]:
  """'color,translation' (or a sequence) -> the policies in POLICIES order; ValueError
  (one line) on an unknown one."""
  names = policy.split(',') if isinstance(policy, str) else list(policy)
  names = {n.strip() for n in names if n.strip()}
  unknown = sorted(names - set(POLICIES))
  if unknown:
    raise ValueError(f'unknown augmentation {unknown[0]!r} in --config.dis_augment; use a '
                     f'comma-separated subset of {",".join(POLICIES)} or "" (off)')
  return tuple(p for p in POLICIES if p in names)


def _one(key: jax.Array, size: int) -> Params:
  kb, ks, kc, kt, kx = jax.random.split(key, 5)
  shift = int(size * TRANSLATION + 0.5)
  side = int(size * CUTOUT + 0.5)
  return Params(
      brightness=jax.random.uniform(kb) - 0.5,
      saturation=2.0 * jax.random.uniform(ks),
      contrast=0.5 + jax.random.uniform(kc),
      shift=jax.random.randint(kt, (2,), -shift, shift + 1),
      centre=jax.random.randint(kx, (2,), 0, size + (1 - side % 2)))


def draw(key: jax.Array, batch: int, size: int, axis_name: str | None = None) -> Params:
  """The parameters of `batch` images of size x size; image i's depend only on (key,
  its global index), as objectives.per_example_normal."""
  offset = jax.lax.axis_index(axis_name) * batch if axis_name else 0
  idx = offset + jnp.arange(batch)
  return jax.vmap(lambda i: _one(jax.random.fold_in(key, i), size))(idx)


def _translate(x: jax.Array, shift: jax.Array) -> jax.Array:
  """x [H, W, C] moved by shift (dy, dx) pixels, zeros shifted in."""
  h, w, _ = x.shape
  pad = max(h, w)
  padded = jnp.pad(x, ((pad, pad), (pad, pad), (0, 0)))
  return jax.lax.dynamic_slice(padded, (pad - shift[0], pad - shift[1], 0), x.shape)


def _cutout_mask(shape, centre: jax.Array) -> jax.Array:
  """[H, W, 1]: 0 inside the square of side CUTOUT * size centred at `centre`, else 1
  (the authors' placement: the square clipped at the image's edges)."""
  h, w = shape[:2]
  side = int(h * CUTOUT + 0.5)
  rows = jnp.arange(h)[:, None] - (centre[0] - side // 2)
  cols = jnp.arange(w)[None, :] - (centre[1] - side // 2)
  inside = (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
  return jnp.where(inside, 0.0, 1.0)[..., None].astype(jnp.float32)


def apply(x: jax.Array, p: Params, policies: tuple[str, ...]) -> jax.Array:
  """x [B, H, W, C] in [-1, 1] transformed by the parameters p (one set per image)."""
  if 'color' in policies:
    b = lambda v: v.reshape((-1,) + (1,) * (x.ndim - 1)).astype(x.dtype)
    x = x + b(p.brightness)
    if x.shape[-1] > 1:  # saturation: grey images have none
      mean = x.mean(axis=-1, keepdims=True)
      x = (x - mean) * b(p.saturation) + mean
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    x = (x - mean) * b(p.contrast) + mean
  if 'translation' in policies:
    x = jax.vmap(_translate)(x, p.shift)
  if 'cutout' in policies:
    x = x * jax.vmap(lambda c: _cutout_mask(x.shape[1:], c))(p.centre).astype(x.dtype)
  return x


def augment(x: jax.Array, key: jax.Array, policies: tuple[str, ...],
            axis_name: str | None = None) -> jax.Array:
  """x [B, H, W, C] with freshly drawn parameters per image (`draw`, then `apply`)."""
  if not policies:
    return x
  return apply(x, draw(key, x.shape[0], x.shape[1], axis_name), policies)
