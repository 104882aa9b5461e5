"""Visual attribute vectors (Larsen et al. 2016, "Autoencoding beyond pixels", sec. 4.1).

  python -m vaegan_jax.attributes --workdir W --attribute Smiling --out grid.png
      [--scales=-2,-1,0,1,2] [--num 8] [--save_array arr.npy] [--step N] [--no_ema]
      [--measure [--num_measure 200] [--out_json effect.json]] [--among People]
  python -m vaegan_jax.attributes --workdir W --evaluate [--baseline] [--out_json r.json]

An attribute's vector is the mean code (the encoder's posterior mean) of the training
images that have the attribute minus the mean code of those that lack it. Adding it to
the code of an image that lacks the attribute and decoding should add the attribute.
Labels come from the run's data set (input_pipeline.Dataset.read_labels):
  classes     (digits, class folders, tfds mnist): attribute c is "of class c", against
              every other class; --attribute takes the class name (for the digits the
              digit itself) or its index.
  attributes  (CelebA's list_attr_celeba.txt, tfds celeb_a): +1 against -1; an image
              without a row in the attribute file (all zeros) counts for neither side;
              --attribute takes the name (Smiling) or its column index.
Conditional models (config.conditional) are refused: they take the attributes as input
(sample.py --labels).

The vectors of EVERY attribute come from one pass over the first ENCODE_IMAGES training
images (all of them if fewer; no random flips) and are cached per checkpoint in
WORKDIR/attribute_vectors/<step>.npz (<step>_raw.npz for --no_ema on a run that keeps
averaged parameters, as sample.py's mixture cache): names, vectors [A, Z] and the counts
of images with and without each attribute; a later call reads the file instead of
encoding again. A workdir that cannot be written gives one warning line and no cache.

The grid: --num held-out images (live_eval.heldout: the 'validation' or 'test' split;
without one the training images, and one note line says so) that LACK the attribute, one
row each. Row i shows the original image, then decode(mu_i + s * v) for each of --scales
(s = 0 is the plain reconstruction). The original column is in the PNG only:
--save_array writes the edited images alone, float32 [num, len(scales), H, W, C] in
[-1, 1].

--measure: for each class c, up to --num_measure held-out images of other classes are
shifted by s * v_c for each scale and decoded; an independent classifier
(vaegan_jax.classifier, trained on compare's split of the run's data: the digits or
class folders with 20% held out by config.seed) scores them. The table gives, per class
and scale, the mean softmax probability of c and (in brackets) the fraction classified
as c; --out_json writes the same numbers. See `class_effect`. For attributes the images
lacking attribute a are shifted by s * v_a and an attribute predictor trained on the
real training images (one sigmoid per attribute) reads them: the mean probability of a,
the fraction predicted to have it, and how much the other attributes' probabilities
move from the plain reconstruction (`attribute_effect`).

--among A (attributes): the vectors, the grid's rows and the measured images are taken
among the images that have attribute A only (e.g. the emoji People, as CelebA's vectors
are taken among faces); cached apart (<step>_among-A.npz).

--evaluate scores a run that uses labels (vaegan_jax/label_eval.py): a conditional run
like the paper's Table 1 (cosine similarity, squared error and accuracy between the
requested labels and an attribute predictor's reading of the generated images, beside
the same for held-out real images), a run with an auxiliary head by the head's held-out
accuracy (--baseline: beside the same network trained on the labelled examples alone).

Errors (unknown attribute, no encoder, no labels, bad flags) print one line and exit 2.
"""

from __future__ import annotations

import json
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
from vaegan_jax import sample_cli
from vaegan_jax import sampling

UsageError = errors.UsageError

ENCODE_IMAGES = 20000  # training images whose codes make the vectors (at most)
READ_CHUNK = 1000  # images read and preprocessed at a time
CACHE_DIR = 'attribute_vectors'
DEFAULT_SCALES = (-2.0, -1.0, 0.0, 1.0, 2.0)
NUM_MEASURE = 200
GRAY = np.array([0.299, 0.587, 0.114], np.float32)  # PIL's convert('L')


def _warn(msg: str) -> None:
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
  _warn(f'attribute vectors: encoding {n} training images'
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
      _warn(f'warning: cannot cache the attribute vectors in {cache}: {e.strerror or e}')
  return d


def heldout_data(config):
  """(held-out data set, split name); one note line when it is the training images."""
  ds, split = live_eval.heldout(config)
  if split == config.split:
    _warn(f'note: {config.dataset!r} has no held-out split: the rows are training '
          'images (set --config.val_fraction > 0 when training to hold some out)')
  return ds, split


def lacking(ds, kind: str, names, column: int, num: int,
            among: int | None = None) -> np.ndarray:
  """Indices of the first `num` images of `ds` that lack attribute `column` (and have
  attribute `among`, if given)."""
  has = membership(ds.read_labels(np.arange(ds.num_examples)), kind, len(names))
  keep = has[:, column] < 0
  if among is not None:
    keep &= has[:, among] > 0
  return np.flatnonzero(keep)[:num]


def _images(config, ds, idx) -> np.ndarray:
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
  mu = (sampling.encode_all(nets, state, _images(config, heldout, union))
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
    return _images(config, ds, idx), raw[np.all(raw != 0, axis=1)]

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
  mu = (sampling.encode_all(nets, state, _images(config, heldout, union))
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


# ------------------------------------------------------------------------------ CLI


def attributes_main(workdir: str, attribute: str | None = None, out: str | None = None,
                    scales=DEFAULT_SCALES, num: int = 8, save_array: str | None = None,
                    step: int | None = None, ema: bool = True, measure: bool = False,
                    num_measure: int = NUM_MEASURE, out_json: str | None = None,
                    classifier_steps: int = 400, among: str | None = None) -> dict:
  """The grid of `attribute` (to the PNG `out`) and/or the --measure table; see the
  module doc. `among`: an attribute; the vectors, the rows and the measured images are
  taken among the images that have it.

  Returns dict(attribute, column, kind, names, scales, cache, split, rows (held-out
  indices), images float32 [rows, S, H, W, C], effect (the class_effect dict or None)).
  Raises UsageError, errors.CheckpointError or errors.DataError with a
  one-line message (cli.run prints it).
  """
  scales = parse_scales(scales)
  if not (out or measure):
    raise UsageError('--out is required (a .png path), unless --measure')
  if out and attribute in (None, ''):
    raise UsageError('--attribute is required (a name such as Smiling or 7, or an index)')
  if not isinstance(num, int) or num < 1:
    raise UsageError(f'--num must be >= 1 (got {num})')
  if measure and (not isinstance(num_measure, int) or num_measure < 1):
    raise UsageError(f'--num_measure must be >= 1 (got {num_measure})')
  if out_json and not measure:
    raise UsageError('--out_json writes the --measure numbers: add --measure')
  for path in (out, save_array, out_json):
    if path:
      sample_cli.check_output(path)
  config, nets, state = sample_cli.restore(workdir, step, ema=ema)
  if config.get('conditional', False):
    raise UsageError('this run is conditional (config.conditional): it takes its '
                     'attributes as input; use sample.py --labels')
  if not sampling.has_encoder(nets, state):
    raise UsageError(f'model {config.model!r} has no encoder: attribute vectors are '
                     'differences of encoded images (use vaegan, vae or aae)')
  heldout, split = heldout_data(config)
  kind, names = label_kind(config, heldout)
  column = resolve_attribute(attribute, kind, names) if out else None
  among_col = resolve_attribute(among, kind, names) if among else None
  if among_col is not None and kind != 'attributes':
    raise UsageError('--among takes an attribute of an attribute data set (CelebA\'s '
                     f'list_attr_celeba.txt); {config.dataset!r} has classes')
  cache = cache_path(workdir, config, state, ema, names[among_col] if among else '')
  vecs = vectors(config, nets, state, cache, among=among_col)
  result = dict(kind=kind, names=tuple(vecs['names']), scales=scales, cache=cache,
                split=split, attribute=None, column=column, rows=None, images=None,
                effect=None)
  if out:
    name = vecs['names'][column]
    if not vecs['count_with'][column] or not vecs['count_without'][column]:
      raise UsageError(f'no training image {"has" if not vecs["count_with"][column] else "lacks"}'
                       f' {name!r}: its vector is undefined')
    rows = lacking(heldout, kind, names, column, num, among_col)
    if not len(rows):
      raise UsageError(f'no {split} image lacks {name!r}'
                       + (f' among those with {among}' if among else ''))
    if len(rows) < num:
      _warn(f'note: only {len(rows)} {split} images lack {name!r}')
    x = _images(config, heldout, rows)
    images = edit(nets, state, sampling.encode_all(nets, state, x), vecs['vectors'][column],
                  scales)
    tiles = np.concatenate([x[:, None], images], 1)
    grid = sampling.grid(tiles.reshape(-1, *tiles.shape[2:]), cols=len(scales) + 1)
    sample_cli.write_output(out, lambda p: sampling.save_png(grid, p))
    if save_array:
      sample_cli.write_output(save_array, lambda p: np.save(p, images))
    result.update(attribute=name, rows=rows, images=images)
  if measure:
    if kind == 'classes':
      effect = class_effect(config, nets, state, vecs, scales, num_measure,
                            classifier_steps=classifier_steps, heldout=heldout)
    else:
      effect = attribute_effect(config, nets, state, vecs, scales, num_measure,
                                classifier_steps=classifier_steps, heldout=heldout,
                                among=among_col)
    result['effect'] = effect
    if out_json:
      sample_cli.write_output(out_json, lambda p: _dump(effect, p))
  return result


def evaluate_main(workdir: str, step: int | None = None, ema: bool = True, seed: int = 0,
                  baseline: bool = False, out_json: str | None = None,
                  classifier_steps: int = 400) -> dict:
  """--evaluate: paper Table 1's numbers for a conditional run, the held-out accuracy of
  the auxiliary head (and with `baseline` the same network trained on the labelled
  examples alone) for a run with config.aux_weight > 0; see vaegan_jax/label_eval.py."""
  if out_json:
    sample_cli.check_output(out_json)
  config, nets, state = sample_cli.restore(workdir, step, ema=ema)
  if config.get('conditional', False):
    result = label_eval.conditional_scores(config, nets, state, seed=seed,
                                           predictor_steps=classifier_steps)
  elif config.get('aux_weight', 0.0) > 0:
    result = label_eval.aux_scores(config, nets, state, baseline=baseline)
  else:
    raise UsageError('--evaluate scores runs that use labels (--config.conditional=True '
                     'or --config.aux_weight > 0); this one uses none: see --measure')
  result.update(workdir=workdir, step=int(state.step))
  if out_json:
    sample_cli.write_output(out_json, lambda p: _dump(result, p))
  return result


def evaluation_lines(r: dict) -> str:
  """The --evaluate result as lines of text."""
  if 'generated' in r:
    return '\n'.join(
        f'{k:>9}: cosine {r[k]["cosine"]:.4f}  mse {r[k]["mse"]:.4f}  accuracy '
        f'{r[k]["accuracy"]:.4f}' + (f'  fd {r[k]["fd"]:.4f}' if 'fd' in r[k] else '') +
        f'  (n={r[k]["n"]})' for k in ('generated', 'heldout'))
  line = (f'auxiliary head: held-out accuracy {r["head"]:.4f} (n={r["n_heldout"]}), '
          f'{r["labelled"]} labelled training images (labeled_fraction '
          f'{r["labeled_fraction"]:g})')
  if 'baseline' in r:
    line += f'\nsame network on those labelled images alone: {r["baseline"]:.4f}'
  return line


def _dump(obj, path):
  with open(path, 'w') as f:
    json.dump(obj, f, indent=1)


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  from vaegan_jax import cli  # pylint: disable=g-import-not-at-top
  cli.quiet_logging()
  f = flags.FLAGS

  def run():
    if f.evaluate:
      print(evaluation_lines(evaluate_main(f.workdir, f.step, f.ema, f.seed, f.baseline,
                                           f.out_json, f.classifier_steps)))
      return
    r = attributes_main(f.workdir, f.attribute, f.out, f.scales, f.num, f.save_array,
                        f.step, f.ema, f.measure, f.num_measure, f.out_json,
                        f.classifier_steps, f.among)
    if r['images'] is not None:
      print(f'{r["attribute"]}: {len(r["rows"])} {r["split"]} images without it x scales '
            f'{",".join(f"{s:g}" for s in r["scales"])} -> {f.out}'
            + (f', {f.save_array}' if f.save_array else ''))
    if r['effect'] is not None:
      print(table(r['effect']))

  return cli.run(run)


def _define_flags() -> None:
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string('workdir', None, 'A train.py workdir (a model with an encoder).')
  flags.DEFINE_string('attribute', None, 'Attribute name (Smiling; a class: 7) or index.')
  flags.DEFINE_string('out', None, 'PNG file of the grid (original, then one column per '
                      'scale).')
  flags.DEFINE_string('scales', ','.join(f'{s:g}' for s in DEFAULT_SCALES),
                      'Comma-separated multiples of the vector added to each code.')
  flags.DEFINE_integer('num', 8, 'Held-out images without the attribute (grid rows).')
  flags.DEFINE_string('save_array', None, 'Also save the edited images here (.npy, '
                      'float32 [num, scales, H, W, C]).')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_bool('ema', True, 'Use the averaged parameters of a run that keeps them; '
                    '--no_ema: the raw ones.')
  flags.DEFINE_bool('measure', False, 'Score every class or attribute vector with an '
                    'independent classifier (attribute predictor) trained on the real '
                    'training images and print the table.')
  flags.DEFINE_integer('num_measure', NUM_MEASURE, '--measure: held-out images per class '
                       'or attribute.')
  flags.DEFINE_string('among', None, 'An attribute: vectors, rows and measured images '
                      'among the images that have it (e.g. People).')
  flags.DEFINE_string('out_json', None, '--measure: also write the numbers here (JSON).')
  flags.DEFINE_integer('classifier_steps', 400, '--measure, --evaluate: training steps '
                       'of the classifier (attribute predictor).')
  flags.DEFINE_bool('evaluate', False, 'Score a run that uses labels: a conditional one '
                    'like the paper\'s Table 1, an auxiliary head by held-out accuracy.')
  flags.DEFINE_bool('baseline', False, '--evaluate of an auxiliary head: also train the '
                    'same network on the labelled examples alone.')
  flags.DEFINE_integer('seed', 0, '--evaluate: seed of the prior codes.')


if __name__ == '__main__':
  from absl import app  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  from vaegan_jax import cli as _cli  # pylint: disable=g-import-not-at-top
  _define_flags()
  app.run(main, flags_parser=_cli.parse_flags)
