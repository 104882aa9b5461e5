"""The building blocks of the networks, and why the fast ones exist.

`Conv`, `UpConv` and `BatchNorm` compute exactly what nn.Conv, nn.ConvTranspose (stride
2) and nn.BatchNorm compute, with the same variable names, shapes and initial values
(checkpoints are interchangeable), but avoid XLA:CPU's slow paths: lhs-dilated
(transposed) convolutions, which back both the transposed conv and the input gradient of
a stride-2 conv, become stride-1 convs: four, one per output phase with its own taps,
interleaved (`_phase_conv`, for 4x4 kernels), or one to 4x channels followed by
depth-to-space (`_one_conv`, for 3x3 and 5x5, where it wastes fewer products and compiles
faster);
batch-norm sums become matrix-vector products instead of XLA:CPU's split reductions
(docs/performance.md). On GPU and TPU, cuDNN's and XLA's own convolutions are the fast ones,
so `config.layers` picks per backend (`use_rewrites`): 'auto' takes these rewrites on
CPU and the plain flax layers elsewhere. The factories `conv`, `up_conv`, `batch_norm`,
`dense` return either kind; tests/test_networks.py checks outputs and gradients of each
rewrite against flax.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

LAYERS = ('auto', 'rewrite', 'flax')
COMPUTE_DTYPES = ('float32', 'bfloat16')
UPSAMPLES = ('transpose', 'nearest')  # the decoder's x2 steps (networks.Decoder)


def use_rewrites(layers: str, backend: str | None = None) -> bool:
  """Whether `config.layers` means the XLA:CPU rewrites on `backend` (default: JAX's).

  'rewrite' and 'flax' are what they say; 'auto' is the rewrites on CPU only.
  """
  if layers not in LAYERS:
    raise ValueError(f'unknown layers {layers!r}; use one of {", ".join(LAYERS)}')
  if layers == 'auto':
    return (backend or jax.default_backend()) == 'cpu'
  return layers == 'rewrite'


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


def _take(a: jax.Array, idx: np.ndarray, axis: int) -> jax.Array:
  """a[idx] along `axis` for a static idx, as a strided slice (reversed where the step
  is negative) where idx is an arithmetic progression, as they are for the phases'
  taps: slices compile faster than a gather and its scatter-add gradient."""
  idx = [int(i) for i in idx]
  step = idx[1] - idx[0] if len(idx) > 1 else 1
  if step and all(b - a_ == step for a_, b in zip(idx, idx[1:])):
    out = jax.lax.slice_in_dim(a, min(idx), max(idx) + 1, abs(step), axis)
    return jnp.flip(out, axis) if step < 0 else out
  return jnp.take(a, np.asarray(idx), axis=axis)


def _phase_conv(x: jax.Array, kernel: jax.Array, iy: np.ndarray, ix: np.ndarray,
                d0y: int, d0x: int, out_hw) -> jax.Array:
  """The output of a stride-2 transposed convolution computed phase by phase.

  Output pixel (2q + py, 2r + px) is sum_{t, u} x[q + d0y + t, r + d0x + u] *
  kernel[iy[py, t], ix[px, u]] (x zero outside; a tap index equal to the kernel's size
  reads a zero tap). Each of the four phases is one stride-1 'VALID' convolution with
  only its own taps (for a 4x4 kernel: 2x2), so no structural zero is multiplied: one
  convolution to 4x channels over the union of the taps (3x3) would multiply 36
  products where 16 are useful. The phases are then interleaved.

  Args:
    x: [B, H, W, C_in].
    kernel: [k_h, k_w, C_in, C_out].
    iy, ix: [2, T] tap indices per phase and offset (`_phase_taps`, `_input_grad_taps`).
    d0y, d0x: the input offset of tap position 0.
    out_hw: (Q_h, Q_w) output pixels per phase.

  Returns:
    [B, 2 Q_h, 2 Q_w, C_out].
  """
  kh, kw = kernel.shape[:2]

  def span(idx, size, p):  # the first and last real tap of phase p
    real = np.flatnonzero(idx[p] < size)
    return int(real[0]), int(real[-1])

  spans_y = [span(iy, kh, p) for p in (0, 1)]
  spans_x = [span(ix, kw, p) for p in (0, 1)]
  lo_y = max(0, -min(d0y + a for a, _ in spans_y))
  lo_x = max(0, -min(d0x + a for a, _ in spans_x))
  hi_y = max(0, max(out_hw[0] - 1 + d0y + b for _, b in spans_y) - (x.shape[1] - 1))
  hi_x = max(0, max(out_hw[1] - 1 + d0x + b for _, b in spans_x) - (x.shape[2] - 1))
  xp = jnp.pad(x, ((0, 0), (lo_y, hi_y), (lo_x, hi_x), (0, 0)))
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
  rows = []
  for py, (ay, by) in enumerate(spans_y):
    cols = []
    for px, (ax, bx) in enumerate(spans_x):
      sub = _take(_take(padded, iy[py, ay:by + 1], 0), ix[px, ax:bx + 1], 1)
      y0, x0 = lo_y + d0y + ay, lo_x + d0x + ax
      view = xp[:, y0:y0 + out_hw[0] + by - ay, x0:x0 + out_hw[1] + bx - ax]
      cols.append(jax.lax.conv_general_dilated(view, sub.astype(x.dtype), (1, 1), 'VALID',
                                               dimension_numbers=_DN))
    rows.append(jnp.stack(cols, 3))  # [B, Q_h, Q_w, px, C]
  y = jnp.stack(rows, 2)  # [B, Q_h, py, Q_w, px, C]
  return y.reshape(y.shape[0], 2 * out_hw[0], 2 * out_hw[1], y.shape[-1])


# Below this share of useful products in the one-conv form (useful taps / the union's),
# the four per-phase convs run faster; above it, the one conv compiles faster and runs
# about as fast. A 4x4 kernel has 16 of 36 (the phase form: colour step 1.05 -> 0.82 s,
# commit 213f472), 5x5 25 of 36, 3x3 9 of 16.
PHASE_SHARE = 0.5


def _useful_share(iy: np.ndarray, ix: np.ndarray, kh: int, kw: int) -> float:
  """Useful products / products of the one-conv form: a tap index equal to the kernel's
  size reads a zero tap."""
  return float((iy < kh).sum() * (ix < kw).sum()) / (iy.size * ix.size)


def _one_conv(x: jax.Array, kernel: jax.Array, iy: np.ndarray, ix: np.ndarray,
              d0y: int, d0x: int, out_hw) -> jax.Array:
  """What `_phase_conv` computes, as one stride-1 conv over the union of the phases'
  taps to 4x channels (zero taps where a phase has none), then depth-to-space."""
  cin, cout = kernel.shape[2:]
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
  w = padded[iy[:, :, None, None], ix[None, None, :, :]]  # [py, ty, px, tx, ci, co]
  w = w.transpose(1, 3, 4, 0, 2, 5).reshape(iy.shape[1], ix.shape[1], cin, 4 * cout)
  pads = [(-d0y, out_hw[0] - x.shape[1] + d0y + iy.shape[1] - 1),
          (-d0x, out_hw[1] - x.shape[2] + d0x + ix.shape[1] - 1)]
  y = jax.lax.conv_general_dilated(x, w.astype(x.dtype), (1, 1), pads,
                                   dimension_numbers=_DN)
  b, h, wd, _ = y.shape
  y = y.reshape(b, h, wd, 2, 2, cout).transpose(0, 1, 3, 2, 4, 5)
  return y.reshape(b, 2 * h, 2 * wd, cout)


def _stride2_conv(x: jax.Array, kernel: jax.Array, iy: np.ndarray, ix: np.ndarray,
                  d0y: int, d0x: int, out_hw) -> jax.Array:
  """`_phase_conv` where the one-conv form would waste more than half its products,
  else `_one_conv` (the same sums)."""
  if _useful_share(iy, ix, *kernel.shape[:2]) < PHASE_SHARE:
    return _phase_conv(x, kernel, iy, ix, d0y, d0x, out_hw)
  return _one_conv(x, kernel, iy, ix, d0y, d0x, out_hw)


def _stride2_input_grad(g: jax.Array, kernel: jax.Array, pads, in_hw) -> jax.Array:
  """Input gradient of a stride-2 conv as stride-1 convs (`_stride2_conv`).

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
  (iy, ty0, _), (ix, tx0, _) = (_input_grad_taps(kernel.shape[0], pads[0][0]),
                                _input_grad_taps(kernel.shape[1], pads[1][0]))
  hq, wq = -(-in_hw[0] // 2), -(-in_hw[1] // 2)
  dx = _stride2_conv(g, kernel.transpose(0, 1, 3, 2), iy, ix, ty0, tx0, (hq, wq))
  return dx[:, :in_hw[0], :in_hw[1], :]


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
  dtype: Any = None  # computation dtype (nn.Conv's `dtype`); None: the input's

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, s = self.kernel_size, self.strides
    if self.dtype is not None:
      x = x.astype(self.dtype)
    kernel = self.param('kernel', self.kernel_init, (k, k, x.shape[-1], self.features),
                        jnp.float32).astype(x.dtype)
    pads = (_same_padding(x.shape[1], k, s), _same_padding(x.shape[2], k, s))
    y = conv2d(x, kernel, (s, s), pads)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,),
                         jnp.float32).astype(y.dtype)
    return y


class UpConv(nn.Module):
  """Exactly `nn.ConvTranspose(features, (k, k), strides=(2, 2), padding='SAME')`.

  Computed as stride-1 convolutions (`_stride2_conv`: one per output phase for 4x4
  kernels, else one to 4x channels and depth-to-space). Same parameter names and shapes
  as ConvTranspose (`kernel` [k, k, C_in, C_out], `bias` [C_out]), so checkpoints are
  interchangeable; it avoids the lhs-dilated convolution whose weight gradient XLA:CPU
  computes very slowly (jax-ml/jax#23783).
  """

  features: int
  kernel_size: int = 5
  use_bias: bool = True
  kernel_init: Any = nn.initializers.lecun_normal()
  dtype: Any = None  # computation dtype (nn.ConvTranspose's `dtype`); None: the input's

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, cin, cout = self.kernel_size, x.shape[-1], self.features
    if self.dtype is not None:
      x = x.astype(self.dtype)
    kernel = self.param('kernel', self.kernel_init, (k, k, cin, cout), jnp.float32)
    idx, lo, _ = _phase_taps(k)
    y = _stride2_conv(x, kernel, idx, idx, -lo, -lo, x.shape[1:3])
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (cout,), jnp.float32).astype(y.dtype)
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


def kernel_init(init: str):
  """Conv and dense weights: flax's LeCun normal, or DCGAN's N(0, 0.02) (Radford et al. 2016)."""
  if init not in INITS:
    raise ValueError(f"unknown init {init!r}; use 'default' or 'dcgan'")
  return nn.initializers.normal(0.02) if init == 'dcgan' else nn.initializers.lecun_normal()


def batch_norm(momentum: float, train: bool, reference: bool = False,
               axis_name: str | None = None, init: str = 'default') -> nn.Module:
  """BatchNorm; with init 'dcgan' its scale starts at N(1, 0.02) (biases are always 0)."""
  cls = nn.BatchNorm if reference else BatchNorm
  scale_init = _dcgan_scale_init if init == 'dcgan' else nn.initializers.ones
  return cls(use_running_average=not train, momentum=momentum, epsilon=1e-5,
             axis_name=axis_name, scale_init=scale_init)


# The factories below: `reference` picks the plain flax layer over the rewrite; `dtype`
# is the computation dtype (parameters stay float32 either way).


def conv(features: int, k: int, s: int, use_bias: bool, name: str,
         reference: bool, init: str = 'default', dtype: Any = jnp.float32) -> nn.Module:
  if reference:
    return nn.Conv(features, (k, k), strides=(s, s), padding='SAME', use_bias=use_bias,
                   kernel_init=kernel_init(init), name=name, dtype=dtype)
  return Conv(features, k, strides=s, use_bias=use_bias, kernel_init=kernel_init(init),
              name=name, dtype=dtype)


def up_conv(features: int, k: int, name: str, reference: bool,
            init: str = 'default', dtype: Any = jnp.float32) -> nn.Module:
  if reference:
    return nn.ConvTranspose(features, (k, k), strides=(2, 2), padding='SAME',
                            use_bias=False, kernel_init=kernel_init(init), name=name,
                            dtype=dtype)
  return UpConv(features, k, use_bias=False, kernel_init=kernel_init(init), name=name,
                dtype=dtype)


def upsample_nearest(x: jax.Array) -> jax.Array:
  """[B, H, W, C] -> [B, 2H, 2W, C], each pixel repeated 2x2 (nearest neighbour)."""
  b, h, w, c = x.shape
  return jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, 2, w, 2, c)).reshape(
      b, 2 * h, 2 * w, c)


def blur(x: jax.Array) -> jax.Array:
  """[B, H, W, C] smoothed by the binomial filter [1, 2, 1] / 4 along H and along W
  (edges repeated), the low-pass before a stride-2 conv of an anti-aliased network
  (Zhang, "Making convolutional networks shift-invariant again", ICML 2019). Its
  response at the Nyquist frequency is 0, so the gradient that flows back through it
  carries no 2-pixel checkerboard from the strided conv above it."""
  p = jnp.pad(x, ((0, 0), (1, 1), (0, 0), (0, 0)), mode='edge')
  x = (p[:, :-2] + 2 * x + p[:, 2:]) / 4
  p = jnp.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)), mode='edge')
  return (p[:, :, :-2] + 2 * x + p[:, :, 2:]) / 4


def dense(features: int, init: str, name: str | None = None,
          use_bias: bool = True, dtype: Any = jnp.float32) -> nn.Module:
  return nn.Dense(features, use_bias=use_bias, kernel_init=kernel_init(init), name=name,
                  dtype=dtype)


def activation(leak: float):
  """ReLU, or leaky ReLU with negative slope `leak` (DCGAN's discriminators use 0.2)."""
  return nn.relu if leak == 0 else functools.partial(nn.leaky_relu, negative_slope=leak)
