"""Flax modules: encoder, decoder, discriminator, and exact fast layers for XLA:CPU.

Shapes follow SPEC 5 and are set by config only (widths, strides, image size). Convs
followed by BatchNorm carry no bias: BatchNorm's shift makes it redundant work.

The layers `Conv`, `UpConv` and `BatchNorm` compute exactly what nn.Conv,
nn.ConvTranspose (stride 2) and nn.BatchNorm compute, with the same variable names,
shapes and initial values (checkpoints are interchangeable), but avoid XLA:CPU's slow
paths: lhs-dilated (transposed) convolutions, which back both the transposed conv and
the input gradient of a stride-2 conv, become stride-1 convs to 4x channels followed by
depth-to-space; batch-norm sums become matrix-vector products instead of XLA:CPU's
split reductions. tests/test_networks.py checks outputs and gradients against flax.
"""

from __future__ import annotations

import dataclasses
import functools
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


_DN = ('NHWC', 'HWIO', 'NHWC')


def _same_padding(size: int, k: int, s: int) -> tuple[int, int]:
  """The (lo, hi) padding lax uses for a 'SAME' convolution."""
  out = -(-size // s)
  pad = max((out - 1) * s + k - size, 0)
  return pad // 2, pad - pad // 2


def _input_grad_taps(k: int, lo: int) -> tuple[np.ndarray, int, int]:
  """For y = conv(x, w, stride 2, padding lo): which kernel tap feeds which dx phase.

  dx[2q + p] = sum_t dy[q + t] * w[p + lo - 2t]. Returns idx[p, t - t_min] into a kernel
  padded with one zero tap at index k (taps out of range read 0), t_min and t_max.
  """
  t_min, t_max = -((k - 1 - lo) // 2), (1 + lo) // 2
  idx = np.full((2, t_max - t_min + 1), k, dtype=np.int32)
  for p in (0, 1):
    for t in range(t_min, t_max + 1):
      if 0 <= p + lo - 2 * t < k:
        idx[p, t - t_min] = p + lo - 2 * t
  return idx, t_min, t_max


def _stride2_input_grad(g: jax.Array, kernel: jax.Array, pads, in_hw) -> jax.Array:
  """Input gradient of a stride-2 conv as a stride-1 conv to 4x channels + depth-to-space.

  XLA:CPU lowers the transposed (lhs-dilated) convolution of the default input gradient
  to a slow generic loop; this is the same sum over the same products, reordered.

  Args:
    g: cotangent of the conv output, [B, Ho, Wo, C_out].
    kernel: [k_h, k_w, C_in, C_out].
    pads: ((lo_h, hi_h), (lo_w, hi_w)) padding of the forward conv.
    in_hw: (H, W) of the forward conv's input.

  Returns:
    dx, [B, H, W, C_in].
  """
  kh, kw, cin, cout = kernel.shape
  (iy, ty0, ty1), (ix, tx0, tx1) = (_input_grad_taps(kh, pads[0][0]),
                                    _input_grad_taps(kw, pads[1][0]))
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
  w = padded[iy[:, :, None, None], ix[None, None, :, :]]  # [py, ty, px, tx, ci, co]
  w = w.transpose(1, 3, 5, 0, 2, 4).reshape(iy.shape[1], ix.shape[1], cout, 4 * cin)
  hq, wq = -(-in_hw[0] // 2), -(-in_hw[1] // 2)
  conv_pads = [(-ty0, hq - g.shape[1] + ty1), (-tx0, wq - g.shape[2] + tx1)]
  dx = jax.lax.conv_general_dilated(g, w.astype(g.dtype), (1, 1), conv_pads,
                                    dimension_numbers=_DN)
  return depth_to_space(dx, 2)[:, :in_hw[0], :in_hw[1], :]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv2d(x: jax.Array, kernel: jax.Array, strides, pads) -> jax.Array:
  """`lax.conv_general_dilated(x, kernel, strides, pads)` (NHWC, HWIO), fast gradients.

  Args:
    x: [B, H, W, C_in].
    kernel: [k_h, k_w, C_in, C_out].
    strides: (s_h, s_w), each 1 or 2 for the fast input gradient (others use lax's).
    pads: ((lo_h, hi_h), (lo_w, hi_w)), a tuple of int pairs.

  Returns:
    [B, Ho, Wo, C_out]. Gradients are exact (the same sums of the same products,
    reordered): dx of a stride-2 conv by `_stride2_input_grad`, everything else by
    lax's own transposes.
  """
  return jax.lax.conv_general_dilated(x, kernel, strides, pads, dimension_numbers=_DN)


def _conv2d_fwd(x, kernel, strides, pads):
  return conv2d(x, kernel, strides, pads), (x, kernel)


def _conv2d_bwd(strides, pads, res, g):
  x, kernel = res

  def conv(v, k):
    return jax.lax.conv_general_dilated(v, k, strides, pads, dimension_numbers=_DN)

  if tuple(strides) == (2, 2):
    _, vjp_kernel = jax.vjp(lambda k: conv(x, k), kernel)
    return _stride2_input_grad(g, kernel, pads, x.shape[1:3]), vjp_kernel(g)[0]
  return jax.vjp(conv, x, kernel)[1](g)


conv2d.defvjp(_conv2d_fwd, _conv2d_bwd)


class Conv(nn.Module):
  """`nn.Conv(features, (k, k), strides=(s, s), padding='SAME')`, same params and init.

  Runs through `conv2d` (fast exact gradients on XLA:CPU). Parameters `kernel`
  [k, k, C_in, C_out] and `bias` [C_out] have the names, shapes and initializers of
  nn.Conv, so checkpoints are interchangeable.
  """

  features: int
  kernel_size: int = 5
  strides: int = 1
  use_bias: bool = True
  kernel_init: Any = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, s = self.kernel_size, self.strides
    kernel = self.param('kernel', self.kernel_init, (k, k, x.shape[-1], self.features),
                        jnp.float32).astype(x.dtype)
    pads = (_same_padding(x.shape[1], k, s), _same_padding(x.shape[2], k, s))
    y = conv2d(x, kernel, (s, s), pads)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,), jnp.float32)
    return y


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
    y = conv2d(x, w.astype(x.dtype), (1, 1), ((lo, hi), (lo, hi)))
    y = depth_to_space(y, 2)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (cout,), jnp.float32)
    return y


def _channel_sum(x: jax.Array) -> jax.Array:
  """[N, C] -> [C] as a matrix-vector product (XLA:CPU's split reductions are slow)."""
  return jnp.dot(jnp.ones((x.shape[0],), x.dtype), x,
                 precision=jax.lax.Precision.HIGHEST)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def batch_norm_train(x: jax.Array, scale: jax.Array, bias: jax.Array, epsilon: float):
  """Training-mode batch norm over all axes but the last, as flax's BatchNorm computes it.

  Statistics use flax's fast variance, var = max(0, E[x^2] - E[x]^2); the sums over the
  batch are matrix-vector products and the backward pass is written out, so no
  reduction runs through XLA:CPU's slow split-reduction path.

  Args:
    x: [..., C].
    scale: [C].
    bias: [C].
    epsilon: added to the variance.

  Returns:
    (y [..., C], mean [C], var [C]); mean and var are the (biased) batch statistics.
  """
  return _batch_norm_train_fwd(x, scale, bias, epsilon)[0]


def _batch_norm_train_fwd(x, scale, bias, epsilon):
  c = x.shape[-1]
  x2 = x.reshape(-1, c)
  n = x2.shape[0]
  mean = _channel_sum(x2) / n
  var_raw = _channel_sum(x2 * x2) / n - mean * mean
  var = jnp.maximum(0.0, var_raw)
  inv = jax.lax.rsqrt(var + epsilon)
  y = (x - mean) * (inv * scale) + bias
  return (y, mean, var), (x, mean, inv, var_raw > 0, scale)


def _batch_norm_train_bwd(epsilon, res, cts):
  del epsilon
  x, mean, inv, var_positive, scale = res
  gy, gmean, gvar = cts
  c = x.shape[-1]
  n = x.size // c
  xc = x - mean
  xhat = xc * inv
  dbias = _channel_sum(gy.reshape(-1, c))
  dscale = _channel_sum((gy * xhat).reshape(-1, c))
  # d/dx of var through the normalisation and of the returned mean and var.
  var_term = jnp.where(var_positive, dscale * inv * scale / n, 0.0)
  dvar_out = jnp.where(var_positive, gvar * 2.0 / n, 0.0)
  dx = (gy * (inv * scale) - (dbias * inv * scale - gmean) / n
        - xc * (var_term * inv - dvar_out))
  return dx, dscale, dbias


batch_norm_train.defvjp(_batch_norm_train_fwd, _batch_norm_train_bwd)


class BatchNorm(nn.Module):
  """`nn.BatchNorm` over the last axis with the same variables, faster on XLA:CPU.

  Parameters `scale`, `bias` and batch_stats `mean`, `var` (all [C]) have flax's names,
  shapes and initial values; the running statistics follow
  running = momentum * running + (1 - momentum) * batch, and are left alone at init.
  """

  use_running_average: bool = False
  momentum: float = 0.99
  epsilon: float = 1e-5
  axis_name: str | None = None  # pmap axis: statistics over the global batch (sync BN)
  scale_init: Any = nn.initializers.ones

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c = x.shape[-1]
    ra_mean = self.variable('batch_stats', 'mean', lambda: jnp.zeros((c,), jnp.float32))
    ra_var = self.variable('batch_stats', 'var', lambda: jnp.ones((c,), jnp.float32))
    scale = self.param('scale', self.scale_init, (c,), jnp.float32)
    bias = self.param('bias', nn.initializers.zeros, (c,), jnp.float32)
    x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    if self.use_running_average:
      return (x - ra_mean.value) * (jax.lax.rsqrt(ra_var.value + self.epsilon) *
                                    scale) + bias
    if self.axis_name is None or jax.lax.axis_size(self.axis_name) == 1:
      y, mean, var = batch_norm_train(x, scale, bias, self.epsilon)
    else:
      # Statistics of the global batch: flax's formula with the means taken across
      # devices; plain autodiff, so the gradient flows through the collectives.
      x2 = x.reshape(-1, c)
      mean = jax.lax.pmean(jnp.mean(x2, axis=0), self.axis_name)
      mean_sq = jax.lax.pmean(jnp.mean(x2 * x2, axis=0), self.axis_name)
      var = jnp.maximum(0.0, mean_sq - mean * mean)
      y = (x - mean) * (jax.lax.rsqrt(var + self.epsilon) * scale) + bias
    if not self.is_initializing():
      ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean
      ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * var
    return y


INITS = ('default', 'dcgan')


def _dcgan_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def _kernel_init(init: str):
  """Conv and dense weights: flax's LeCun normal, or DCGAN's N(0, 0.02) (seed 004)."""
  if init not in INITS:
    raise ValueError(f"unknown init {init!r}; use 'default' or 'dcgan'")
  return nn.initializers.normal(0.02) if init == 'dcgan' else nn.initializers.lecun_normal()


def _bn(momentum: float, train: bool, reference: bool = False,
        axis_name: str | None = None, init: str = 'default') -> nn.Module:
  """BatchNorm; with init 'dcgan' its scale starts at N(1, 0.02) (biases are always 0)."""
  cls = nn.BatchNorm if reference else BatchNorm
  scale_init = _dcgan_scale_init if init == 'dcgan' else nn.initializers.ones
  return cls(use_running_average=not train, momentum=momentum, epsilon=1e-5,
             axis_name=axis_name, scale_init=scale_init)


def _conv(features: int, k: int, s: int, use_bias: bool, name: str,
          reference: bool, init: str = 'default') -> nn.Module:
  if reference:
    return nn.Conv(features, (k, k), strides=(s, s), padding='SAME', use_bias=use_bias,
                   kernel_init=_kernel_init(init), name=name)
  return Conv(features, k, strides=s, use_bias=use_bias, kernel_init=_kernel_init(init),
              name=name)


def _up_conv(features: int, k: int, name: str, reference: bool,
             init: str = 'default') -> nn.Module:
  if reference:
    return nn.ConvTranspose(features, (k, k), strides=(2, 2), padding='SAME',
                            use_bias=False, kernel_init=_kernel_init(init), name=name)
  return UpConv(features, k, use_bias=False, kernel_init=_kernel_init(init), name=name)


def _dense(features: int, init: str, name: str | None = None,
           use_bias: bool = True) -> nn.Module:
  return nn.Dense(features, use_bias=use_bias, kernel_init=_kernel_init(init), name=name)


def _activation(leak: float):
  """ReLU, or leaky ReLU with negative slope `leak` (DCGAN's discriminators use 0.2)."""
  return nn.relu if leak == 0 else functools.partial(nn.leaky_relu, negative_slope=leak)


class Encoder(nn.Module):
  """x [B, H, W, C] -> (mu, logvar), each [B, latent_dim].

  With `stochastic=False` (the adversarial autoencoder's deterministic encoder) there
  is no logvar head and the result is (z, None). `reference_layers` swaps in the plain
  flax layers (same variables, same function, slower on XLA:CPU); the benchmark uses it
  to count FLOPs without structural zeros. `weight_init` is 'default' or 'dcgan'.
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

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True):
    ref, init = self.reference_layers, self.weight_init
    bn = functools.partial(_bn, self.bn_momentum, train, ref, self.bn_axis_name, init)
    for i, w in enumerate(self.widths):
      x = _conv(w, self.kernel_size, 2, False, f'Conv_{i}', ref, init)(x)
      x = nn.relu(bn()(x))
    x = x.reshape(x.shape[0], -1)
    x = _dense(self.dense, init, use_bias=False)(x)
    x = nn.relu(bn()(x))
    mu = _dense(self.latent_dim, init, 'mu')(x)
    if not self.stochastic:
      return mu, None
    return mu, _dense(self.latent_dim, init, 'logvar')(x)


class Decoder(nn.Module):
  """z [B, latent_dim] -> images [B, H, W, C] in (-1, 1), the tanh of an activation a.

  With `logits=True` the call returns a itself: the Bernoulli mean of a pixel is
  (tanh(a) + 1) / 2 = sigmoid(2a), so 2a are its logits (the VAE's Bernoulli
  likelihood). Also the GANs' generator. See Encoder: reference_layers, weight_init.
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

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True, logits: bool = False) -> jax.Array:
    ref, init = self.reference_layers, self.weight_init
    bn = functools.partial(_bn, self.bn_momentum, train, ref, self.bn_axis_name, init)
    s = self.image_size // 2 ** len(self.widths)
    x = _dense(s * s * self.dense_channels, init, use_bias=False)(z)
    x = nn.relu(bn()(x))
    x = x.reshape(z.shape[0], s, s, self.dense_channels)
    for i, w in enumerate(self.widths):
      x = _up_conv(w, self.kernel_size, f'UpConv_{i}', ref, init)(x)
      x = nn.relu(bn()(x))
    a = _conv(self.channels, self.kernel_size, 1, True, 'Conv_0', ref, init)(x)
    return a if logits else jnp.tanh(a)


class Discriminator(nn.Module):
  """x [B, H, W, C] -> (logit [B], Dis_l(x) [B, F]).

  Dis_l is the output of conv number `feature_layer` (1-based) before its BatchNorm.
  The first conv has no BatchNorm (SPEC 5), so it keeps its bias. The logit is a raw
  score: GANs read it through a sigmoid (in the loss), WGAN's critic uses it as is.
  `leak` > 0 makes the activations leaky ReLUs. See Encoder: reference_layers, weight_init.
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

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True):
    ref, init, act = self.reference_layers, self.weight_init, _activation(self.leak)
    bn = functools.partial(_bn, self.bn_momentum, train, ref, self.bn_axis_name, init)
    features = None
    for i, (w, s) in enumerate(zip(self.widths, self.strides)):
      x = _conv(w, self.kernel_size, s, i == 0, f'Conv_{i}', ref, init)(x)
      if i + 1 == self.feature_layer:
        features = x.reshape(x.shape[0], -1)
      if i > 0:
        x = bn()(x)
      x = act(x)
    x = x.reshape(x.shape[0], -1)
    x = _dense(self.dense, init, use_bias=False)(x)
    x = act(bn()(x))
    logit = _dense(1, init, 'logit')(x)[:, 0]
    return logit, features


class LatentDiscriminator(nn.Module):
  """z [B, latent_dim] -> (logit [B], last hidden layer [B, widths[-1]]).

  The adversarial autoencoder's discriminator on codes (Makhzani et al.): a multilayer
  perceptron with `widths` hidden units, no normalisation (`reference_layers` and
  `bn_axis_name` are accepted and unused, so every network builds the same way).
  """

  widths: Sequence[int]
  leak: float = 0.0
  weight_init: str = 'default'
  reference_layers: bool = False
  bn_axis_name: str | None = None

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True):
    del train  # no BatchNorm
    act = _activation(self.leak)
    for w in self.widths:
      z = act(_dense(w, self.weight_init)(z))
    return _dense(1, self.weight_init, 'logit')(z)[:, 0], z


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
  `objectives.build_networks(config)` calls this with it.
  """
  common = dict(bn_axis_name=axis_name, weight_init=config.init)
  conv = dict(common, kernel_size=config.kernel_size, bn_momentum=config.bn_momentum)
  nets = {'decoder': Decoder(image_size=config.image_size, channels=config.channels,
                             dense_channels=config.dec_dense_channels,
                             widths=tuple(config.dec_widths), **conv)}
  if encoder not in ENCODERS or discriminator not in DISCRIMINATORS:
    raise ValueError(f'unknown encoder {encoder!r} or discriminator {discriminator!r}')
  if encoder:
    nets['encoder'] = Encoder(widths=tuple(config.enc_widths), dense=config.enc_dense,
                              latent_dim=config.latent_dim,
                              stochastic=encoder == 'gaussian', **conv)
  if discriminator == 'image':
    nets['discriminator'] = Discriminator(
        widths=tuple(config.dis_widths), strides=tuple(config.dis_strides),
        dense=config.dis_dense, feature_layer=config.dis_feature_layer,
        leak=config.dis_leak, **conv)
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
    v = getattr(nets, role).init(k, inputs[role], train=False)
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
