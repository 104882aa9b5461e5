"""The networks: encoder, decoder, discriminator (the paper's and the authors'
64x64 architectures), architecture only.

Shapes follow the authors' architectures.py and are set by config only (widths, strides, image size). Convs
followed by BatchNorm carry no bias: BatchNorm's shift makes it redundant work. The
layers come from vaegan_jax/layers.py: the exact XLA:CPU rewrites or the plain flax
layers (`reference_layers`, set by `config.layers`), with identical parameter trees.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from vaegan_jax import layers

ROLES = ('encoder', 'decoder', 'discriminator')


def _bn_act(module: nn.Module, train: bool, act):
  """x -> act(BatchNorm(x)) in `module.dtype`, a new BatchNorm per call (module context).

  BatchNorm's statistics, running averages and output are float32 (vaegan_jax/layers.py);
  the activation then goes back to the compute dtype for the next layer.
  """

  def apply(x):
    bn = layers.batch_norm(module.bn_momentum, train, module.reference_layers,
                           module.bn_axis_name, module.weight_init)
    return act(bn(x)).astype(module.dtype)

  return apply


def _with_labels(h: jax.Array, y: jax.Array | None, label_dim: int) -> jax.Array:
  """[h, y] for a conditional network (label_dim > 0: the paper's section 4.2 concatenates
  the labels to the encoder's and discriminator's first dense input and to z), h else."""
  if not label_dim:
    if y is not None:
      raise ValueError('labels given to a network built without label_dim')
    return h
  if y is None or y.shape != (h.shape[0], label_dim):
    raise ValueError(f'this conditional network needs labels y of shape '
                     f'[{h.shape[0]}, {label_dim}], got '
                     f'{None if y is None else tuple(y.shape)}')
  return jnp.concatenate([h, jax.lax.stop_gradient(y).astype(h.dtype)], axis=-1)


class Encoder(nn.Module):
  """x [B, H, W, C] -> (mu, logvar), each [B, latent_dim].

  With `stochastic=False` (the adversarial autoencoder's deterministic encoder) there
  is no logvar head and the result is (z, None). `reference_layers` swaps in the plain
  flax layers (same variables, same function; cuDNN/TPU convolutions, slower on
  XLA:CPU); `config.layers` sets it, and the benchmark uses it to count FLOPs without
  structural zeros. `weight_init` is 'default' or 'dcgan'. With `label_dim` > 0 (a
  conditional model) the call takes labels y [B, label_dim], concatenated to the dense
  layer's input.
  """

  widths: Sequence[int]
  dense: int
  latent_dim: int
  kernel_size: int = 5
  bn_momentum: float = 0.9
  reference_layers: bool = False
  bn_axis_name: str | None = None
  weight_init: str = 'default'
  stochastic: bool = True
  label_dim: int = 0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True, y: jax.Array | None = None):
    ref, init, dt = self.reference_layers, self.weight_init, self.dtype
    bn = _bn_act(self, train, nn.relu)
    for i, w in enumerate(self.widths):
      x = layers.conv(w, self.kernel_size, 2, False, f'Conv_{i}', ref, init, dt)(x)
      x = bn(x)
    x = _with_labels(x.reshape(x.shape[0], -1), y, self.label_dim)
    x = bn(layers.dense(self.dense, init, use_bias=False, dtype=dt)(x))
    mu = layers.dense(self.latent_dim, init, 'mu', dtype=dt)(x).astype(jnp.float32)
    if not self.stochastic:
      return mu, None
    return mu, layers.dense(self.latent_dim, init, 'logvar', dtype=dt)(x).astype(jnp.float32)


class Decoder(nn.Module):
  """z [B, latent_dim] -> images [B, H, W, C] in (-1, 1), the tanh of an activation a.

  With `logits=True` the call returns a itself: the Bernoulli mean of a pixel is
  (tanh(a) + 1) / 2 = sigmoid(2a), so 2a are its logits (the VAE's Bernoulli
  likelihood). Also the GANs' generator. See Encoder: reference_layers, weight_init;
  with `label_dim` > 0 the call takes labels y [B, label_dim], concatenated to z.
  `upsample` doubles the size per width: 'transpose' (stride-2 transposed convs
  `UpConv_i`) or 'nearest' (nearest-neighbour x2, then a stride-1 conv `ResizeConv_i`:
  every output pixel gets the same number of taps, so no checkerboard; Odena, Dumoulin,
  Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).
  """

  image_size: int
  channels: int
  dense_channels: int
  widths: Sequence[int]
  kernel_size: int = 5
  bn_momentum: float = 0.9
  reference_layers: bool = False
  bn_axis_name: str | None = None
  weight_init: str = 'default'
  label_dim: int = 0
  upsample: str = 'transpose'
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True, logits: bool = False,
               y: jax.Array | None = None) -> jax.Array:
    ref, init, dt = self.reference_layers, self.weight_init, self.dtype
    bn = _bn_act(self, train, nn.relu)
    s = self.image_size // 2 ** len(self.widths)
    zy = _with_labels(z, y, self.label_dim)
    x = bn(layers.dense(s * s * self.dense_channels, init, use_bias=False, dtype=dt)(zy))
    x = x.reshape(z.shape[0], s, s, self.dense_channels)
    for i, w in enumerate(self.widths):
      if self.upsample == 'nearest':
        x = layers.upsample_nearest(x)
        x = bn(layers.conv(w, self.kernel_size, 1, False, f'ResizeConv_{i}', ref, init, dt)(x))
      else:
        x = bn(layers.up_conv(w, self.kernel_size, f'UpConv_{i}', ref, init, dt)(x))
    a = layers.conv(self.channels, self.kernel_size, 1, True, 'Conv_0', ref, init, dt)(x)
    a = a.astype(jnp.float32)  # the pixel losses and the tanh in float32
    return a if logits else jnp.tanh(a)


class Discriminator(nn.Module):
  """x [B, H, W, C] -> (logit [B], Dis_l(x) [B, F]).

  Dis_l is the output of conv number `feature_layer` (1-based) before its BatchNorm.
  The first conv has no BatchNorm (as in the authors' code), so it keeps its bias. The logit is a raw
  score: GANs read it through a sigmoid (in the loss), WGAN's critic uses it as is.
  `leak` > 0 makes the activations leaky ReLUs; `batch_norm=False` drops the BatchNorms
  (every layer then has a bias: config.dis_batch_norm='none'); `blur` low-passes the
  input of every strided conv (layers.blur; config.dis_blur). See Encoder:
  reference_layers, weight_init.
  With `label_dim` > 0 the call takes labels y [B, label_dim], concatenated to the dense
  layer's input. With `aux_outputs` = K > 0 a head on the dense layer's output (the
  penultimate features) predicts the labels: the call returns (logit, Dis_l, aux logits
  [B, K]) (the auxiliary classifier of config.aux_weight).
  """

  widths: Sequence[int]
  strides: Sequence[int]
  dense: int
  feature_layer: int
  kernel_size: int = 5
  bn_momentum: float = 0.9
  reference_layers: bool = False
  bn_axis_name: str | None = None
  weight_init: str = 'default'
  leak: float = 0.0
  label_dim: int = 0
  aux_outputs: int = 0
  batch_norm: bool = True
  blur: bool = False
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True, y: jax.Array | None = None):
    ref, init, dt = self.reference_layers, self.weight_init, self.dtype
    act = layers.activation(self.leak)
    norm = self.batch_norm
    bn = _bn_act(self, train, act) if norm else lambda h: act(h).astype(dt)
    features = None
    for i, (w, s) in enumerate(zip(self.widths, self.strides)):
      if self.blur and s > 1:
        x = layers.blur(x)
      x = layers.conv(w, self.kernel_size, s, i == 0 or not norm, f'Conv_{i}', ref, init,
                      dt)(x)
      if i + 1 == self.feature_layer:
        features = x.reshape(x.shape[0], -1).astype(jnp.float32)  # L_llike in float32
      x = bn(x) if i > 0 else act(x)
    x = _with_labels(x.reshape(x.shape[0], -1), y, self.label_dim)
    x = bn(layers.dense(self.dense, init, use_bias=not norm, dtype=dt)(x))
    logit = layers.dense(1, init, 'logit', dtype=dt)(x)[:, 0].astype(jnp.float32)
    if not self.aux_outputs:
      return logit, features
    aux = layers.dense(self.aux_outputs, init, 'aux', dtype=dt)(x).astype(jnp.float32)
    return logit, features, aux


class LatentDiscriminator(nn.Module):
  """z [B, latent_dim] -> (logit [B], last hidden layer [B, widths[-1]]).

  The adversarial autoencoder's discriminator on codes (Makhzani et al.): a multilayer
  perceptron with `widths` hidden units, no normalisation (`reference_layers` and
  `bn_axis_name` are accepted and unused, so every network builds the same way).
  """

  widths: Sequence[int]
  leak: float = 0.0
  dtype: Any = jnp.float32
  weight_init: str = 'default'
  reference_layers: bool = False
  bn_axis_name: str | None = None

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True):
    del train  # no BatchNorm
    act = layers.activation(self.leak)
    for w in self.widths:
      z = act(layers.dense(w, self.weight_init, dtype=self.dtype)(z))
    logit = layers.dense(1, self.weight_init, 'logit', dtype=self.dtype)(z)[:, 0]
    return logit.astype(jnp.float32), z.astype(jnp.float32)


@dataclasses.dataclass(frozen=True)
class Networks:
  """The modules of one model, keyed by role (a role absent from a model is None)."""

  encoder: Encoder | None = None
  decoder: Decoder | None = None
  discriminator: Discriminator | LatentDiscriminator | None = None

  def roles(self) -> tuple[str, ...]:
    return tuple(r for r in ROLES if getattr(self, r) is not None)


ENCODERS = ('gaussian', 'deterministic', None)
DISCRIMINATORS = ('image', 'latent', None)


def build(config, axis_name: str | None = None, *, encoder: str | None = 'gaussian',
          discriminator: str | None = 'image') -> Networks:
  """Builds a model's networks from a config (see configs/default.py).

  Args:
    config: widths, sizes, `init`, `dis_leak`, ... (configs/default.py).
    axis_name: inside pmap, BatchNorm normalises with the statistics of the global
      batch across devices, so n devices compute what one device would.
    encoder: 'gaussian' (mu, logvar), 'deterministic' (a code) or None.
    discriminator: 'image' (Discriminator), 'latent' (LatentDiscriminator on codes)
      or None. The decoder (the GANs' generator) is always built.
  Each model declares its choice in vaegan_jax.objectives.MODELS;
  `objectives.build_networks(config)` calls this with it. With config.conditional the
  encoder, decoder and image discriminator take labels of len(config.label_names)
  entries (vaegan_jax/labels.py); with config.aux_weight > 0 the image discriminator
  has the auxiliary head.
  """
  common = dict(bn_axis_name=axis_name, weight_init=config.init,
                reference_layers=not layers.use_rewrites(config.layers),
                dtype=jnp.dtype(config.compute_dtype))
  conv = dict(common, kernel_size=config.kernel_size, bn_momentum=config.bn_momentum)
  n_labels = len(config.get('label_names', ()))
  cond = dict(label_dim=n_labels if config.get('conditional', False) else 0)
  aux = n_labels if config.get('aux_weight', 0.0) > 0 else 0
  nets = {'decoder': Decoder(image_size=config.image_size, channels=config.channels,
                             dense_channels=config.dec_dense_channels,
                             widths=tuple(config.dec_widths),
                             upsample=config.get('dec_upsample', 'transpose'), **cond, **conv)}
  if encoder not in ENCODERS or discriminator not in DISCRIMINATORS:
    raise ValueError(f'unknown encoder {encoder!r} or discriminator {discriminator!r}')
  if encoder:
    nets['encoder'] = Encoder(widths=tuple(config.enc_widths), dense=config.enc_dense,
                              latent_dim=config.latent_dim,
                              stochastic=encoder == 'gaussian', **cond, **conv)
  if discriminator == 'image':
    nets['discriminator'] = Discriminator(
        widths=tuple(config.dis_widths), strides=tuple(config.dis_strides),
        dense=config.dis_dense, feature_layer=config.dis_feature_layer,
        leak=config.dis_leak, aux_outputs=aux,
        batch_norm=config.get('dis_batch_norm', 'per_source') != 'none',
        blur=config.get('dis_blur', False), **cond, **conv)
  elif discriminator == 'latent':
    nets['discriminator'] = LatentDiscriminator(
        widths=tuple(config.latent_dis_widths), leak=config.dis_leak, **common)
  return Networks(**nets)


def init_variables(nets: Networks, key: jax.Array, config):
  """Initial (params, batch_stats), each a dict keyed by role."""
  x = jnp.zeros((1, config.image_size, config.image_size, config.channels), jnp.float32)
  z = jnp.zeros((1, config.latent_dim), jnp.float32)
  latent = isinstance(nets.discriminator, LatentDiscriminator)
  inputs = {'encoder': x, 'decoder': z, 'discriminator': z if latent else x}
  params, batch_stats = {}, {}
  for role, k in zip(nets.roles(), jax.random.split(key, len(nets.roles()))):
    module = getattr(nets, role)
    dim = getattr(module, 'label_dim', 0)
    kwargs = {'y': jnp.zeros((1, dim), jnp.float32)} if dim else {}
    v = module.init(k, inputs[role], train=False, **kwargs)
    params[role] = v['params']
    batch_stats[role] = v.get('batch_stats', {})
  return params, batch_stats


def apply(module: nn.Module, params, batch_stats, x: jax.Array, train: bool, **kwargs):
  """Runs a module (extra keyword arguments go to its __call__); returns (output, new
  batch_stats). In eval mode the stats are unchanged."""
  variables = {'params': params, 'batch_stats': batch_stats}
  if not train:
    return module.apply(variables, x, train=False, **kwargs), batch_stats
  out, updates = module.apply(variables, x, train=True, mutable=['batch_stats'], **kwargs)
  return out, updates.get('batch_stats', batch_stats)
