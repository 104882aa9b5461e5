"""Prior samples, reconstructions, interpolations (eval-mode BatchNorm) and image grids.

decode, encode and reconstructions are the traced functions; decode_all, encode_all and
reconstruct_all run them on host arrays of any length, jitted once per network and
chunk shape (`batched`): what every command and metric uses.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from vaegan_jax import networks


def _y(y):
  return {} if y is None else {'y': y}


def decode(nets: networks.Networks, state, z: jax.Array, y: jax.Array | None = None):
  """z [N, Z] -> images [N, H, W, C] in [-1, 1], BatchNorm with running statistics.
  A conditional model (config.conditional) needs its labels y [N, D]."""
  x, _ = networks.apply(nets.decoder, state.params['decoder'],
                        state.batch_stats['decoder'], z, train=False, **_y(y))
  return x


def encode(nets: networks.Networks, state, x: jax.Array, y: jax.Array | None = None):
  """images [N, H, W, C] (and labels y [N, D] of a conditional model) -> posterior
  means [N, Z]."""
  if not has_encoder(nets, state):
    raise ValueError('this model has no encoder: reconstruct/interpolate need one')
  (mu, _), _ = networks.apply(nets.encoder, state.params['encoder'],
                              state.batch_stats['encoder'], x, train=False, **_y(y))
  return mu


def has_encoder(nets: networks.Networks, state) -> bool:
  """Whether the model has an encoder and `state` holds its parameters (reconstruct,
  interpolate, the codes' mixture and attribute vectors need one)."""
  return nets.encoder is not None and 'encoder' in state.params


def is_conditional(nets: networks.Networks) -> bool:
  """Whether the decoder reads labels (config.conditional)."""
  return nets.decoder.label_dim > 0


def prior_z(config, key: jax.Array, num: int) -> jax.Array:
  """num prior codes z ~ N(0, prior_scale^2 I), [num, latent_dim], drawn from `key`."""
  return config.prior_scale * jax.random.normal(key, (num, config.latent_dim))


def reconstructions(nets, state, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
  """Decoded posterior means of x (with their labels y for a conditional model)."""
  return decode(nets, state, encode(nets, state, x, y), y)


CHUNK = 256  # examples per call of a jitted network (the last chunk is padded)


def batched(fn: Callable[..., Any], *xs: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
  """fn over the rows of x (or of several arrays with as many rows, passed to fn
  together) in chunks of `chunk` rows (the last padded), so fn compiles once."""
  out = []
  for i in range(0, len(xs[0]), chunk):
    parts = [np.asarray(x[i:i + chunk]) for x in xs]
    m = len(parts[0])
    if m < chunk:
      parts = [np.concatenate([p, np.zeros((chunk - m,) + p.shape[1:], p.dtype)])
               for p in parts]
    out.append(np.asarray(fn(*parts))[:m])
  return np.concatenate(out)


@functools.lru_cache(maxsize=16)
def _jitted(nets: networks.Networks, name: str):
  fn = {'decode': decode, 'encode': encode, 'reconstruct': reconstructions}[name]
  return jax.jit(lambda s, v, y: fn(nets, s, v, y))


def _all(name: str, nets, state, v: np.ndarray, y: np.ndarray | None) -> np.ndarray:
  fn = _jitted(nets, name)
  if y is None:
    return batched(lambda v: fn(state, v, None), v)
  return batched(lambda v, y: fn(state, v, y), v, y)


def decode_all(nets, state, z: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
  """decode over the rows of z [N, Z] (and labels y [N, D]), in jitted chunks."""
  return _all('decode', nets, state, z, y)


def encode_all(nets, state, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
  """encode (posterior means) over the rows of x [N, H, W, C], in jitted chunks."""
  return _all('encode', nets, state, x, y)


def reconstruct_all(nets, state, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
  """reconstructions over the rows of x [N, H, W, C], in jitted chunks."""
  return _all('reconstruct', nets, state, x, y)


def linear_paths(z_a: jax.Array, z_b: jax.Array, steps: int = 8) -> jax.Array:
  """The codes of the linear paths z_a [P, Z] -> z_b [P, Z], both ends included:
  [P * steps, Z], row-major by pair."""
  t = jnp.linspace(0.0, 1.0, steps)[None, :, None]
  z = (1 - t) * z_a[:, None] + t * z_b[:, None]
  return z.reshape(-1, z_a.shape[-1])


def interpolations(nets, state, z_a: jax.Array, z_b: jax.Array, steps: int = 8,
                   y: jax.Array | None = None):
  """Linear paths z_a -> z_b, decoded: [P * steps, H, W, C], row-major by pair (a
  conditional model's labels y [P * steps, D] per decoded image)."""
  return decode(nets, state, linear_paths(z_a, z_b, steps), y)


def grid(images, cols: int | None = None, pad: int = 1) -> np.ndarray:
  """[N, H, W, C] in [-1, 1] -> uint8 [rows*(H+pad)+pad, cols*(W+pad)+pad, C]."""
  images = np.asarray(images, np.float32)
  n, h, w, c = images.shape
  cols = cols or math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
  pixels = np.clip((images + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
  for i in range(n):
    r, q = divmod(i, cols)
    out[pad + r * (h + pad):pad + r * (h + pad) + h,
        pad + q * (w + pad):pad + q * (w + pad) + w] = pixels[i]
  return out


def side_by_side(originals, reconstructions) -> np.ndarray:
  """A grid with each original [N, H, W, C] followed by its reconstruction."""
  n = len(originals)
  pairs = np.stack([np.asarray(originals), np.asarray(reconstructions)], 1)
  return grid(pairs.reshape(-1, *pairs.shape[2:]), cols=2 * math.ceil(math.sqrt(n)))


def save_png(array: np.ndarray, path: str, min_side: int = 256) -> None:
  """Writes a uint8 grid, upscaled (nearest) so small images stay visible."""
  img = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
  scale = max(1, -(-min_side // max(img.size)))
  if scale > 1:
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
  img.save(path)
