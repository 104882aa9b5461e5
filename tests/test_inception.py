"""The FID InceptionV3 port and the torch-free weight reader.

The equality with pytorch-fid (features and FID) runs where torch, torchvision and
pytorch-fid are installed (`pip install -e '.[fid-check]'`) and is skipped otherwise;
the rest needs neither.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vaegan_jax import inception
from vaegan_jax import metrics
from vaegan_jax import torch_weights

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')


@pytest.mark.parametrize('name', ['state_dict_zip.pth', 'state_dict_legacy.pth'])
def test_both_torch_formats_read_without_torch(name):
  """Files written by torch.save (zip, and legacy with _use_new_zipfile_serialization=
  False): a conv/BatchNorm/linear state dict, a view at an offset, a transposed tensor,
  float16 and int64."""
  got = torch_weights.load(os.path.join(DATA, name))
  with np.load(os.path.join(DATA, 'state_dict_expected.npz')) as z:
    expected = {k: z[k] for k in z.files}
  assert set(got) == set(expected)
  for k, v in expected.items():
    assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
    np.testing.assert_array_equal(got[k], v)


def test_a_file_that_would_run_code_is_refused(tmp_path):
  import pickle  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'evil.pth'
  with open(path, 'wb') as f:  # a legacy header, then a pickle calling os.system
    for obj in (torch_weights.LEGACY_MAGIC, 1001, {'little_endian': True}):
      pickle.dump(obj, f, protocol=2)
    f.write(b'cos\nsystem\n(S"echo hacked"\ntR.')
  with pytest.raises(torch_weights.UnsupportedFile, match='refusing to load os.system'):
    torch_weights.load(str(path))
  (tmp_path / 'junk.pth').write_bytes(b'not a torch file')
  with pytest.raises(torch_weights.UnsupportedFile):
    torch_weights.load(str(tmp_path / 'junk.pth'))


def _torch_resize_reference(x, size):
  """Bilinear resize, align_corners=False, written out per output pixel (NumPy)."""
  n, h, w, c = x.shape

  def coords(n_in, n_out):
    out = []
    for i in range(n_out):
      src = max((i + 0.5) * n_in / n_out - 0.5, 0.0)
      i0 = min(int(np.floor(src)), n_in - 1)
      out.append((i0, min(i0 + 1, n_in - 1), src - i0))
    return out

  y = np.zeros((n, size, size, c), np.float64)
  for oi, (a0, a1, la) in enumerate(coords(h, size)):
    for oj, (b0, b1, lb) in enumerate(coords(w, size)):
      y[:, oi, oj] = ((1 - la) * ((1 - lb) * x[:, a0, b0] + lb * x[:, a0, b1]) +
                      la * ((1 - lb) * x[:, a1, b0] + lb * x[:, a1, b1]))
  return y


@pytest.mark.parametrize('h_in,size', [(7, 13), (13, 7), (5, 5), (28, 31)])
def test_resize_is_torch_bilinear_without_antialias(h_in, size):
  x = np.random.default_rng(h_in).uniform(size=(2, h_in, h_in, 3)).astype(np.float32)
  got = np.asarray(inception.resize_bilinear(jnp.asarray(x), size))
  np.testing.assert_allclose(got, _torch_resize_reference(x, size), rtol=1e-6, atol=1e-6)
  if h_in == size:
    np.testing.assert_array_equal(got, x)  # same size: the identity


def test_average_pool_does_not_count_the_padding():
  x = jnp.arange(16.0).reshape(1, 4, 4, 1)
  got = np.asarray(inception._avg_pool_exclude_pad(x))[0, :, :, 0]  # pylint: disable=protected-access
  np.testing.assert_allclose(got[0, 0], np.mean([0, 1, 4, 5]))
  np.testing.assert_allclose(got[1, 1], np.mean([0, 1, 2, 4, 5, 6, 8, 9, 10]))
  np.testing.assert_allclose(got[3, 1], np.mean([8, 9, 10, 12, 13, 14]))


def test_missing_or_wrong_weights_say_which_file_and_where(tmp_path, monkeypatch):
  monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
  monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
  with pytest.raises(inception.WeightsMissing) as e:
    inception.load()
  msg = str(e.value)
  assert inception.WEIGHTS_FILE in msg and str(tmp_path / 'torch') in msg
  assert '--inception_weights' in msg and '\n' not in msg
  with pytest.raises(inception.WeightsMissing, match='not a file'):
    inception.load(str(tmp_path / 'nope.pth'))
  with pytest.raises(inception.WeightsMissing, match='not usable'):
    inception.load(os.path.join(DATA, 'state_dict_zip.pth'))  # a different network


def _random_fid_state_dict(torch, torchvision, seed=0):
  """A state dict with pytorch-fid's names and shapes and random values (He-scaled convs,
  BatchNorm statistics near 1, so activations stay of order 1 through the network)."""
  torch.manual_seed(seed)
  net = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None,
                                        init_weights=False)
  sd = net.state_dict()
  g = torch.Generator().manual_seed(seed)
  for k, v in sd.items():
    if k.endswith('conv.weight'):
      fan_in = v[0].numel()
      sd[k] = torch.randn(v.shape, generator=g) * (2.0 / fan_in) ** 0.5
    elif k.endswith('bn.weight') or k.endswith('running_var'):
      sd[k] = 0.5 + torch.rand(v.shape, generator=g)
    elif k.endswith('bn.bias') or k.endswith('running_mean'):
      sd[k] = 0.1 * torch.randn(v.shape, generator=g)
  return sd


@pytest.fixture(scope='module')
def pytorch_fid_and_port(tmp_path_factory):
  """pytorch-fid's InceptionV3 with random weights (nothing downloaded) and the Flax port
  loaded from the same weights saved as a .pth (zip format) and read without torch."""
  torch = pytest.importorskip('torch')
  torchvision = pytest.importorskip('torchvision')
  pfid = pytest.importorskip('pytorch_fid.inception')
  sd = _random_fid_state_dict(torch, torchvision)
  orig = pfid.load_state_dict_from_url
  pfid.load_state_dict_from_url = lambda *a, **k: sd
  try:
    model = pfid.InceptionV3([3]).eval()
  finally:
    pfid.load_state_dict_from_url = orig
  folder = tmp_path_factory.mktemp('weights')
  paths = {'zip': str(folder / inception.WEIGHTS_FILE),
           'legacy': str(folder / 'legacy.pth')}
  torch.save(sd, paths['zip'])
  torch.save(sd, paths['legacy'], _use_new_zipfile_serialization=False)

  def torch_features(x01):  # NHWC in [0, 1] -> [N, 2048]
    with torch.no_grad():
      out = model(torch.from_numpy(np.ascontiguousarray(x01.transpose(0, 3, 1, 2))))[0]
    return out[:, :, 0, 0].numpy().astype(np.float64)

  return torch_features, paths


@pytest.mark.parametrize('size', [28, 32, 64, 299])
def test_pool3_features_equal_pytorch_fid(pytorch_fid_and_port, size):
  torch_features, paths = pytorch_fid_and_port
  variables = inception.load(paths['zip'], cache=False)
  x01 = np.random.default_rng(size).uniform(size=(3, size, size, 3)).astype(np.float32)
  want = torch_features(x01)
  got = inception.features(variables, 2.0 * x01 - 1.0, batch_size=3)
  assert got.shape == (3, inception.FEATURES)
  assert np.abs(want).max() > 1e-3  # the random network's features are not degenerate
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_legacy_file_gives_the_same_network(pytorch_fid_and_port):
  _, paths = pytorch_fid_and_port
  a = inception.load(paths['zip'], cache=False)
  b = inception.load(paths['legacy'], cache=False)
  jax.tree.map(np.testing.assert_array_equal, a, b)


def test_fid_equals_pytorch_fid(pytorch_fid_and_port):
  fid_score = pytest.importorskip('pytorch_fid.fid_score')
  torch_features, paths = pytorch_fid_and_port
  variables = inception.load(paths['zip'], cache=False)
  rng = np.random.default_rng(7)
  sets = [rng.uniform(size=(48, 32, 32, 3)).astype(np.float32),
          (rng.uniform(size=(48, 32, 32, 3)) ** 2).astype(np.float32)]
  ours = [inception.features(variables, 2.0 * s - 1.0, batch_size=16) for s in sets]
  theirs = [torch_features(s) for s in sets]
  stats = [(f.mean(0), np.cov(f, rowvar=False)) for f in theirs]
  want = fid_score.calculate_frechet_distance(*stats[0], *stats[1])
  got = metrics.frechet_distance(*ours)
  assert want > 0
  np.testing.assert_allclose(got, want, rtol=1e-3)
