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
without one the training images, and one note line says so) that LACK the attribute,
spread evenly over those that do, one row each. Row i shows the original image, then
decode(mu_i + s * v) for each of --scales (s = 0 is the plain reconstruction). The
original column is in the PNG only: --save_array writes the edited images alone,
float32 [num, len(scales), H, W, C] in [-1, 1].

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

import numpy as np

from vaegan_jax import attribute_vectors as av
from vaegan_jax import errors
from vaegan_jax import label_eval
from vaegan_jax import sample_cli
from vaegan_jax import sampling

UsageError = errors.UsageError

# ------------------------------------------------------------------------------ CLI


def attributes_main(workdir: str, attribute: str | None = None, out: str | None = None,
                    scales=av.DEFAULT_SCALES, num: int = 8, save_array: str | None = None,
                    step: int | None = None, ema: bool = True, measure: bool = False,
                    num_measure: int = av.NUM_MEASURE, out_json: str | None = None,
                    classifier_steps: int = 400, among: str | None = None) -> dict:
  """The grid of `attribute` (to the PNG `out`) and/or the --measure table; see the
  module doc. `among`: an attribute; the vectors, the rows and the measured images are
  taken among the images that have it.

  Returns dict(attribute, column, kind, names, scales, cache, split, rows (held-out
  indices), images float32 [rows, S, H, W, C], effect (the class_effect dict or None)).
  Raises UsageError, errors.CheckpointError or errors.DataError with a
  one-line message (cli.run prints it).
  """
  scales = av.parse_scales(scales)
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
  heldout, split = av.heldout_data(config)
  kind, names = av.label_kind(config, heldout)
  column = av.resolve_attribute(attribute, kind, names) if out else None
  among_col = av.resolve_attribute(among, kind, names) if among else None
  if among_col is not None and kind != 'attributes':
    raise UsageError('--among takes an attribute of an attribute data set (CelebA\'s '
                     f'list_attr_celeba.txt); {config.dataset!r} has classes')
  cache = av.cache_path(workdir, config, state, ema, names[among_col] if among else '')
  vecs = av.vectors(config, nets, state, cache, among=among_col)
  result = dict(kind=kind, names=tuple(vecs['names']), scales=scales, cache=cache,
                split=split, attribute=None, column=column, rows=None, images=None,
                effect=None)
  if out:
    name = vecs['names'][column]
    if not vecs['count_with'][column] or not vecs['count_without'][column]:
      raise UsageError(f'no training image {"has" if not vecs["count_with"][column] else "lacks"}'
                       f' {name!r}: its vector is undefined')
    rows = av.lacking(heldout, kind, names, column, num, among_col)
    if not len(rows):
      raise UsageError(f'no {split} image lacks {name!r}'
                       + (f' among those with {among}' if among else ''))
    if len(rows) < num:
      av.warn(f'note: only {len(rows)} {split} images lack {name!r}')
    x = av.images(config, heldout, rows)
    images = av.edit(nets, state, sampling.encode_all(nets, state, x),
                     vecs['vectors'][column], scales)
    tiles = np.concatenate([x[:, None], images], 1)
    grid = sampling.grid(tiles.reshape(-1, *tiles.shape[2:]), cols=len(scales) + 1)
    sample_cli.write_output(out, lambda p: sampling.save_png(grid, p))
    if save_array:
      sample_cli.write_output(save_array, lambda p: np.save(p, images))
    result.update(attribute=name, rows=rows, images=images)
  if measure:
    if kind == 'classes':
      effect = av.class_effect(config, nets, state, vecs, scales, num_measure,
                               classifier_steps=classifier_steps, heldout=heldout)
    else:
      effect = av.attribute_effect(config, nets, state, vecs, scales, num_measure,
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
      print(av.table(r['effect']))

  return cli.run(run)


def _define_flags() -> None:
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string('workdir', None, 'A train.py workdir (a model with an encoder).')
  flags.DEFINE_string('attribute', None, 'Attribute name (Smiling; a class: 7) or index.')
  flags.DEFINE_string('out', None, 'PNG file of the grid (original, then one column per '
                      'scale).')
  flags.DEFINE_string('scales', ','.join(f'{s:g}' for s in av.DEFAULT_SCALES),
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
  flags.DEFINE_integer('num_measure', av.NUM_MEASURE, '--measure: held-out images per '
                       'class or attribute.')
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
