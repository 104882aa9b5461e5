"""pytorch-fid's FID InceptionV3 in Flax: the pool3 features that FID and KID are reported in.

The network is the 2015 TensorFlow Inception graph as pytorch-fid builds it
(`pytorch_fid.inception.fid_inception_v3`): torchvision's InceptionV3 layers with the
FID variants of its blocks:
  - blocks A, C and the first E average-pool their pool branch without counting the
    zero padding (TensorFlow's `count_include_pad=False`);
  - the second E block max-pools its pool branch (a quirk of the TF graph);
  - every conv is conv (no bias) -> BatchNorm (eps 1e-3, running statistics) -> ReLU.
Input: images in [0, 1] (NHWC here), bilinearly resized to 299x299 exactly as
`torch.nn.functional.interpolate(mode='bilinear', align_corners=False)` (no antialias),
then scaled to [-1, 1]; output: the 2048 averages of the last block (pool3).
Convolutions run at full float32 precision (no TF32 on GPUs), so the features match
pytorch-fid's on every backend (tests/test_inception.py).

Weights: pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`, read by
vaegan_jax.torch_weights without torch, converted once to a cached .npz (`load`).
"""

from __future__ import annotations

import os
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from vaegan_jax import errors
from vaegan_jax import torch_weights

SIZE = 299  # the network's input size
FEATURES = 2048  # pool3
WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth'  # pytorch-fid's FID weights
HIGHEST = jax.lax.Precision.HIGHEST


WeightsMissing = errors.WeightsMissing


# ------------------------------------------------------------------------- layers


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
  """[n_out, n_in] weights of torch's bilinear resize along one axis
  (align_corners=False, no antialias): source coordinate (i + 0.5) n_in / n_out - 0.5,
  clamped at 0, linear between its two neighbours (the last one repeated at the edge)."""
  scale = n_in / n_out
  src = np.maximum((np.arange(n_out) + 0.5) * scale - 0.5, 0.0)
  i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
  i1 = np.minimum(i0 + 1, n_in - 1)
  w1 = (src - i0).astype(np.float32)
  m = np.zeros((n_out, n_in), np.float32)
  m[np.arange(n_out), i0] += 1.0 - w1
  m[np.arange(n_out), i1] += w1
  return m


def resize_bilinear(x: jax.Array, size: int = SIZE) -> jax.Array:
  """NHWC images -> [N, size, size, C], as torch's bilinear interpolate (see above)."""
  rh = jnp.asarray(_resize_matrix(x.shape[1], size))
  rw = jnp.asarray(_resize_matrix(x.shape[2], size))
  x = jnp.einsum('oh,nhwc->nowc', rh, x, precision=HIGHEST)
  return jnp.einsum('pw,nowc->nopc', rw, x, precision=HIGHEST)


def _max_pool(x, window=3, stride=2, pad=0):
  return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, window, window, 1),
                               (1, stride, stride, 1),
                               ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def _avg_pool_exclude_pad(x):
  """3x3, stride 1, padding 1, the padded zeros not counted (count_include_pad=False)."""
  pads = ((0, 0), (1, 1), (1, 1), (0, 0))
  window, strides = (1, 3, 3, 1), (1, 1, 1, 1)
  sums = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, pads)
  counts = jax.lax.reduce_window(jnp.ones((1,) + x.shape[1:3] + (1,), x.dtype), 0.0,
                                 jax.lax.add, window, strides, pads)
  return sums / counts


class BasicConv2d(nn.Module):
  """conv (no bias) -> BatchNorm (eps 1e-3, running statistics) -> ReLU."""

  features: int
  kernel: tuple[int, int]
  strides: int = 1
  padding: tuple[int, int] = (0, 0)

  @nn.compact
  def __call__(self, x):
    ph, pw = self.padding
    x = nn.Conv(self.features, self.kernel, (self.strides, self.strides),
                padding=((ph, ph), (pw, pw)), use_bias=False, precision=HIGHEST,
                name='conv')(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name='bn')(x)
    return nn.relu(x)


def _c(features, kernel, strides=1, padding=(0, 0), name=None):
  k = (kernel, kernel) if isinstance(kernel, int) else kernel
  p = (padding, padding) if isinstance(padding, int) else padding
  return BasicConv2d(features, k, strides, p, name=name)


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = _c(64, 1, name='branch1x1')(x)
    b5 = _c(48, 1, name='branch5x5_1')(x)
    b5 = _c(64, 5, padding=2, name='branch5x5_2')(b5)
    b3 = _c(64, 1, name='branch3x3dbl_1')(x)
    b3 = _c(96, 3, padding=1, name='branch3x3dbl_2')(b3)
    b3 = _c(96, 3, padding=1, name='branch3x3dbl_3')(b3)
    bp = _c(self.pool_features, 1, name='branch_pool')(_avg_pool_exclude_pad(x))
    return jnp.concatenate([b1, b5, b3, bp], -1)


class InceptionB(nn.Module):

  @nn.compact
  def __call__(self, x):
    b3 = _c(384, 3, strides=2, name='branch3x3')(x)
    bd = _c(64, 1, name='branch3x3dbl_1')(x)
    bd = _c(96, 3, padding=1, name='branch3x3dbl_2')(bd)
    bd = _c(96, 3, strides=2, name='branch3x3dbl_3')(bd)
    return jnp.concatenate([b3, bd, _max_pool(x)], -1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c7 = self.channels_7x7
    b1 = _c(192, 1, name='branch1x1')(x)
    b7 = _c(c7, 1, name='branch7x7_1')(x)
    b7 = _c(c7, (1, 7), padding=(0, 3), name='branch7x7_2')(b7)
    b7 = _c(192, (7, 1), padding=(3, 0), name='branch7x7_3')(b7)
    bd = _c(c7, 1, name='branch7x7dbl_1')(x)
    bd = _c(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_2')(bd)
    bd = _c(c7, (1, 7), padding=(0, 3), name='branch7x7dbl_3')(bd)
    bd = _c(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_4')(bd)
    bd = _c(192, (1, 7), padding=(0, 3), name='branch7x7dbl_5')(bd)
    bp = _c(192, 1, name='branch_pool')(_avg_pool_exclude_pad(x))
    return jnp.concatenate([b1, b7, bd, bp], -1)


class InceptionD(nn.Module):

  @nn.compact
  def __call__(self, x):
    b3 = _c(192, 1, name='branch3x3_1')(x)
    b3 = _c(320, 3, strides=2, name='branch3x3_2')(b3)
    b7 = _c(192, 1, name='branch7x7x3_1')(x)
    b7 = _c(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
    b7 = _c(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
    b7 = _c(192, 3, strides=2, name='branch7x7x3_4')(b7)
    return jnp.concatenate([b3, b7, _max_pool(x)], -1)


class InceptionE(nn.Module):
  pool: str  # 'avg' (first E block, padding not counted) or 'max' (second)

  @nn.compact
  def __call__(self, x):
    b1 = _c(320, 1, name='branch1x1')(x)
    b3 = _c(384, 1, name='branch3x3_1')(x)
    b3 = jnp.concatenate([_c(384, (1, 3), padding=(0, 1), name='branch3x3_2a')(b3),
                          _c(384, (3, 1), padding=(1, 0), name='branch3x3_2b')(b3)], -1)
    bd = _c(448, 1, name='branch3x3dbl_1')(x)
    bd = _c(384, 3, padding=1, name='branch3x3dbl_2')(bd)
    bd = jnp.concatenate([_c(384, (1, 3), padding=(0, 1), name='branch3x3dbl_3a')(bd),
                          _c(384, (3, 1), padding=(1, 0), name='branch3x3dbl_3b')(bd)], -1)
    pooled = _avg_pool_exclude_pad(x) if self.pool == 'avg' else _max_pool(x, 3, 1, 1)
    bp = _c(192, 1, name='branch_pool')(pooled)
    return jnp.concatenate([b1, b3, bd, bp], -1)


class FIDInceptionV3(nn.Module):
  """Images [N, H, W, 3] in [0, 1] -> pool3 features [N, 2048] (pytorch-fid's block 3)."""

  @nn.compact
  def __call__(self, x):
    x = resize_bilinear(x, SIZE)
    x = 2.0 * x - 1.0
    x = _c(32, 3, strides=2, name='Conv2d_1a_3x3')(x)
    x = _c(32, 3, name='Conv2d_2a_3x3')(x)
    x = _c(64, 3, padding=1, name='Conv2d_2b_3x3')(x)
    x = _max_pool(x)
    x = _c(80, 1, name='Conv2d_3b_1x1')(x)
    x = _c(192, 3, name='Conv2d_4a_3x3')(x)
    x = _max_pool(x)
    x = InceptionA(32, name='Mixed_5b')(x)
    x = InceptionA(64, name='Mixed_5c')(x)
    x = InceptionA(64, name='Mixed_5d')(x)
    x = InceptionB(name='Mixed_6a')(x)
    x = InceptionC(128, name='Mixed_6b')(x)
    x = InceptionC(160, name='Mixed_6c')(x)
    x = InceptionC(160, name='Mixed_6d')(x)
    x = InceptionC(192, name='Mixed_6e')(x)
    x = InceptionD(name='Mixed_7a')(x)
    x = InceptionE('avg', name='Mixed_7b')(x)
    x = InceptionE('max', name='Mixed_7c')(x)
    return jnp.mean(x, axis=(1, 2))


# ------------------------------------------------------------------------ weights


def variables_from_state_dict(state_dict: dict[str, np.ndarray]) -> dict[str, Any]:
  """pytorch-fid's state dict (torch names, OIHW kernels) -> Flax variables
  {'params': ..., 'batch_stats': ...}. The classifier (fc.*) is not needed."""
  params, stats = {}, {}
  for name, value in state_dict.items():
    *path, layer, leaf = name.split('.')
    if name.startswith('fc.') or leaf == 'num_batches_tracked':
      continue
    value = np.asarray(value, np.float32)
    if layer == 'conv' and leaf == 'weight':
      tree, key, value = params, 'kernel', value.transpose(2, 3, 1, 0)
    elif layer == 'bn' and leaf in ('weight', 'bias'):
      tree, key = params, {'weight': 'scale', 'bias': 'bias'}[leaf]
    elif layer == 'bn' and leaf in ('running_mean', 'running_var'):
      tree, key = stats, {'running_mean': 'mean', 'running_var': 'var'}[leaf]
    else:
      raise ValueError(f'unexpected entry {name!r} in the Inception weights: is this '
                       f'pytorch-fid\'s {WEIGHTS_FILE}?')
    for part in path + [layer]:
      tree = tree.setdefault(part, {})
    tree[key] = value
  return {'params': params, 'batch_stats': stats}


def _check_shapes(variables) -> None:
  """Raises ValueError unless `variables` have exactly the network's shapes."""
  expected = jax.eval_shape(lambda: FIDInceptionV3().init(
      jax.random.PRNGKey(0), jnp.zeros((1, 75, 75, 3))))
  got = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, jnp.float32), variables)
  exp = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, jnp.float32), dict(expected))
  if jax.tree.structure(got) != jax.tree.structure(exp):
    raise ValueError('the weights do not have the FID InceptionV3\'s layers')
  for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(got)[0],
                          jax.tree.leaves(exp)):
    if a.shape != b.shape:
      raise ValueError(f'{jax.tree_util.keystr(path)} has shape {a.shape}, the FID '
                       f'InceptionV3 needs {b.shape}')


def torch_hub_dir() -> str:
  """Where torch (and so pytorch-fid) caches downloaded weights."""
  home = os.environ.get('TORCH_HOME') or os.path.join(
      os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'torch')
  return os.path.join(home, 'hub', 'checkpoints')


def cache_dir() -> str:
  """Where the converted .npz is kept."""
  return os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'),
                      'vaegan_jax')


def find_weights(path: str | None = None) -> str:
  """`path` if given (must exist), else pytorch-fid's file in torch's hub cache, else the
  converted .npz in our cache. Raises WeightsMissing naming the file and where to put it."""
  if path:
    if not os.path.isfile(path):
      raise WeightsMissing(f'--inception_weights {path} is not a file; give the path of '
                           f'pytorch-fid\'s {WEIGHTS_FILE}')
    return path
  npz = os.path.join(cache_dir(), WEIGHTS_FILE.replace('.pth', '.npz'))
  for candidate in (npz, os.path.join(torch_hub_dir(), WEIGHTS_FILE)):
    if os.path.isfile(candidate):
      return candidate
  raise WeightsMissing(
      f'no Inception weights: pytorch-fid\'s {WEIGHTS_FILE} is not in '
      f'{torch_hub_dir()} (where pytorch-fid caches it after its first run); copy it '
      f'there or pass --inception_weights PATH (it is published at '
      'github.com/mseitzer/pytorch-fid/releases, tag fid_weights)')


def load(path: str | None = None, cache: bool = True) -> dict[str, Any]:
  """The Flax variables of the FID InceptionV3 from a .pth (torch zip or legacy format,
  read without torch) or a converted .npz; a .pth is converted once to the cache."""
  path = find_weights(path)
  if path.endswith('.npz'):
    with np.load(path) as z:
      flat = {k: z[k] for k in z.files}
    variables = {}
    for key, value in flat.items():
      tree = variables
      *parts, leaf = key.split('/')
      for part in parts:
        tree = tree.setdefault(part, {})
      tree[leaf] = value
  else:
    try:
      variables = variables_from_state_dict(torch_weights.load(path))
    except (ValueError, torch_weights.UnsupportedFile) as e:
      raise WeightsMissing(f'{path} is not usable as the FID Inception weights: {e}') from e
    if cache and os.path.basename(path) == WEIGHTS_FILE:
      _save_npz(variables, os.path.join(cache_dir(), WEIGHTS_FILE.replace('.pth', '.npz')))
  try:
    _check_shapes(variables)
  except ValueError as e:
    raise WeightsMissing(f'{path}: {e}') from e
  return variables


def _save_npz(variables, path: str) -> None:
  flat = {jax.tree_util.keystr(p, simple=True, separator='/'): np.asarray(v)
          for p, v in jax.tree_util.tree_flatten_with_path(variables)[0]}
  try:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path + '.tmp.npz', **flat)
    os.replace(path + '.tmp.npz', path)
  except OSError:
    pass  # a read-only cache only costs the conversion next time


# ----------------------------------------------------------------------- features


@jax.jit
def _apply(variables, x):
  return FIDInceptionV3().apply(variables, x)


def to_unit_rgb(images: np.ndarray) -> np.ndarray:
  """Images [N, H, W, C] in [-1, 1] (C 1 or 3) -> float32 [N, H, W, 3] in [0, 1];
  grayscale repeated to 3 channels, as pytorch-fid users do."""
  x = (np.asarray(images, np.float32) + 1.0) / 2.0
  if x.ndim != 4 or x.shape[-1] not in (1, 3):
    raise ValueError(f'images must be [N, H, W, 1 or 3], got shape {x.shape}')
  return np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x


def features(variables, images: np.ndarray, batch_size: int = 50) -> np.ndarray:
  """pool3 features float64 [N, 2048] of images [N, H, W, C] in [-1, 1]; batches of
  `batch_size` (at most N; the last padded, so one compile per image size)."""
  x = to_unit_rgb(images)
  batch_size = min(batch_size, len(x))
  out = []
  for i in range(0, len(x), batch_size):
    part = x[i:i + batch_size]
    m = len(part)
    if m < batch_size:
      part = np.concatenate([part, np.zeros((batch_size - m,) + part.shape[1:], part.dtype)])
    out.append(np.asarray(_apply(variables, part))[:m])
  return np.concatenate(out).astype(np.float64)
