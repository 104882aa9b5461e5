"""Visual attribute vectors (Larsen et al. 2016, sec. 4.1): the library half of
`python -m vaegan_jax.attributes` (see that module for the command and what it prints).

An attribute's vector is the mean code of the training images that have it minus the
mean code of those that lack it (`attribute_vectors`, pure); `vectors` computes every
attribute's from one pass over the training codes and caches them per checkpoint;
`edit` decodes codes shifted along a vector; `class_effect` and `attribute_effect`
measure what a vector does with an independent classifier or attribute predictor.
"""

from __future__ import annotations

import os
import sys

import jax
import numpy as np

from vaegan_jax import classifier
from vaegan_jax import errors
from vaegan_jax import input_pipeline
from vaegan_jax import label_eval
from vaegan_jax import labels
from vaegan_jax import live_eval
from vaegan_jax import mixture
from vaegan_jax import sampling

UsageError = errors.UsageError

ENCODE_IMAGES = 20000  # training images whose codes make the vectors (at most)
READ_CHUNK = 1000  # images read and preprocessed at a time
CACHE_DIR = 'attribute_vectors'
DEFAULT_SCALES = (-2.0, -1.0, 0.0, 1.0, 2.0)
NUM_MEASURE = 200
GRAY = np.array([0.299, 0.587, 0.114], np.float32)  # PIL's convert('L')


def warn(msg: str) -> None:
  print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------- pure math


def membership(raw: np.ndarray, kind: str, num: int) -> np.ndarray:
  """Raw int8 labels [n, R] -> int8 [n, A]: +1 has attribute a, -1 lacks it, 0 unknown.

  classes: A = num classes, column c is +1 for the images of class c and -1 for the
  others (a row whose class index is out of range is all 0); attributes: the +1/-1/0
  values themselves.
  """
  raw = np.asarray(raw)
  if kind == 'classes':
    idx = raw[:, 0].astype(np.int64)
    m = np.where(idx[:, None] == np.arange(num)[None], 1, -1).astype(np.int8)
    m[(idx < 0) | (idx >= num)] = 0
    return m
  return np.sign(raw).astype(np.int8)


def attribute_vectors(codes: np.ndarray, has: np.ndarray) -> np.ndarray:
  """Codes [n, Z] and membership [n, A] (+1 has, -1 lacks, 0 neither; or bool) ->
  float32 [A, Z]: mean code of the images that have each attribute minus the mean code
  of those that lack it (zeros where either side is empty)."""
  codes = np.asarray(codes, np.float64)
  has = np.asarray(has)
  if has.dtype == bool:
    has = np.where(has, 1, -1)
  pos, neg = (has > 0).astype(np.float64), (has < 0).astype(np.float64)
  n_pos, n_neg = pos.sum(0), neg.sum(0)
  v = (pos.T @ codes) / np.maximum(n_pos, 1)[:, None] - (
      neg.T @ codes) / np.maximum(n_neg, 1)[:, None]
  v[(n_pos == 0) | (n_neg == 0)] = 0.0
  return v.astype(np.float32)


def shifted_codes(mu: np.ndarray, v: np.ndarray, scales) -> np.ndarray:
  """Codes [n, Z], one vector [Z] and scales [S] -> [n, S, Z]: mu + s * v."""
  mu = np.asarray(mu, np.float32)
  s = np.asarray(scales, np.float32)
  return mu[:, None, :] + s[None, :, None] * np.asarray(v, np.float32)[None, None, :]


def parse_scales(text) -> tuple[float, ...]:
  """'-2,-1,0,1,2' (or a sequence of numbers) -> the scales; one-line UsageError."""
  parts = [p.strip() for p in text.split(',')] if isinstance(text, str) else list(text)
  try:
    scales = tuple(float(p) for p in parts if p != '')
  except (TypeError, ValueError):
    raise UsageError(f'--scales={text}: give comma-separated numbers such as '
                     '-2,-1,0,1,2') from None
  if not scales or not all(np.isfinite(scales)):
    raise UsageError(f'--scales={text}: give comma-separated numbers such as -2,-1,0,1,2')
  return scales


def resolve_attribute(spec, kind: str, names) -> int:
  """The column of --attribute `spec`: a name (exact, else case-insensitive) or an index
  0..A-1 (for classes the class name, e.g. the digit, comes first); else one line that
  lists the known names."""
  names = tuple(names)
  text = str(spec).strip()
  if text in names:
    return names.index(text)
  folded = [i for i, n in enumerate(names) if n.lower() == text.lower()]
  if len(folded) == 1:
    return folded[0]
  if text.lstrip('-').isdigit() and 0 <= int(text) < len(names):
    return int(text)
  what = 'classes' if kind == 'classes' else 'attributes'
  raise UsageError(f'unknown attribute {text!r}; the data set\'s {what} (name or index '
                   f'0..{len(names) - 1}): {", ".join(names)}')


# ---------------------------------------------------------------------------- data


def label_kind(config, ds) -> tuple[str, tuple[str, ...]]:
  """(kind, names) of a data set's labels (labels.data_kind); a UsageError without."""
  kind, names = labels.data_kind(ds)
  if not kind:
    raise UsageError(f'the data set {config.dataset!r} has no labels: attribute vectors '
                     'need class labels (digits, class folders DIR/<class>/*.png) or '
                     'attributes (CelebA\'s list_attr_celeba.txt)')
  return kind, names


def cache_path(workdir: str, config, state, ema: bool = True, among: str = '') -> str:
  """WORKDIR/attribute_vectors/<step>.npz (<step>_raw.npz for the raw parameters of a
  run that also keeps averaged ones), as sample_cli.gmm_cache; <step>_among-<A>.npz for
  the vectors taken among the images that have attribute A."""
  path = mixture.path(workdir, config, int(state.step), ema, folder=CACHE_DIR)
  return path[:-len('.npz')] + f'_among-{among}.npz' if among else path


def training_codes(config, nets, state, ds, limit: int = ENCODE_IMAGES):
  """(codes float32 [n, Z], raw labels [n, R]) of the first min(limit, size) images of
  the training data set `ds`; labels read after their images (a corrupt image's stand-in
  brings its own label)."""
  n = min(limit, ds.num_examples)
  rng = np.random.default_rng(config.seed)
  codes, raw = [], []
  for i in range(0, n, READ_CHUNK):
    idx = np.arange(i, min(n, i + READ_CHUNK))
    codes.append(sampling.encode_all(nets, state, ds.batch(idx, rng).astype(np.float32)))
    raw.append(np.asarray(ds.read_labels(idx)))
  return np.concatenate(codes).astype(np.float32), np.concatenate(raw)


def _read_cache(path: str, names, latent_dim: int) -> dict | None:
  try:
    with np.load(path, allow_pickle=False) as f:
      d = {k: f[k] for k in f.files}
  except (OSError, ValueError, EOFError):
    return None
  if (tuple(str(n) for n in d.get('names', ())) != tuple(names)
      or d.get('vectors', np.zeros((0, 0))).shape != (len(names), latent_dim)):
    return None  # another data set or model: computed again
  return d


def vectors(config, nets, state, cache: str | None = None, ds=None,
            among: int | None = None) -> dict:
  """Every attribute's vector, read from the .npz `cache` or computed (and cached).

  `among`: a column; only the training images that have that attribute count (the
  vectors of skin tone or Woman among the emoji People, as CelebA's among faces).
  Returns dict(kind, names [A], vectors float32 [A, Z], count_with [A],
  count_without [A], num_images): see the module doc.
  """
  if ds is None:
    c = config.copy_and_resolve_references()
    c.random_flip = False
    ds = input_pipeline.load(c)
  kind, names = label_kind(config, ds)
  if cache and os.path.exists(cache):
    d = _read_cache(cache, names, int(config.latent_dim))
    if d is not None:
      d['kind'] = str(d['kind'])
      d['names'] = tuple(str(n) for n in d['names'])
      return d
  n = min(ENCODE_IMAGES, ds.num_examples)
  warn(f'attribute vectors: encoding {n} training images'
        + (f' (cached in {cache})' if cache else ''))
  codes, raw = training_codes(config, nets, state, ds)
  has = membership(raw, kind, len(names))
  if among is not None:
    has[has[:, among] <= 0] = 0  # images without the attribute count for neither side
  d = dict(kind=kind, names=tuple(names), vectors=attribute_vectors(codes, has),
           count_with=(has > 0).sum(0).astype(np.int64),
           count_without=(has < 0).sum(0).astype(np.int64),
           num_images=np.int64(len(codes)))
  if cache:
    try:
      os.makedirs(os.path.dirname(cache), exist_ok=True)
      tmp = cache + '.tmp.npz'
      np.savez(tmp, **dict(d, names=np.array(names, dtype=str), kind=np.array(kind)))
      os.replace(tmp, cache)
    except OSError as e:  # a read-only workdir: no cache, same vectors
      warn(f'warning: cannot cache the attribute vectors in {cache}: {e.strerror or e}')
  return d


def heldout_data(config):
  """(held-out data set, split name); one note line when it is the training images."""
  ds, split = live_eval.heldout(config)
  if split == config.split:
    warn(f'note: {config.dataset!r} has no held-out split: the rows are training '
          'images (set --config.val_fraction > 0 when training to hold some out)')
  return ds, split


def lacking(ds, kind: str, names, column: int, num: int,
            among: int | None = None) -> np.ndarray:
  """Indices of `num` images of `ds` that lack attribute `column` (and have attribute
  `among`, if given), spread evenly over the ones that do (a folder's held-out split is
  in class order: the first `num` would often be one kind of image)."""
  has = membership(ds.read_labels(np.arange(ds.num_examples)), kind, len(names))
  keep = has[:, column] < 0
  if among is not None:
    keep &= has[:, among] > 0
  idx = np.flatnonzero(keep)
  if len(idx) <= num:
    return idx
  return idx[np.linspace(0, len(idx) - 1, num).astype(int)]


def images(config, ds, idx) -> np.ndarray:
  out = [ds.batch(idx[i:i + READ_CHUNK], np.random.default_rng(config.seed))
         for i in range(0, len(idx), READ_CHUNK)]
  return np.concatenate(out).astype(np.float32)


def edit(nets, state, mu: np.ndarray, v: np.ndarray, scales) -> np.ndarray:
  """decode(mu + s * v) for each code and scale: float32 [n, S, H, W, C]."""
  z = shifted_codes(mu, v, scales)
  x = sampling.decode_all(nets, state, z.reshape(-1, z.shape[-1]))
  return x.reshape(z.shape[:2] + x.shape[1:]).astype(np.float32)


# -------------------------------------------------------------------------- measure


def _gray(x: np.ndarray) -> np.ndarray:
  return x if x.shape[-1] == 1 else (x @ GRAY)[..., None]


def measure_classifier(config, steps: int = 400) -> classifier.Classifier:
  """compare's classifier for the run's data (classifier.load_split, seed config.seed)."""
  split_args = dict(data=config.dataset, image_size=int(config.image_size),
                    data_path=config.get('data_path', ''))
  train = classifier.load_split('train', seed=config.seed, **split_args)
  heldout = classifier.load_split('validation', seed=config.seed, **split_args)
  return classifier.train_classifier(train, heldout, steps=steps, seed=config.seed)


def class_effect(config, nets, state, vecs: dict, scales, num: int = NUM_MEASURE,
                 clf: classifier.Classifier | None = None, classifier_steps: int = 400,
                 heldout=None) -> dict:
  """How much each class vector turns other classes' images into that class.

  For each class c: the first `num` held-out images (`heldout`, default
  live_eval.heldout(config)) not of class c, their codes shifted by s * v_c for each
  scale, decoded and scored by `clf` (default: measure_classifier(config,
  classifier_steps)). Returns dict(classes, scales, prob [K][S] (mean softmax
  probability of c), classified [K][S] (fraction predicted c), n [K] (images per class),
  classifier_accuracy (on its held-out split), num).
  """
  if vecs['kind'] != 'classes':
    raise UsageError('--measure scores class vectors with a digit/class classifier; '
                     f'{config.dataset!r} has attributes, not classes')
  scales = tuple(float(s) for s in scales)
  names = tuple(vecs['names'])
  k = len(names)
  if heldout is None:
    heldout, _ = heldout_data(config)
  if clf is None:
    clf = measure_classifier(config, classifier_steps)
  if clf.num_classes < k:
    raise UsageError(f'the classifier knows {clf.num_classes} classes, the data set {k}')
  has = membership(heldout.read_labels(np.arange(heldout.num_examples)), 'classes', k)
  chosen = [np.flatnonzero(has[:, c] < 0)[:num] for c in range(k)]
  union = np.unique(np.concatenate(chosen)) if k else np.zeros(0, np.int64)
  mu = (sampling.encode_all(nets, state, images(config, heldout, union))
        if len(union) else None)
  probs = jax.jit(lambda p, x: jax.nn.softmax(clf.apply(p, x)[0], -1))
  prob, frac = np.full((k, len(scales)), np.nan), np.full((k, len(scales)), np.nan)
  for c in range(k):
    if not len(chosen[c]):
      continue
    x = edit(nets, state, mu[np.searchsorted(union, chosen[c])], vecs['vectors'][c], scales)
    p = classifier.batched(lambda b: probs(clf.params, b), _gray(x.reshape(-1, *x.shape[2:])))
    p = p.reshape(len(chosen[c]), len(scales), -1)
    prob[c] = p[..., c].mean(0)
    frac[c] = (p.argmax(-1) == c).mean(0)
  return dict(classes=list(names), scales=list(scales), prob=prob.tolist(),
              classified=frac.tolist(), n=[int(len(i)) for i in chosen],
              classifier_accuracy=float(clf.heldout_accuracy), num=int(num))


def attribute_predictor(config, steps: int = 400):
  """An attribute predictor trained on the run's training images (label_eval's CNN, one
  sigmoid per attribute of the data set, the labelled rows only), and its accuracy per
  attribute on the held-out split: (predict(images) -> probabilities [n, A], accuracy
  [A], split name)."""
  def labelled(ds):
    idx = np.arange(min(ds.num_examples, label_eval.MAX_IMAGES))
    raw = np.sign(ds.read_labels(idx)).astype(np.float32)
    idx = idx[np.all(raw != 0, axis=1)]
    return images(config, ds, idx), raw[np.all(raw != 0, axis=1)]

  c = config.copy_and_resolve_references()
  c.random_flip = False
  train_x, train_y = labelled(input_pipeline.load(c))
  predict, _ = label_eval.train_predictor(train_x, train_y, 'attributes', steps=steps,
                                          seed=config.seed)
  heldout, split = live_eval.heldout(config)
  held_x, held_y = labelled(heldout)
  accuracy = np.mean(np.sign(predict(held_x)) == held_y, axis=0)
  return (lambda x: (predict(x) + 1.0) / 2.0), accuracy, split


def attribute_effect(config, nets, state, vecs: dict, scales, num: int = NUM_MEASURE,
                     predictor=None, classifier_steps: int = 400, heldout=None,
                     among: int | None = None) -> dict:
  """What each attribute vector does to the predicted attributes of held-out images.

  For each attribute a: the first `num` held-out images that lack a (and have attribute
  `among`, if given), their codes shifted by s * v_a for each scale and decoded, read
  by `predictor` ((predict, accuracy [A], split), default attribute_predictor(config,
  classifier_steps)). Returns dict(attributes, scales, prob [A][S] (mean predicted
  probability of a), classified [A][S] (fraction predicted to have a), others [A][S]
  (mean |change| of the other attributes' probabilities from the reconstruction,
  s = 0), n [A], predictor_accuracy [A] (held-out), among, num).
  """
  scales = tuple(float(s) for s in scales)
  names = tuple(vecs['names'])
  k = len(names)
  if heldout is None:
    heldout, _ = heldout_data(config)
  predict, accuracy, _ = predictor or attribute_predictor(config, classifier_steps)
  chosen = [lacking(heldout, 'attributes', names, a, num, among)
            if vecs['count_with'][a] and vecs['count_without'][a] else np.zeros(0, int)
            for a in range(k)]
  union = np.unique(np.concatenate(chosen)) if k else np.zeros(0, np.int64)
  mu = (sampling.encode_all(nets, state, images(config, heldout, union))
        if len(union) else None)
  with_zero = scales + (0.0,)
  prob, frac, others = (np.full((k, len(scales)), np.nan) for _ in range(3))
  for a in range(k):
    if not len(chosen[a]):
      continue
    x = edit(nets, state, mu[np.searchsorted(union, chosen[a])], vecs['vectors'][a],
             with_zero)
    p = predict(x.reshape(-1, *x.shape[2:])).reshape(len(chosen[a]), len(with_zero), k)
    prob[a] = p[:, :-1, a].mean(0)
    frac[a] = (p[:, :-1, a] > 0.5).mean(0)
    change = np.abs(p[:, :-1] - p[:, -1:]).mean(0)  # [S, A]
    others[a] = np.delete(change, a, axis=1).mean(1)
  return dict(attributes=list(names), scales=list(scales), prob=prob.tolist(),
              classified=frac.tolist(), others=others.tolist(),
              n=[int(len(i)) for i in chosen],
              predictor_accuracy=[float(v) for v in accuracy],
              among=None if among is None else names[among], num=int(num))


def table(effect: dict) -> str:
  """The --measure table: rows = classes or attributes, columns = scales, 'p
  (fraction)'; for attributes also the other attributes' mean |change|."""
  is_class = 'classes' in effect
  names = effect['classes'] if is_class else effect['attributes']
  head = ['class' if is_class else 'attribute'] + [f's={s:g}' for s in effect['scales']]
  rows = [[name] + [f'{p:.3f} ({f:.2f})' for p, f in zip(ps, fs)]
          for name, ps, fs in zip(names, effect['prob'], effect['classified'])]
  if not is_class:
    head += ['others |dp|', 'predictor acc']
    for r, o, acc in zip(rows, effect['others'], effect['predictor_accuracy']):
      r += [' '.join(f'{v:.3f}' for v in o), f'{acc:.3f}']
  widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
  fmt = lambda r: '  '.join(x.rjust(w) for x, w in zip(r, widths))
  if is_class:
    title = (f'p(class c) of held-out images of other classes shifted by s * v_c (mean '
             f'softmax; fraction classified as c in brackets; classifier accuracy '
             f'{effect["classifier_accuracy"]:.3f})')
  else:
    among = f' among those with {effect["among"]}' if effect.get('among') else ''
    title = (f'p(a) of held-out images without a{among} shifted by s * v_a (mean '
             'predicted probability; fraction predicted to have a in brackets); others '
             '|dp|: the mean change of the other attributes\' probabilities from s = 0, '
             'per scale; predictor acc: its held-out accuracy on a')
  return '\n'.join([title, fmt(head)] + [fmt(r) for r in rows])
