"""Tests of vaegan_jax.attributes: the vector math, the grid on tiny digits and
CelebA-shaped runs (trained once per module), the cache, --measure and the errors."""

import dataclasses
import io
import json
import math
import os
import subprocess
import sys
import types

import numpy as np
from PIL import Image
import pytest

from configs import tiny
from vaegan_jax import attribute_vectors
from vaegan_jax import attributes
from vaegan_jax import cli
from vaegan_jax import input_pipeline
from vaegan_jax import live_eval
from vaegan_jax import sample_cli
from vaegan_jax import sampling
from vaegan_jax import trainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 16
ATTRS = ('Smiling', 'Young', 'Male')
N_FOLDER = 24  # images of the CelebA-shaped folder
MISSING = (3, 10)  # of them without a row in list_attr_celeba.txt


def _train(workdir, **fields):
  """A 2-step tiny VAE-GAN (same shapes for every run here: the compile cache helps)."""
  c = tiny.get_config()
  c.update(dict(num_train_steps=2, log_every=1, checkpoint_every=2, **fields))
  trainer.train_and_evaluate(c, workdir, out=io.StringIO(), write_summaries=False)
  config, nets, state = sample_cli.restore(workdir)
  return types.SimpleNamespace(workdir=workdir, config=config, nets=nets, state=state)


@pytest.fixture(scope='module')
def digits_run(tmp_path_factory):
  """Digits with compare's split: 20% held out by the seed."""
  return _train(str(tmp_path_factory.mktemp('digits')), val_fraction=0.2)


def _attr_value(i, a):
  return 1 if (i >> a) & 1 else -1


@pytest.fixture(scope='module')
def celeba_run(tmp_path_factory):
  """A folder of 24 noise images of 20x20 with 3 CelebA-style attributes (images 3 and
  10 absent from the attribute file) and no held-out split; a tiny grayscale model."""
  root = tmp_path_factory.mktemp('celeba')
  images = root / 'img_align_celeba'
  images.mkdir()
  rng = np.random.default_rng(0)
  names = [f'{i + 1:06d}.png' for i in range(N_FOLDER)]
  for name in names:
    Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(images / name)
  rows = [f'{name} ' + ' '.join(str(_attr_value(i, a)) for a in range(len(ATTRS)))
          for i, name in enumerate(names) if i not in MISSING]
  (root / 'list_attr_celeba.txt').write_text(
      f'{len(rows)}\n{" ".join(ATTRS)}\n' + '\n'.join(rows) + '\n')
  run = _train(str(tmp_path_factory.mktemp('celeba_run')), dataset='folder',
               data_path=str(images), channels=1, crop='center_square', image_size=SIZE)
  run.names = names
  return run


def _png_size(n_tiles, cols):
  rows = math.ceil(n_tiles / cols)
  w, h = cols * (SIZE + 1) + 1, rows * (SIZE + 1) + 1
  scale = max(1, -(-256 // max(w, h)))
  return w * scale, h * scale


# ----------------------------------------------------------------------- the math


def test_attribute_vector_is_the_difference_of_the_class_means():
  rng = np.random.default_rng(1)
  codes = rng.normal(size=(30, 4))
  has = rng.choice([-1, 0, 1], size=(30, 3)).astype(np.int8)
  has[:, 2] = np.where(np.arange(30) < 5, 1, 0)  # nobody lacks attribute 2
  v = attribute_vectors.attribute_vectors(codes, has)
  assert v.shape == (3, 4) and v.dtype == np.float32
  for a in range(2):
    want = codes[has[:, a] == 1].mean(0) - codes[has[:, a] == -1].mean(0)
    np.testing.assert_allclose(v[a], want, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(v[2], 0.0)  # undefined: zeros
  # bool membership: True has, False lacks.
  b = has[:, :1] > 0
  np.testing.assert_allclose(attribute_vectors.attribute_vectors(codes, b)[0],
                             codes[b[:, 0]].mean(0) - codes[~b[:, 0]].mean(0), rtol=1e-5)


def test_toy_encoder_class_vector_moves_one_class_mean_onto_the_other():
  # A linear toy encoder of images whose class sets a pixel: the class vector is the
  # difference of the classes' mean codes, and mu + v of a class-0 image lands on class 1.
  rng = np.random.default_rng(2)
  labels = np.arange(40) % 2
  x = rng.normal(size=(40, 6)) * 0.1
  x[:, 0] += 3.0 * labels
  w = rng.normal(size=(6, 3))
  codes = x @ w
  has = attribute_vectors.membership(labels[:, None].astype(np.int8), 'classes', 2)
  assert has.shape == (40, 2) and set(np.unique(has)) == {-1, 1}
  v = attribute_vectors.attribute_vectors(codes, has)
  np.testing.assert_allclose(v[1], codes[labels == 1].mean(0) - codes[labels == 0].mean(0),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(v[0], -v[1], rtol=1e-5, atol=1e-6)
  moved = attribute_vectors.shifted_codes(codes[labels == 0], v[1], [0.0, 1.0])
  assert moved.shape == (20, 2, 3)
  np.testing.assert_allclose(moved[:, 0], codes[labels == 0], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(moved[:, 1].mean(0), codes[labels == 1].mean(0), rtol=1e-4,
                             atol=1e-5)


def test_membership_and_attribute_names():
  raw = np.array([[2], [0], [-1], [12]], np.int8)
  m = attribute_vectors.membership(raw, 'classes', 3)
  np.testing.assert_array_equal(m, [[-1, -1, 1], [1, -1, -1], [0, 0, 0], [0, 0, 0]])
  raw = np.array([[1, -1], [0, 0], [-1, 1]], np.int8)
  np.testing.assert_array_equal(attribute_vectors.membership(raw, 'attributes', 2), raw)
  names = ('Smiling', 'Young')
  assert attribute_vectors.resolve_attribute('Young', 'attributes', names) == 1
  assert attribute_vectors.resolve_attribute('smiling', 'attributes', names) == 0
  assert attribute_vectors.resolve_attribute('1', 'attributes', names) == 1
  digits = tuple(str(d) for d in range(10))
  assert attribute_vectors.resolve_attribute('7', 'classes', digits) == 7
  assert attribute_vectors.resolve_attribute(3, 'classes', ('cat', 'dog', 'owl', 'yak')) == 3
  with pytest.raises(sample_cli.UsageError, match='Smiling, Young') as e:
    attribute_vectors.resolve_attribute('Bald', 'attributes', names)
  assert "'Bald'" in str(e.value) and '\n' not in str(e.value)
  with pytest.raises(sample_cli.UsageError, match='unknown attribute'):
    attribute_vectors.resolve_attribute('2', 'attributes', names)
  assert attribute_vectors.parse_scales('-2, 0,1.5') == (-2.0, 0.0, 1.5)
  with pytest.raises(sample_cli.UsageError, match='--scales'):
    attribute_vectors.parse_scales('a,b')


def test_cache_path_follows_the_mixture_cache_rule():
  state = types.SimpleNamespace(step=np.int32(5))
  plain, ema = tiny.get_config(), tiny.get_config()
  ema.ema_decay = 0.99
  for config, no_ema in ((plain, '5.npz'), (ema, '5_raw.npz')):
    assert attribute_vectors.cache_path('W', config, state) == os.path.join(
        'W', 'attribute_vectors', '5.npz')
    assert attribute_vectors.cache_path('W', config, state, ema=False) == os.path.join(
        'W', 'attribute_vectors', no_ema)


# ------------------------------------------------------------------------ digits


def test_grid_rows_lack_the_attribute_and_scale_zero_is_the_reconstruction(
    digits_run, tmp_path, capsys):
  run = digits_run
  out, arr = str(tmp_path / 'g.png'), str(tmp_path / 'a.npy')
  scales = (-1.0, 0.0, 1.5)
  r = attributes.attributes_main(run.workdir, '7', out, scales=scales, num=5,
                                 save_array=arr)
  assert 'encoding' in capsys.readouterr().err
  saved = np.load(arr)
  assert saved.dtype == np.float32 and saved.shape == (5, 3, SIZE, SIZE, 1)
  np.testing.assert_array_equal(saved, r['images'])
  assert saved.min() >= -1.0 and saved.max() <= 1.0
  assert Image.open(out).size == _png_size(5 * 4, cols=4)  # original + 3 scales
  # The rows: held-out (validation) images that are not 7s.
  assert r['split'] == 'validation' and r['attribute'] == '7' and r['column'] == 7
  heldout, _ = live_eval.heldout(run.config)
  assert np.all(heldout.read_labels(r['rows'])[:, 0] != 7)
  x = heldout.batch(r['rows'], np.random.default_rng(run.config.seed))
  recon = np.asarray(sampling.reconstructions(run.nets, run.state, x))
  np.testing.assert_allclose(saved[:, 1], recon, atol=1e-5)
  # The other columns decode mu + s * v_7, v_7 = mean code of the training 7s minus that
  # of the other digits.
  ds = input_pipeline.load(run.config)
  idx = np.arange(ds.num_examples)
  codes = np.asarray(sampling.encode(run.nets, run.state,
                                     ds.batch(idx, np.random.default_rng(0))))
  is7 = ds.read_labels(idx)[:, 0] == 7
  v = codes[is7].mean(0) - codes[~is7].mean(0)
  with np.load(r['cache']) as f:
    assert f['vectors'].shape == (10, run.config.latent_dim)
    np.testing.assert_allclose(f['vectors'][7], v, rtol=1e-4, atol=1e-5)
    assert int(f['count_with'][7]) == is7.sum()
    assert int(f['count_without'][7]) == (~is7).sum()
    assert tuple(f['names']) == tuple(str(d) for d in range(10))
  mu = np.asarray(sampling.encode(run.nets, run.state, x))
  # (the 2-step model's codes and outputs are small, hence the tight tolerance; the cache
  # test below shifts by a large vector)
  assert np.abs(v).max() > 0
  np.testing.assert_allclose(
      saved[:, 2], np.asarray(sampling.decode(run.nets, run.state, mu + 1.5 * v)), atol=1e-7)


def test_second_call_reads_the_cache(digits_run, tmp_path, monkeypatch, capsys):
  run = digits_run
  out = str(tmp_path / 'g.png')
  first = attributes.attributes_main(run.workdir, '3', out, num=2)
  assert first['cache'] == os.path.join(run.workdir, 'attribute_vectors', '2.npz')
  mtime = os.stat(first['cache']).st_mtime_ns
  capsys.readouterr()

  def no_encoding(*args, **kw):
    raise AssertionError('encoded the training images again')

  monkeypatch.setattr(attribute_vectors, 'training_codes', no_encoding)
  again = attributes.attributes_main(run.workdir, '3', out, num=2)
  np.testing.assert_array_equal(again['images'], first['images'])
  assert os.stat(first['cache']).st_mtime_ns == mtime
  assert 'encoding' not in capsys.readouterr().err
  # The images decode the cached vector: a large one written there moves them.
  with np.load(first['cache']) as f:
    d = {k: f[k] for k in f.files}
  big = np.random.default_rng(0).normal(size=d['vectors'].shape[1]).astype(np.float32)
  d['vectors'][3] = big
  np.savez(first['cache'], **d)
  moved = attributes.attributes_main(run.workdir, '3', out, scales=(0.0, 2.0), num=2)
  heldout, _ = live_eval.heldout(run.config)
  x = heldout.batch(moved['rows'], np.random.default_rng(run.config.seed))
  mu = np.asarray(sampling.encode(run.nets, run.state, x))
  np.testing.assert_allclose(
      moved['images'][:, 1], np.asarray(sampling.decode(run.nets, run.state, mu + 2 * big)),
      atol=1e-6)
  assert np.abs(moved['images'][:, 1] - moved['images'][:, 0]).max() > 1e-4
  # Restore the cache's own vectors for the other tests.
  os.remove(first['cache'])
  monkeypatch.undo()
  attributes.attributes_main(run.workdir, '0', out, num=2)


def test_unwritable_cache_warns_once_and_still_gives_vectors(digits_run, tmp_path,
                                                             capsys):
  run = digits_run
  blocker = tmp_path / 'a_file'
  blocker.write_text('')
  cache = str(blocker / 'attribute_vectors' / '2.npz')
  d = attribute_vectors.vectors(run.config, run.nets, run.state, cache)
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 2 and err[1].startswith('warning: cannot cache'), err
  with np.load(os.path.join(run.workdir, 'attribute_vectors', '2.npz')) as f:
    np.testing.assert_allclose(d['vectors'], f['vectors'], rtol=1e-5, atol=1e-6)


def test_measure_gives_a_table_of_probabilities(digits_run, tmp_path, capsys):
  run = digits_run
  scales = (0.0, 2.0)
  js = str(tmp_path / 'effect.json')
  r = attributes.attributes_main(run.workdir, measure=True, scales=scales, num_measure=12,
                                 classifier_steps=30, out_json=js)
  e = r['effect']
  assert r['images'] is None
  prob, frac = np.array(e['prob']), np.array(e['classified'])
  assert prob.shape == frac.shape == (10, 2)
  assert np.all((prob >= 0) & (prob <= 1)) and np.all((frac >= 0) & (frac <= 1))
  assert e['classes'] == [str(d) for d in range(10)] and e['scales'] == [0.0, 2.0]
  assert e['n'] == [12] * 10
  with open(js) as f:
    assert json.load(f) == e
  text = attribute_vectors.table(e)
  assert len(text.splitlines()) == 12 and 's=2' in text
  capsys.readouterr()


def test_class_effect_scores_the_shifted_images_with_the_given_classifier(digits_run):
  run = digits_run
  vecs = attribute_vectors.vectors(run.config, run.nets, run.state,
                            attribute_vectors.cache_path(run.workdir, run.config, run.state))

  class Always3:  # a stub classifier: always class 3 with probability ~1
    num_classes, heldout_accuracy, params = 10, 1.0, None

    @staticmethod
    def apply(params, x):
      del params
      logits = np.where(np.arange(10) == 3, 20.0, 0.0)[None].repeat(len(x), 0)
      return logits, None

  heldout, _ = live_eval.heldout(run.config)
  e = attribute_vectors.class_effect(run.config, run.nets, run.state, vecs, (-1.0, 1.0), num=4,
                              clf=Always3(), heldout=heldout)
  prob, frac = np.array(e['prob']), np.array(e['classified'])
  np.testing.assert_allclose(prob[3], 1.0, atol=1e-6)
  np.testing.assert_array_equal(frac[3], 1.0)
  np.testing.assert_allclose(np.delete(prob, 3, 0), 0.0, atol=1e-6)
  np.testing.assert_array_equal(np.delete(frac, 3, 0), 0.0)


# -------------------------------------------------------------- CelebA-shaped data


def test_celeba_attributes_by_name_and_index(celeba_run, tmp_path, capsys):
  run = celeba_run
  out, arr = str(tmp_path / 'g.png'), str(tmp_path / 'a.npy')
  r = attributes.attributes_main(run.workdir, 'Young', out, scales=(0.0, 1.0), num=3,
                                 save_array=arr)
  err = capsys.readouterr().err
  assert 'no held-out split' in err  # one note line: the rows are training images
  assert r['kind'] == 'attributes' and r['split'] == 'train' and r['column'] == 1
  assert np.load(arr).shape == (3, 2, SIZE, SIZE, 1)
  ds = input_pipeline.load(run.config)
  assert np.all(ds.read_labels(r['rows'])[:, 1] == -1)  # lacking, not missing
  with np.load(r['cache']) as f:
    assert tuple(f['names']) == ATTRS
    assert f['vectors'].shape == (len(ATTRS), run.config.latent_dim)
    present = [i for i in range(N_FOLDER) if i not in MISSING]
    for a in range(len(ATTRS)):
      assert int(f['count_with'][a]) == sum(_attr_value(i, a) == 1 for i in present)
      assert (int(f['count_with'][a]) + int(f['count_without'][a])
              == N_FOLDER - len(MISSING))
  by_index = attributes.attributes_main(run.workdir, '1', out, scales=(0.0, 1.0), num=3)
  np.testing.assert_array_equal(by_index['images'], r['images'])
  smiling = attributes.attributes_main(run.workdir, 'Smiling', out, num=2)
  assert smiling['column'] == 0
  assert np.all(ds.read_labels(smiling['rows'])[:, 0] == -1)


def test_attribute_vectors_among_the_images_with_an_attribute(celeba_run, tmp_path):
  run = celeba_run
  out = str(tmp_path / 'g.png')
  r = attributes.attributes_main(run.workdir, 'Young', out, scales=(0.0, 1.0), num=3,
                                 among='Male')
  ds = input_pipeline.load(run.config)
  rows = ds.read_labels(r['rows'])
  assert np.all(rows[:, 1] == -1) and np.all(rows[:, 2] == 1)  # lack Young, are Male
  assert r['cache'].endswith('_among-Male.npz')
  present = [i for i in range(N_FOLDER) if i not in MISSING]
  male = [i for i in present if _attr_value(i, 2) == 1]
  with np.load(r['cache']) as f:
    for a in range(len(ATTRS)):  # only the Male images count, on either side
      assert int(f['count_with'][a]) == sum(_attr_value(i, a) == 1 for i in male)
      assert int(f['count_with'][a]) + int(f['count_without'][a]) == len(male)
  with pytest.raises(sample_cli.UsageError, match="unknown attribute 'Bald'"):
    attributes.attributes_main(run.workdir, 'Young', out, among='Bald')


def test_attribute_effect_reads_the_edits_with_the_given_predictor(celeba_run):
  run = celeba_run
  vecs = attribute_vectors.vectors(run.config, run.nets, run.state)
  const = np.array([[0.7, 0.2, 0.5]])  # a stub predictor: the same reading for any image
  predictor = (lambda x: np.repeat(const, len(x), 0), np.ones(3), 'train')
  ds = input_pipeline.load(run.config)
  e = attribute_vectors.attribute_effect(run.config, run.nets, run.state, vecs, (1.0, 2.0),
                                  num=5, predictor=predictor, heldout=ds)
  np.testing.assert_allclose(e['prob'], np.repeat(const.T, 2, 1))
  np.testing.assert_array_equal(e['classified'], [[1, 1], [0, 0], [0, 0]])
  np.testing.assert_array_equal(e['others'], 0.0)  # nothing else moved
  raw = ds.read_labels(np.arange(ds.num_examples))
  assert e['n'] == [min(5, int((raw[:, a] < 0).sum())) for a in range(3)]


def test_measure_on_attributes_prints_a_table(celeba_run, tmp_path):
  js = str(tmp_path / 'effect.json')
  r = attributes.attributes_main(celeba_run.workdir, measure=True, scales=(0.0, 1.0),
                                 num_measure=4, classifier_steps=5, out_json=js)
  e = r['effect']
  assert e['attributes'] == list(ATTRS) and len(e['predictor_accuracy']) == len(ATTRS)
  prob = np.array(e['prob'])
  assert prob.shape == (len(ATTRS), 2) and np.all((prob >= 0) & (prob <= 1))
  with open(js) as f:
    assert json.load(f) == e
  text = attribute_vectors.table(e)
  assert len(text.splitlines()) == 2 + len(ATTRS) and 'others |dp|' in text


# ------------------------------------------------------------------------- errors


def _attributes_py(*args):
  return subprocess.run([sys.executable, '-m', 'vaegan_jax.attributes', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=300, check=False)


def test_cli_writes_the_grid_and_unknown_names_are_one_line(digits_run, tmp_path, capsys):
  out, arr = tmp_path / 'g.png', tmp_path / 'a.npy'
  proc = _attributes_py('--workdir', digits_run.workdir, '--attribute', '4', '--out',
                        str(out), '--save_array', str(arr), '--num', '3',
                        '--scales=-1,0,1,2')
  assert proc.returncode == 0, proc.stderr
  assert 'Traceback' not in proc.stderr
  assert np.load(arr).shape == (3, 4, SIZE, SIZE, 1)
  assert Image.open(out).size == _png_size(3 * 5, cols=5)
  # An error: one line and exit 2 (cli.run, as main() calls it; in-process to save a
  # second interpreter start).
  bad = tmp_path / 'bad.png'
  capsys.readouterr()
  with pytest.raises(SystemExit) as e:
    cli.run(lambda: attributes.attributes_main(digits_run.workdir, 'Bald', str(bad)))
  assert e.value.code == 2
  lines = capsys.readouterr().err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('error: unknown attribute'), lines
  assert '0, 1, 2, 3, 4, 5, 6, 7, 8, 9' in lines[0]
  assert not bad.exists()


def test_models_that_cannot_give_vectors_are_refused(digits_run, tmp_path, monkeypatch):
  run = digits_run
  out = str(tmp_path / 'g.png')
  nets = dataclasses.replace(run.nets, encoder=None)
  state = run.state.replace(
      params={r: p for r, p in run.state.params.items() if r != 'encoder'})
  monkeypatch.setattr(attributes.sample_cli, 'restore',
                      lambda *a, **k: (run.config, nets, state))
  with pytest.raises(sample_cli.UsageError, match='has no encoder'):
    attributes.attributes_main(run.workdir, '7', out)
  conditional = run.config.copy_and_resolve_references()
  with conditional.unlocked():
    conditional.conditional = True
  monkeypatch.setattr(attributes.sample_cli, 'restore',
                      lambda *a, **k: (conditional, run.nets, run.state))
  with pytest.raises(sample_cli.UsageError, match='conditional.*sample.py --labels'):
    attributes.attributes_main(run.workdir, '7', out)
  assert not os.path.exists(out)


def test_data_without_labels_is_refused(digits_run, tmp_path, monkeypatch):
  load = input_pipeline.load
  monkeypatch.setattr(input_pipeline, 'load',
                      lambda c: dataclasses.replace(load(c), read_labels=None))
  with pytest.raises(sample_cli.UsageError, match='has no labels') as e:
    attributes.attributes_main(digits_run.workdir, '7', str(tmp_path / 'g.png'))
  assert '\n' not in str(e.value)


def test_bad_arguments_are_refused_before_any_work(tmp_path):
  missing = str(tmp_path / 'nowhere')
  with pytest.raises(sample_cli.UsageError, match='--out is required'):
    attributes.attributes_main(missing, 'Smiling')
  with pytest.raises(sample_cli.UsageError, match='--attribute is required'):
    attributes.attributes_main(missing, None, str(tmp_path / 'g.png'))
  with pytest.raises(sample_cli.UsageError, match='--num'):
    attributes.attributes_main(missing, 'Smiling', str(tmp_path / 'g.png'), num=0)
  with pytest.raises(sample_cli.UsageError, match='--scales'):
    attributes.attributes_main(missing, 'Smiling', str(tmp_path / 'g.png'), scales='')
  with pytest.raises(sample_cli.UsageError, match='it is a folder'):
    attributes.attributes_main(missing, 'Smiling', str(tmp_path))
