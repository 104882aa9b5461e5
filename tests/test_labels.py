"""Labels as model inputs (vaegan_jax/labels.py): the conditional networks, the auxiliary
head's masked loss and its gradient isolation, labeled_fraction, sample.py --labels and
--evaluate, on tiny digits and a CelebA-shaped folder of 40 attributes."""

import functools
import io
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from PIL import Image
import pytest

from configs import tiny
from tests.tree_checks import assert_trees_close, norm
from vaegan_jax import attributes
from vaegan_jax import input_pipeline
from vaegan_jax import labels
from vaegan_jax import losses
from vaegan_jax import networks
from vaegan_jax import objectives
from vaegan_jax import sample_cli
from vaegan_jax import sampling
from vaegan_jax import train_state as ts
from vaegan_jax import train_step as tstep
from vaegan_jax import trainer
from vaegan_jax import validation

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELEBA_40 = tuple(f'Attr{i:02d}' for i in range(40))


# ---------------------------------------------------------------------- the losses


def _numpy_masked_bce(logits, targets):
  """Mean over labelled rows (not all -1) of the BCE summed over attributes."""
  keep = ~np.all(targets == -1, axis=1)
  p = 1 / (1 + np.exp(-logits[keep]))
  t = targets[keep]
  per_row = -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p), axis=1)
  return per_row.mean()


def test_masked_bce_equals_numpy_with_missing_rows():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(7, 5)).astype(np.float32)
  targets = rng.integers(0, 2, (7, 5)).astype(np.float32)
  targets[[1, 4]] = -1  # two examples without labels
  per_example, mask = losses.masked_bce(jnp.asarray(logits), jnp.asarray(targets))
  np.testing.assert_array_equal(np.asarray(mask), [1, 0, 1, 1, 0, 1, 1])
  assert float(per_example[1]) == 0.0 and float(per_example[4]) == 0.0
  got = float(losses.masked_mean(per_example, mask))
  np.testing.assert_allclose(got, _numpy_masked_bce(logits, targets), rtol=1e-5)
  # A row with one 0 target is labelled (the seed's min != -1 mask is about -1 only).
  assert float(losses.masked_mean(*losses.masked_bce(
      jnp.asarray(logits[:1]), jnp.asarray(targets[:1])))) > 0
  # Nothing labelled: 0, not NaN; the missing rows' logits get no gradient.
  none = jnp.full((3, 5), -1.0)
  assert float(losses.masked_mean(*losses.masked_bce(jnp.ones((3, 5)), none))) == 0.0
  g = jax.grad(lambda l: losses.masked_mean(*losses.masked_bce(l, jnp.asarray(targets))))(
      jnp.asarray(logits))
  assert np.all(np.asarray(g)[[1, 4]] == 0) and np.any(np.asarray(g)[0] != 0)


def test_label_loss_for_classes_and_attributes():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(4, 3)).astype(np.float32)
  y = np.array([[0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1]], np.float32)  # row 1 unlabelled
  per_example, mask = losses.label_loss(jnp.asarray(logits), jnp.asarray(y), 'classes')
  log_p = logits - np.log(np.sum(np.exp(logits), 1, keepdims=True))
  want = -np.array([log_p[0, 1], log_p[2, 0], log_p[3, 2]]).mean()
  np.testing.assert_allclose(float(losses.masked_mean(per_example, mask)), want, rtol=1e-5)
  attrs = np.array([[1, -1, 1], [0, 0, 0], [-1, -1, 1], [1, 1, 1]], np.float32)
  got = losses.masked_mean(*losses.label_loss(jnp.asarray(logits), jnp.asarray(attrs),
                                              'attributes'))
  targets = np.where(np.all(attrs == 0, 1, keepdims=True), -1, (attrs + 1) / 2)
  np.testing.assert_allclose(float(got), _numpy_masked_bce(logits, targets), rtol=1e-5)


# ----------------------------------------------------------------- labels <-> y


def test_raw_labels_become_y_and_missing_rows_are_zero():
  y = labels.to_y(np.array([[3], [-1], [0]], np.int8), 'classes', 5)
  np.testing.assert_array_equal(y, [[0, 0, 0, 1, 0], [0] * 5, [1, 0, 0, 0, 0]])
  raw = np.array([[1, -1, 1], [0, 0, 0], [-1, 1, -1]], np.int8)
  np.testing.assert_array_equal(labels.to_y(raw, 'attributes', cols=[2, 0]),
                                [[1, 1], [0, 0], [-1, -1]])


def test_labeled_fraction_hides_a_seeded_share_of_the_labels():
  config = tiny.get_config()
  config.update(dict(aux_weight=1.0, labeled_fraction=0.1))
  ds = input_pipeline.load(config)
  labels.resolve(config, ds)
  assert config.label_kind == 'classes' and config.label_names == tuple('0123456789')
  y = labels.prepare(config, ds).read_labels(np.arange(ds.num_examples))
  kept = np.any(y != 0, axis=1)
  assert kept.sum() == int(0.1 * ds.num_examples)
  np.testing.assert_array_equal(~kept, labels.hidden(ds.num_examples, 0.1, config.seed))
  assert not np.array_equal(kept, ~labels.hidden(ds.num_examples, 0.1, config.seed + 1))
  full = labels.prepare(config, ds, hide=False).read_labels(np.arange(ds.num_examples))
  np.testing.assert_array_equal(full[kept], y[kept])  # the kept labels are the true ones
  raw = ds.read_labels(np.arange(ds.num_examples))[:, 0]
  np.testing.assert_array_equal(np.argmax(full, 1), raw)
  # Unused labels do not travel with the batches.
  assert labels.prepare(tiny.get_config(), ds).read_labels is None


# -------------------------------------------------------- conditional networks


def _label_config(names, kind, **fields):
  config = tiny.get_config()
  config.update(dict(label_names=tuple(names), label_kind=kind, **fields))
  return config


@pytest.mark.parametrize('names,kind', [(tuple('0123456789'), 'classes'),
                                        (CELEBA_40, 'attributes')])
def test_conditional_shapes_and_the_labels_change_the_outputs(names, kind):
  config = _label_config(names, kind, conditional=True)
  nets = objectives.build_networks(config)
  params, stats = networks.init_variables(nets, jax.random.PRNGKey(0), config)
  plain = objectives.build_networks(tiny.get_config())
  base, _ = networks.init_variables(plain, jax.random.PRNGKey(0), tiny.get_config())
  d = len(names)
  # y widens the first dense input of encoder and discriminator, and z's dense.
  enc_in = lambda p: p['Dense_0']['kernel'].shape[0]
  assert enc_in(params['encoder']) == enc_in(base['encoder']) + d
  assert enc_in(params['discriminator']) == enc_in(base['discriminator']) + d
  assert enc_in(params['decoder']) == config.latent_dim + d
  b = 3
  x = jnp.zeros((b, config.image_size, config.image_size, 1))
  y = jnp.asarray(np.random.default_rng(0).choice([-1.0, 1.0], (b, d)), jnp.float32)
  if kind == 'classes':
    y = jax.nn.one_hot(jnp.arange(b), d)
  (mu, logvar), _ = networks.apply(nets.encoder, params['encoder'], stats['encoder'], x,
                                   False, y=y)
  assert mu.shape == logvar.shape == (b, config.latent_dim)
  z = jnp.ones((b, config.latent_dim))
  img, _ = networks.apply(nets.decoder, params['decoder'], stats['decoder'], z, False, y=y)
  img2, _ = networks.apply(nets.decoder, params['decoder'], stats['decoder'], z, False,
                           y=-y)
  assert img.shape == x.shape and float(jnp.max(jnp.abs(img - img2))) > 1e-6
  (logit, feats), _ = networks.apply(nets.discriminator, params['discriminator'],
                                     stats['discriminator'], x, False, y=y)
  assert logit.shape == (b,) and feats.shape[0] == b
  with pytest.raises(ValueError, match='needs labels y of shape'):
    networks.apply(nets.decoder, params['decoder'], stats['decoder'], z, False)


def test_aux_head_has_one_output_per_label():
  config = _label_config(CELEBA_40, 'attributes', aux_weight=1.0)
  nets = objectives.build_networks(config)
  params, stats = networks.init_variables(nets, jax.random.PRNGKey(0), config)
  x = jnp.zeros((2, config.image_size, config.image_size, 1))
  out, _ = networks.apply(nets.discriminator, params['discriminator'],
                          stats['discriminator'], x, False)
  assert len(out) == 3 and out[2].shape == (2, 40)
  assert 'aux' in params['discriminator'] and nets.encoder.label_dim == 0


# ------------------------------------------------------------ gradient isolation


def _setup(**fields):
  config = tiny.get_config()
  config.update(fields)
  ds = input_pipeline.load(config)
  labels.resolve(config, ds)
  ds = labels.prepare(config, ds)
  nets = objectives.build_networks(config)
  state = ts.create(config, nets, ts.make_optimizers(config, nets.roles()))
  batch = input_pipeline.batch_for_step(ds, config.batch_size, config.seed, 0)
  objective = functools.partial(objectives.vaegan, nets=nets, config=config)
  return config, state, batch, objective


def test_aux_loss_reaches_only_the_discriminator():
  _, state, batch, obj_aux = _setup(aux_weight=5.0, labeled_fraction=0.5)
  c0, _, _, obj_plain = _setup(aux_weight=5.0, labeled_fraction=0.5)
  c0.aux_weight = 0.0  # the same network (head included), L_aux off
  key = jax.random.PRNGKey(3)
  g1, l1, aux = tstep.role_gradients(obj_aux, state.params, state.batch_stats, batch, key)
  g0, _, _ = tstep.role_gradients(obj_plain, state.params, state.batch_stats, batch, key)
  assert_trees_close(g1['encoder'], g0['encoder'], rtol=1e-6)
  assert_trees_close(g1['decoder'], g0['decoder'], rtol=1e-6)
  diff = jax.tree.map(jnp.subtract, g1['discriminator'], g0['discriminator'])
  assert norm(diff['aux']) > 1e-4 and norm(g0['discriminator']['aux']) == 0
  m = aux['metrics']
  np.testing.assert_allclose(float(l1['discriminator']),
                             float(m['loss/gan'] + 5.0 * m['loss/aux']), rtol=1e-5)
  assert 0.0 <= float(m['aux_accuracy']) <= 1.0


@pytest.mark.parametrize('fields', [dict(aux_weight=1.0), dict(conditional=True)])
def test_labels_carry_no_gradient(fields):
  _, state, batch, objective = _setup(**fields)
  key = jax.random.PRNGKey(5)

  def role_loss(y, role):
    losses_, _ = objective(state.params, state.batch_stats, {**batch, 'label': y}, key)
    return losses_[role]

  y = jnp.asarray(batch['label'])
  for role in ('encoder', 'decoder', 'discriminator'):
    g = jax.grad(role_loss)(y, role)
    assert float(jnp.max(jnp.abs(g))) == 0.0, role


def test_unlabelled_examples_do_not_change_the_aux_loss():
  _, state, batch, objective = _setup(aux_weight=1.0)
  key = jax.random.PRNGKey(6)
  run = lambda b: float(objective(state.params, state.batch_stats, b, key,
                                  train=False)[1]['metrics']['loss/aux'])
  y = np.asarray(batch['label']).copy()
  y[::2] = 0  # half the batch unlabelled
  half = run({**batch, 'label': y})
  assert half != run(batch)
  # Whatever the unlabelled images are, the loss is the labelled half's mean.
  noisy = np.asarray(batch['image']).copy()
  noisy[::2] = np.random.default_rng(0).uniform(-1, 1, noisy[::2].shape)
  np.testing.assert_allclose(run({'image': noisy, 'label': y}), half, rtol=1e-6)
  odd = {'image': batch['image'][1::2], 'label': batch['label'][1::2]}
  np.testing.assert_allclose(run(odd), half, rtol=1e-5)


# ------------------------------------------------------------------- validation


@pytest.mark.parametrize('fields,message', [
    (dict(model='dcgan', conditional=True), 'conditional is implemented for vae, vaegan'),
    (dict(model='vae', aux_weight=1.0), 'aux_weight is implemented for vaegan'),
    (dict(aux_weight=1.0, conditional=True), 'use one of them'),
    (dict(labeled_fraction=0.0), 'labeled_fraction must be in'),
    (dict(aux_weight=-1.0), 'aux_weight must be >= 0'),
])
def test_bad_label_settings_are_one_line_errors(fields, message):
  config = tiny.get_config()
  config.update(fields)
  with pytest.raises(validation.ConfigError, match=message):
    validation.validate(config)


def test_unknown_attribute_and_data_without_labels():
  config = tiny.get_config()
  config.update(dict(conditional=True, attributes=('Smiling',)))
  ds = input_pipeline.load(config)
  with pytest.raises(validation.ConfigError, match='leave it empty'):
    labels.resolve(config, ds)
  celeba = input_pipeline.Dataset(4, None, None, read_labels=lambda i: None,
                                  label_names=('Smiling', 'Male'))
  config.attributes = ('Smling',)
  with pytest.raises(validation.ConfigError, match='has: Smiling, Male'):
    labels.resolve(config, celeba)
  config.attributes = ('Male, Smiling',)  # --config.attributes=Male,Smiling on the CLI
  labels.resolve(config, celeba)
  assert config.label_names == ('Male', 'Smiling')
  assert labels.columns(config, ('Smiling', 'Male')) == [1, 0]
  unlabelled = input_pipeline.Dataset(4, None, None)
  with pytest.raises(validation.ConfigError, match='needs labels'):
    labels.resolve(config, unlabelled)


def test_parse_labels():
  cfg = ml_collections.ConfigDict(dict(label_kind='classes', label_names=tuple('0123')))
  np.testing.assert_array_equal(labels.parse('2,0', cfg), [[0, 0, 1, 0], [1, 0, 0, 0]])
  with pytest.raises(validation.ConfigError, match='the classes are: 0, 1, 2, 3'):
    labels.parse('7', cfg)
  cfg = ml_collections.ConfigDict(dict(label_kind='attributes',
                                       label_names=('Smiling', 'Male', 'Young')))
  y = labels.parse('Smiling=1,Male=-1', cfg)
  assert y[0, 0] == 1 and y[0, 1] == -1 and np.isnan(y[0, 2])
  with pytest.raises(validation.ConfigError, match='knows: Smiling, Male, Young'):
    labels.parse('Smilling=1', cfg)
  with pytest.raises(validation.ConfigError, match='takes 1 or -1'):
    labels.parse('Male=0.5', cfg)


# ----------------------------------------------------- trained tiny runs, sample.py


def _train(workdir, **fields):
  c = tiny.get_config()
  c.update(dict(num_train_steps=2, log_every=1, checkpoint_every=2, **fields))
  trainer.train_and_evaluate(c, workdir, out=io.StringIO(), write_summaries=False)
  return workdir


@pytest.fixture(scope='module')
def conditional_run(tmp_path_factory):
  return _train(str(tmp_path_factory.mktemp('cond')), conditional=True, val_fraction=0.2,
                eval_every=2, eval_num=16, eval_features='classifier')


def test_live_evaluation_of_a_conditional_run(conditional_run):
  with open(os.path.join(conditional_run, 'eval.jsonl')) as f:
    rows = [json.loads(line) for line in f]
  assert [r['step'] for r in rows] == [2]
  assert np.isfinite(rows[0]['fd']) and np.isfinite(rows[0]['recon_mse'])


def test_config_json_knows_the_labels_and_grids_have_a_row_per_class(conditional_run):
  config = sample_cli.restore(conditional_run)[0]
  assert config.conditional and config.label_kind == 'classes'
  assert config.label_names == tuple('0123456789')
  # tiny: 4 images per grid -> at least one column per class, 10 rows
  png = Image.open(os.path.join(conditional_run, 'images', 'samples_0000002.png'))
  assert png.height > png.width  # 10 rows of 1


def test_sample_with_a_class_decodes_that_label(conditional_run, tmp_path):
  images = sample_cli.sample_main(conditional_run, num=6, seed=3, out=str(tmp_path / 'a.png'),
                                  labels='7')
  config, nets, state = sample_cli.restore(conditional_run)
  z = sampling.prior_z(config, jax.random.PRNGKey(3), 6)
  y = jnp.tile(jax.nn.one_hot(7, 10)[None], (6, 1))
  np.testing.assert_allclose(images, sampling.decode(nets, state, z, y), atol=1e-5)
  other = sample_cli.sample_main(conditional_run, num=6, seed=3,
                                 out=str(tmp_path / 'b.png'), labels='3')
  assert np.max(np.abs(other - images)) > 1e-6
  # Two classes: a grid row each (3 images of 3, then 3 of 5).
  two = sample_cli.sample_main(conditional_run, num=6, seed=3, out=str(tmp_path / 'c.png'),
                               labels='3,5')
  np.testing.assert_allclose(two[3:], sample_cli.sample_main(
      conditional_run, num=6, seed=3, out=str(tmp_path / 'd.png'), labels='5')[3:],
                             atol=1e-5)
  # No --labels: labels drawn from the training set, sorted by class.
  y, _ = sample_cli.label_rows(config, None, 50, 0)
  cls = np.argmax(y, 1)
  assert np.all(np.diff(cls) >= 0) and len(set(cls)) > 3


def test_sample_py_labels_errors_are_one_line(conditional_run, tmp_path):
  plain = _train(str(tmp_path / 'plain'))
  for workdir, labels_arg, message in [
      (plain, '7', 'applies to conditional models'),
      (conditional_run, 'seven', 'unknown class'),
  ]:
    r = subprocess.run([sys.executable, 'sample.py', '--workdir', workdir, '--labels',
                        labels_arg, '--out', str(tmp_path / 'x.png')], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and message in lines[0], r.stderr[-2000:]
  assert not os.path.exists(tmp_path / 'x.png')


def test_evaluate_scores_a_conditional_run(conditional_run):
  r = attributes.evaluate_main(conditional_run, classifier_steps=20)
  for row in ('generated', 'heldout'):
    assert -1 <= r[row]['cosine'] <= 1 and 0 <= r[row]['accuracy'] <= 1
    assert r[row]['n'] == 1797 - 1438  # the held-out 20% of the digits
  assert 'cosine' in attributes.evaluation_lines(r)


def test_evaluate_of_an_aux_run_and_its_baseline(tmp_path):
  run = _train(str(tmp_path / 'aux'), aux_weight=1.0, labeled_fraction=0.1,
               val_fraction=0.2)
  r = attributes.evaluate_main(run, baseline=True)
  assert r['labelled'] == int(0.1 * 1438) and r['n_heldout'] == 1797 - 1438
  assert 0 <= r['head'] <= 1 and 0 <= r['baseline'] <= 1


def test_celeba_shaped_40_attributes_train_conditionally(tmp_path):
  images = tmp_path / 'img'
  images.mkdir()
  rng = np.random.default_rng(0)
  names = [f'{i + 1:06d}.png' for i in range(16)]
  for name in names:
    Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(images / name)
  rows = [f'{n} ' + ' '.join(str(int(v)) for v in rng.choice([-1, 1], 40)) for n in names]
  (tmp_path / 'list_attr_celeba.txt').write_text(
      f'{len(rows)}\n{" ".join(CELEBA_40)}\n' + '\n'.join(rows) + '\n')
  run = _train(str(tmp_path / 'run'), dataset='folder', data_path=str(images),
               crop='center_square', conditional=True,
               attributes=('Attr05', 'Attr31', 'Attr02'))
  config, nets, state = sample_cli.restore(run)
  assert config.label_kind == 'attributes'
  assert config.label_names == ('Attr05', 'Attr31', 'Attr02') and nets.decoder.label_dim == 3
  images_ = sample_cli.sample_main(run, num=4, out=str(tmp_path / 's.png'),
                                   labels='Attr31=1,Attr02=-1')
  assert images_.shape == (4, 16, 16, 1)
  y, _ = sample_cli.label_rows(config, 'Attr31=1,Attr02=-1', 4, 0)
  assert np.all(y[:, 1] == 1) and np.all(y[:, 2] == -1) and set(np.unique(y[:, 0])) <= {-1, 1}
  with pytest.raises(sample_cli.UsageError, match='knows: Attr05, Attr31, Attr02'):
    sample_cli.sample_main(run, num=4, out=str(tmp_path / 't.png'), labels='Attr07=1')
  rows_file = tmp_path / 'rows.txt'
  rows_file.write_text('1 -1 1\n-1 1 -1\n')
  both = sample_cli.sample_main(run, num=4, out=str(tmp_path / 'u.png'),
                                labels=str(rows_file))
  assert both.shape == (4, 16, 16, 1)
  # Table 1's numbers on attributes, with the FD in the attribute predictor's features.
  r = attributes.evaluate_main(run, classifier_steps=5)
  assert r['generated']['n'] == r['heldout']['n'] == 16  # no held-out split: the train
  assert 0 <= r['generated']['accuracy'] <= 1 and np.isfinite(r['generated']['fd'])
  assert r['generated']['fd'] > 0 and 'fd' not in r['heldout']


def test_tfds_sets_give_classes_and_celeba_attributes_through_mock_data(tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  config = tiny.get_config()
  config.update(dict(dataset='mnist', conditional=True))
  with tfds.testing.mock_data(num_examples=10):
    ds = input_pipeline.load(config)
    labels.resolve(config, ds)
    y = labels.prepare(config, ds).read_labels(np.arange(4))
  assert config.label_kind == 'classes' and config.label_names == tuple('0123456789')
  np.testing.assert_array_equal(y.sum(1), 1)
  # CelebA's 40 attributes: a conditional tiny model trains and samples with names.
  with tfds.testing.mock_data(num_examples=16):
    run = _train(str(tmp_path / 'celeba'), dataset='celeb_a', channels=3,
                 crop='center_square', conditional=True)
    config, nets, _ = sample_cli.restore(run)
    assert config.label_kind == 'attributes' and len(config.label_names) == 40
    assert nets.encoder.label_dim == nets.discriminator.label_dim == 40
    images = sample_cli.sample_main(run, num=4, out=str(tmp_path / 's.png'),
                                    labels='Smiling=1,Male=-1')
  assert images.shape == (4, 16, 16, 3)


def test_class_grid_puts_each_class_on_its_own_row():
  images = np.linspace(-0.9, 0.9, 6, dtype=np.float32)[:, None, None, None] * np.ones(
      (6, 2, 2, 1), np.float32)
  grid = sample_cli.class_grid(images, np.array([0, 0, 1, 2, 2, 2]))
  assert grid.shape == (3 * 3 + 1, 3 * 3 + 1, 1)  # 3 rows (classes) x 3 columns
  tile = lambda r, c: grid[1 + 3 * r, 1 + 3 * c, 0]
  pixel = lambda i: np.uint8(round((images[i, 0, 0, 0] + 1) * 127.5))
  assert [tile(0, 0), tile(0, 1), tile(0, 2)] == [pixel(0), pixel(1), 255]
  assert [tile(1, 0), tile(1, 1)] == [pixel(2), 255]
  assert [tile(2, 0), tile(2, 1), tile(2, 2)] == [pixel(3), pixel(4), pixel(5)]
