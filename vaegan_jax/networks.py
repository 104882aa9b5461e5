"""Flax modules: encoder, decoder, discriminator and a fast stride-2 transposed conv.

Shapes follow SPEC 5 and are set by config only (widths, strides, image size). Convs
followed by BatchNorm carry no bias: BatchNorm's shift makes it redundant work.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

ROLES = ('encoder', 'decoder', 'discriminator')


def _transpose_padding(k: int, s: int) -> tuple[int, int]:
  """The (lo, hi) padding lax.conv_transpose uses for 'SAME' (same rule as lax)."""
  pad_len = k + s - 2
  lo = k - 1 if s > k - 1 else -(-pad_len // 2)
  return lo, pad_len - lo


def _phase_taps(k: int) -> tuple[np.ndarray, int, int]:
  """For y = ConvTranspose(stride 2, SAME)(x): which kernel tap reads which input offset.

  Output pixel 2q + p reads input pixels q + d for a few offsets d. Returns an index array
  idx[p, t] into a kernel padded with one zero tap at index k (so missing taps read 0) for
  offsets d = t + d_min, and the stride-1 conv padding (lo, hi) that covers all offsets.
  """
  pad_lo, _ = _transpose_padding(k, 2)
  taps = {}
  for p in (0, 1):
    for j in range(k):
      if (p + j - pad_lo) % 2 == 0:
        taps[(p, (p + j - pad_lo) // 2)] = j
  offsets = sorted({d for _, d in taps})
  d_min, d_max = offsets[0], offsets[-1]
  idx = np.full((2, d_max - d_min + 1), k, dtype=np.int32)
  for (p, d), j in taps.items():
    idx[p, d - d_min] = j
  return idx, -d_min, d_max


def depth_to_space(x: jax.Array, block: int) -> jax.Array:
  """[B, H, W, b*b*C] -> [B, b*H, b*W, C], channel index (py * b + px) * C + c."""
  b, h, w, c = x.shape
  c //= block * block
  x = x.reshape(b, h, w, block, block, c).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h * block, w * block, c)


class UpConv(nn.Module):
  """Exactly `nn.ConvTranspose(features, (k, k), strides=(2, 2), padding='SAME')`.

  Computed as one stride-1 convolution producing 4x channels (one group per output
  phase) followed by depth-to-space. Same parameter names and shapes as ConvTranspose
  (`kernel` [k, k, C_in, C_out], `bias` [C_out]), so checkpoints are interchangeable; it
  avoids the lhs-dilated convolution whose weight gradient XLA:CPU computes very slowly
  (jax-ml/jax#23783).
  """

  features: int
  kernel_size: int = 5
  use_bias: bool = True
  kernel_init: Any = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, cin, cout = self.kernel_size, x.shape[-1], self.features
    kernel = self.param('kernel', self.kernel_init, (k, k, cin, cout), jnp.float32)
    idx, lo, hi = _phase_taps(k)
    padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
    # w[ty, tx, ci, py, px, co] = kernel[idx[py, ty], idx[px, tx], ci, co]
    w = padded[idx[:, :, None, None], idx[None, None, :, :]]  # [py, ty, px, tx, ci, co]
    t = idx.shape[1]
    w = w.transpose(1, 3, 4, 0, 2, 5).reshape(t, t, cin, 4 * cout)
    y = jax.lax.conv_general_dilated(
        x, w.astype(x.dtype), (1, 1), [(lo, hi), (lo, hi)],
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    y = depth_to_space(y, 2)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (cout,), jnp.float32)
    return y


def _bn(momentum: float, train: bool) -> nn.BatchNorm:
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-5)


class Encoder(nn.Module):
  """x [B, H, W, C] -> (mu, logvar), each [B, latent_dim]."""

  widths: Sequence[int]
  dense: int
  latent_dim: int
  kernel_size: int = 5
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True):
    k = (self.kernel_size, self.kernel_size)
    for w in self.widths:
      x = nn.Conv(w, k, strides=(2, 2), padding='SAME', use_bias=False)(x)
      x = nn.relu(_bn(self.bn_momentum, train)(x))
    x = x.reshape(x.shape[0], -1)
    x = nn.Dense(self.dense, use_bias=False)(x)
    x = nn.relu(_bn(self.bn_momentum, train)(x))
    mu = nn.Dense(self.latent_dim, name='mu')(x)
    logvar = nn.Dense(self.latent_dim, name='logvar')(x)
    return mu, logvar


class Decoder(nn.Module):
  """z [B, latent_dim] -> images [B, H, W, C] in (-1, 1)."""

  image_size: int
  channels: int
  dense_channels: int
  widths: Sequence[int]
  kernel_size: int = 5
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    s = self.image_size // 2 ** len(self.widths)
    x = nn.Dense(s * s * self.dense_channels, use_bias=False)(z)
    x = nn.relu(_bn(self.bn_momentum, train)(x))
    x = x.reshape(z.shape[0], s, s, self.dense_channels)
    for w in self.widths:
      x = UpConv(w, self.kernel_size, use_bias=False)(x)
      x = nn.relu(_bn(self.bn_momentum, train)(x))
    k = (self.kernel_size, self.kernel_size)
    return jnp.tanh(nn.Conv(self.channels, k, padding='SAME')(x))


class Discriminator(nn.Module):
  """x [B, H, W, C] -> (logit [B], Dis_l(x) [B, F]).

  Dis_l is the output of conv number `feature_layer` (1-based) before its BatchNorm.
  The first conv has no BatchNorm (SPEC 5), so it keeps its bias.
  """

  widths: Sequence[int]
  strides: Sequence[int]
  dense: int
  feature_layer: int
  kernel_size: int = 5
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True):
    k = (self.kernel_size, self.kernel_size)
    features = None
    for i, (w, s) in enumerate(zip(self.widths, self.strides)):
      x = nn.Conv(w, k, strides=(s, s), padding='SAME', use_bias=i == 0)(x)
      if i + 1 == self.feature_layer:
        features = x.reshape(x.shape[0], -1)
      if i > 0:
        x = _bn(self.bn_momentum, train)(x)
      x = nn.relu(x)
    x = x.reshape(x.shape[0], -1)
    x = nn.Dense(self.dense, use_bias=False)(x)
    x = nn.relu(_bn(self.bn_momentum, train)(x))
    logit = nn.Dense(1, name='logit')(x)[:, 0]
    return logit, features


@dataclasses.dataclass(frozen=True)
class Networks:
  """The modules of one model, keyed by role (a role absent from a model is None)."""

  encoder: Encoder | None = None
  decoder: Decoder | None = None
  discriminator: Discriminator | None = None

  def roles(self) -> tuple[str, ...]:
    return tuple(r for r in ROLES if getattr(self, r) is not None)


def build(config) -> Networks:
  """Builds the three networks from a config (see configs/default.py)."""
  common = dict(kernel_size=config.kernel_size, bn_momentum=config.bn_momentum)
  return Networks(
      encoder=Encoder(widths=tuple(config.enc_widths), dense=config.enc_dense,
                      latent_dim=config.latent_dim, **common),
      decoder=Decoder(image_size=config.image_size, channels=config.channels,
                      dense_channels=config.dec_dense_channels,
                      widths=tuple(config.dec_widths), **common),
      discriminator=Discriminator(widths=tuple(config.dis_widths),
                                  strides=tuple(config.dis_strides),
                                  dense=config.dis_dense,
                                  feature_layer=config.dis_feature_layer, **common),
  )


def init_variables(nets: Networks, key: jax.Array, config):
  """Initial (params, batch_stats), each a dict keyed by role."""
  x = jnp.zeros((1, config.image_size, config.image_size, config.channels), jnp.float32)
  z = jnp.zeros((1, config.latent_dim), jnp.float32)
  inputs = {'encoder': x, 'decoder': z, 'discriminator': x}
  params, batch_stats = {}, {}
  for role, k in zip(nets.roles(), jax.random.split(key, len(nets.roles()))):
    v = getattr(nets, role).init(k, inputs[role], train=False)
    params[role] = v['params']
    batch_stats[role] = v.get('batch_stats', {})
  return params, batch_stats


def apply(module: nn.Module, params, batch_stats, x: jax.Array, train: bool):
  """Runs a module; returns (output, new batch_stats). In eval mode the stats are unchanged."""
  variables = {'params': params, 'batch_stats': batch_stats}
  if not train:
    return module.apply(variables, x, train=False), batch_stats
  out, updates = module.apply(variables, x, train=True, mutable=['batch_stats'])
  return out, updates.get('batch_stats', batch_stats)
