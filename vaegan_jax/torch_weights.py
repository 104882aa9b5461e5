"""Reads a PyTorch state dict (`torch.save` file) into numpy arrays, without torch.

Both of torch's formats:
  - zip (torch >= 1.6): `<name>/data.pkl` holds the pickled dict, each tensor's storage is
    the raw little-endian bytes of `<name>/data/<key>`;
  - legacy (before 1.6; what pytorch-fid's 2019 Inception file uses): a sequence of
    pickles (magic number, protocol version, system info, the dict, the storage keys),
    then each storage as an int64 element count followed by its bytes.
The unpickler is restricted: it builds only ordered dicts, tensors from storages
(`torch._utils._rebuild_tensor[_v2]`, `_rebuild_parameter`) and the storage types below;
any other global in the file is refused, so a .pth cannot run code here.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'LongStorage': np.int64, 'IntStorage': np.int32, 'ShortStorage': np.int16,
    'CharStorage': np.int8, 'ByteStorage': np.uint8, 'BoolStorage': np.bool_,
}


class UnsupportedFile(ValueError):
  """Not a torch.save file this reader understands (the message says why)."""


class _StorageType:
  def __init__(self, name: str):
    self.dtype = np.dtype(_DTYPES[name])


def _rebuild_tensor(storage, offset, size, stride, *unused):
  """A numpy array viewing `storage` (a flat array) like torch's strided tensor."""
  del unused
  size, stride = tuple(size), tuple(stride)
  if not size:
    return np.array(storage[offset])
  item = storage.dtype.itemsize
  view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                         strides=tuple(s * item for s in stride))
  return np.array(view)  # a contiguous copy


def _rebuild_parameter(data, requires_grad, backward_hooks, *unused):
  del requires_grad, backward_hooks, unused
  return data


_ALLOWED = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
  """Builds only what a state dict needs; storages come from `load_storage`."""

  def __init__(self, file, load_storage):
    super().__init__(file)
    self._load_storage = load_storage

  def find_class(self, module, name):
    if module == 'torch' and name in _DTYPES:
      return _StorageType(name)
    if (module, name) in _ALLOWED:
      return _ALLOWED[(module, name)]
    raise UnsupportedFile(f'refusing to load {module}.{name}: only tensors and dicts '
                          'are read from weight files')

  def persistent_load(self, pid):
    if not isinstance(pid, tuple) or not pid or pid[0] != 'storage':
      raise UnsupportedFile(f'unknown persistent id {pid!r}')
    return self._load_storage(*pid[1:])


def _load_zip(path: str) -> dict:
  with zipfile.ZipFile(path) as z:
    names = z.namelist()
    pkl = [n for n in names if n.endswith('/data.pkl') or n == 'data.pkl']
    if not pkl:
      raise UnsupportedFile(f'{path} is a zip without data.pkl (not a torch.save file)')
    prefix = pkl[0][:-len('data.pkl')]
    cache = {}

    def load_storage(storage_type, key, location, numel, *unused):
      del location, numel, unused
      if key not in cache:
        cache[key] = np.frombuffer(z.read(f'{prefix}data/{key}'),
                                   storage_type.dtype.newbyteorder('<'))
      return cache[key]

    return _Unpickler(io.BytesIO(z.read(pkl[0])), load_storage).load()


def _load_legacy(path: str) -> dict:
  with open(path, 'rb') as f:
    try:
      magic = pickle.load(f)
    except Exception as e:  # pylint: disable=broad-except
      raise UnsupportedFile(f'{path} is neither a torch zip nor a legacy torch file') from e
    if magic != LEGACY_MAGIC:
      raise UnsupportedFile(f'{path} is neither a torch zip nor a legacy torch file')
    version = pickle.load(f)
    if version != 1001:
      raise UnsupportedFile(f'{path}: unsupported legacy protocol version {version}')
    sys_info = pickle.load(f)
    if not sys_info.get('little_endian', True):
      raise UnsupportedFile(f'{path} was saved on a big-endian machine')
    roots = {}

    def load_storage(storage_type, root_key, location, numel, view_metadata=None):
      del location
      roots.setdefault(root_key, (storage_type, numel))
      return _Pending(root_key, view_metadata)

    # Storages come after the dict, so tensors are built in two passes: the pickle
    # first records what each tensor needs, then the bytes are read and filled in.
    obj = _LegacyUnpickler(f, load_storage).load()
    keys = pickle.load(f)
    data = {}
    for key in keys:
      storage_type, numel = roots[key]
      (count,) = struct.unpack('<q', f.read(8))
      nbytes = count * storage_type.dtype.itemsize
      buf = f.read(nbytes)
      if len(buf) != nbytes:
        raise UnsupportedFile(f'{path} is truncated (storage {key})')
      data[key] = np.frombuffer(buf, storage_type.dtype.newbyteorder('<'))
    return _resolve(obj, data)


class _Pending:
  """A storage of a legacy file whose bytes are not read yet."""

  def __init__(self, key, view):
    self.key, self.view = key, view


class _Tensor:
  """A tensor of a legacy file awaiting its storage."""

  def __init__(self, storage, args):
    self.storage, self.args = storage, args


class _LegacyUnpickler(_Unpickler):

  def find_class(self, module, name):
    target = super().find_class(module, name)
    if target is _rebuild_tensor:
      return lambda storage, *args: _Tensor(storage, args)
    return target


def _resolve(obj, data):
  """Replaces each _Tensor in `obj` (dicts, lists, tuples) by its array."""
  if isinstance(obj, _Tensor):
    flat = data[obj.storage.key]
    if obj.storage.view is not None:
      _, offset, size = obj.storage.view
      flat = flat[offset:offset + size]
    return _rebuild_tensor(flat, *obj.args)
  if isinstance(obj, dict):
    return type(obj)((k, _resolve(v, data)) for k, v in obj.items())
  if isinstance(obj, (list, tuple)):
    return type(obj)(_resolve(v, data) for v in obj)
  return obj


def load(path: str) -> dict[str, np.ndarray]:
  """{name: array} of the state dict saved at `path` (either torch format)."""
  if zipfile.is_zipfile(path):
    sd = _load_zip(path)
  else:
    sd = _load_legacy(path)
  if isinstance(sd, dict) and 'state_dict' in sd and isinstance(sd['state_dict'], dict):
    sd = sd['state_dict']
  if not isinstance(sd, dict):
    raise UnsupportedFile(f'{path} holds a {type(sd).__name__}, not a state dict')
  return {k: v for k, v in sd.items() if isinstance(v, np.ndarray)}
