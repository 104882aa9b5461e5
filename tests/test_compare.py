"""vaegan_jax.compare: the feature classifier, an end-to-end run, the CLI."""

import io
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from vaegan_jax import classifier
from vaegan_jax import compare
from vaegan_jax import compare_report
from vaegan_jax import input_pipeline
from vaegan_jax import objectives

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(latent_dim=8, enc_widths=(8, 8), enc_dense=16, dec_dense_channels=8,
            dec_widths=(8, 8), dis_widths=(8, 8, 8), dis_dense=16, batch_size=8)
WITH_ENCODER = {m for m, model in objectives.MODELS.items() if model.encoder}


def test_results_name_the_config_as_given():
  assert compare_report.config_label('colour') == 'configs/colour.py'
  assert compare_report.config_label('/tmp/exp/mine.py') == '/tmp/exp/mine.py'


def test_classifier_learns_the_digits():
  train = classifier.digits_split('train')
  heldout = classifier.digits_split('validation')
  assert (len(train.images), len(heldout.images)) == (1438, 359)
  assert train.images.shape[1:] == (16, 16, 1) and set(heldout.labels) == set(range(10))
  clf = classifier.train_classifier(train, heldout, steps=60)
  assert clf.heldout_accuracy > 0.9
  f = clf.features(heldout.images)
  assert f.shape == (359, classifier.FEATURE_DIM) and np.all(np.isfinite(f))
  np.testing.assert_allclose(np.sqrt(np.mean(f**2)), 1.0, rtol=1e-5)  # unit RMS
  p = clf.probabilities(heldout.images[:70])
  np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
  np.testing.assert_array_equal(p.argmax(-1), clf.predict(heldout.images[:70]))


def _table_rows(markdown):
  """{first cell: cells} of the markdown table rows."""
  rows = {}
  for line in markdown.splitlines():
    if line.startswith('| ') and not line.startswith('| model') and '---' not in line:
      cells = [c.strip() for c in line.strip('|').split('|')]
      rows[cells[0]] = cells
  return rows


def test_compare_end_to_end(tmp_path):
  models = compare.MODELS
  log = io.StringIO()
  # One step: compilation is most of the cost, and a step to check is enough.
  results = compare.compare(1, str(tmp_path), models=models, num_samples=64,
                            overrides=TINY, classifier_steps=30, out=log)
  # samples.png: a held-out row, then one row per model and one more (its mixture's
  # samples) per model with an encoder.
  width, height = Image.open(tmp_path / 'samples.png').size
  tile = compare_report.FIGURE_SCALE * (16 + 1)
  pad = compare_report.FIGURE_SCALE
  assert width == compare_report.LABEL_WIDTH + compare_report.SAMPLES_PER_ROW * tile + pad
  assert height == (len(models) + len(WITH_ENCODER) + 1) * (tile + pad)
  rows = _table_rows((tmp_path / 'results.md').read_text())
  assert set(models) < set(rows) and any(r.startswith('real data') for r in rows)
  on_disk = json.loads((tmp_path / 'results.json').read_text())
  assert on_disk['models'].keys() == results['models'].keys() == set(models)
  assert on_disk['seeds'] == [0] and np.isfinite(on_disk['data_floor']['fd'][0])
  assert json.loads((tmp_path / 'seed0' / 'results.json').read_text())['seed'] == 0
  assert sum(on_disk['models'][m]['lowest_fd'] for m in models) == 1
  assert sum(on_disk['models'][m]['lowest_fd_gmm'] for m in models) == 1
  assert sum(on_disk['models'][m]['lowest_fd_auto'] for m in models) == 1
  for m in models:
    (r,) = on_disk['models'][m]['runs']
    assert r['steps'] == 1 and r['diverged'] is None, (m, r)
    assert np.isfinite(r['fd']) and r['fd'] > 0 and np.isfinite(r['kid'])
    assert 0 <= r['classes'] <= 10
    assert (r['recon_mse'] is not None) == (m in WITH_ENCODER), (m, r)
    assert (r['fd_gmm'] is not None) == (m in WITH_ENCODER), (m, r)
    if m in WITH_ENCODER:
      assert 0 < r['recon_mse'] < 4  # per-pixel MSE of images in [-1, 1]
      assert np.isfinite(r['recon_fd']) and r['recon_fd'] > 0
      assert rows[m][7] == f'{r["recon_fd"]:.4g}'
    else:
      assert r['recon_fd'] is None
    if m in WITH_ENCODER:
      assert np.isfinite(r['fd_gmm']) and r['fd_gmm'] != r['fd']
      assert rows[m][3] == f'{r["fd_gmm"]:.4g}'
      assert (r['auto_sampler'], r['fd_auto']) == ('gmm', r['fd_gmm'])  # the digits'
    else:
      assert (r['auto_sampler'], r['fd_auto']) == ('prior', r['fd'])
    assert rows[m][11] == f'{r["fd_auto"]:.4g} ({r["auto_sampler"]} 1)'
    assert (r['dis_updated'] is not None) == (m != 'vae'), (m, r)  # has a discriminator
    assert rows[m][1] == '1/1' and (rows[m][6] == '—') == (m not in WITH_ENCODER)
    assert os.path.isdir(tmp_path / 'seed0' / m / 'checkpoints')
    assert f'[{m}] step 1/1' in log.getvalue()
  assert 'real data' in log.getvalue()  # the table is printed at the end
  # Blurred real digits score worse than the real ones: the row that shows what
  # images without fine detail get.
  floor = on_disk['data_floor']
  assert floor['fd_blurred'][0] > 1.5 * floor['fd'][0]
  assert any(r.startswith('real data, blurred') for r in rows)


def test_compare_trains_and_scores_colour_class_folders(tmp_path):
  data = tmp_path / 'data'
  rng = np.random.default_rng(0)
  for c, colour in (('red', (200, 30, 30)), ('green', (30, 200, 30))):
    (data / c).mkdir(parents=True)
    for i in range(16):
      img = np.clip(rng.normal(colour, 40, (20, 20, 3)), 0, 255).astype(np.uint8)
      Image.fromarray(img).save(data / c / f'{i}.png')
  split = classifier.load_split('train', 0, data='folder', image_size=16,
                                data_path=str(data), channels=3)
  assert split.images.shape == (26, 16, 16, 3)
  # Class folders in sorted order: 0 green, 1 red; the channels are kept.
  assert split.images[split.labels == 0][..., 1].mean() > 0.5
  assert split.images[split.labels == 1][..., 0].mean() > 0.5
  results = compare.compare(1, str(tmp_path / 'out'), models=('vae', 'vaegan'),
                            num_samples=32, overrides=TINY, classifier_steps=20,
                            data='folder', data_path=str(data), image_size=16,
                            channels=3, out=io.StringIO())
  assert results['channels'] == 3 and results['config'] == compare.COLOUR_CONFIG
  for m in ('vae', 'vaegan'):
    (r,) = results['models'][m]['runs']
    assert r['steps'] == 1 and np.isfinite(r['fd']) and np.isfinite(r['recon_mse'])
    # configs/colour.py: the VAE-GAN samples from the prior by default, the VAE not.
    assert r['auto_sampler'] == {'vae': 'gmm', 'vaegan': 'prior'}[m]
    cfg = json.loads((tmp_path / 'out' / 'seed0' / m / 'config.json').read_text())
    assert (cfg['channels'], cfg['model']) == (3, m)
  fig = Image.open(tmp_path / 'out' / 'samples.png')
  assert fig.mode == 'RGB'
  assert fig.size[1] == 5 * compare_report.FIGURE_SCALE * (16 + 2)  # data + 2 models x 2 rows
  # The data row is in colour: its red and green tiles differ in their channels.
  pixels = np.asarray(fig)[:fig.size[1] // 5, compare_report.LABEL_WIDTH:]
  assert np.abs(pixels[..., 0].astype(int) - pixels[..., 1]).max() > 100
  with pytest.raises(compare.UsageError, match='digits are grey'):
    compare.compare(1, str(tmp_path / 'x'), channels=3)
  with pytest.raises(compare.UsageError, match='--channels must be'):
    compare.compare(1, str(tmp_path / 'x'), data='folder', data_path=str(data),
                    channels=2)


def test_compare_several_seeds_at_28x28_gives_mean_and_spread(tmp_path):
  results = compare.compare(2, str(tmp_path), models=('vae', 'vaegan'), num_samples=32,
                            overrides=dict(TINY, log_every=1), classifier_steps=20,
                            seed=3, seeds=2, image_size=28, out=io.StringIO())
  assert results['seeds'] == [3, 4] and results['image_size'] == 28
  for m in ('vae', 'vaegan'):
    runs = results['models'][m]['runs']
    assert [r['seed'] for r in runs] == [3, 4]
    assert runs[0]['fd'] != runs[1]['fd']  # another split, classifier and model
    fds = [r['fd'] for r in runs]
    cell = _table_rows((tmp_path / 'results.md').read_text())[m][2]
    assert cell == f'{np.mean(fds):.4g} ± {np.std(fds, ddof=1):.4g}'
  # The discriminator's update fraction comes from the second half's log windows.
  assert all(r['dis_updated'] == 1.0 for r in results['models']['vaegan']['runs'])
  assert sum(results['models'][m]['lowest_fd'] for m in ('vae', 'vaegan')) == 2
  width, height = Image.open(tmp_path / 'samples.png').size
  assert height == 5 * (28 * 2 + 2 * 2)  # 28x28 tiles at scale 2: held-out, 2 x 2 rows
  for s in (3, 4):
    assert os.path.isdir(tmp_path / f'seed{s}' / 'vaegan' / 'checkpoints')
  # Re-running resumes: nothing left to train, and the table keeps the first session's
  # training time and the discriminator's update fraction.
  log = io.StringIO()
  again = compare.compare(2, str(tmp_path), models=('vae', 'vaegan'), num_samples=32,
                          overrides=dict(TINY, log_every=1), classifier_steps=20,
                          seed=3, seeds=2, image_size=28, out=log)
  assert log.getvalue().count('nothing to do') == 4
  for m in ('vae', 'vaegan'):
    for first, second in zip(results['models'][m]['runs'], again['models'][m]['runs']):
      assert second['train_time_s'] >= first['train_time_s'] > 0
      assert second['dis_updated'] == first['dis_updated']
      assert second['fd'] == pytest.approx(first['fd'], rel=1e-4)


def test_compare_reads_a_folder_of_class_folders(tmp_path):
  data = tmp_path / 'data'
  rng = np.random.default_rng(0)
  for c in ('a', 'b', 'c'):
    (data / c).mkdir(parents=True)
    for i in range(12):
      img = np.zeros((28, 28), np.uint8)
      img[4 + 6 * 'abc'.index(c):10 + 6 * 'abc'.index(c)] = rng.integers(150, 256)
      Image.fromarray(img).save(data / c / f'{i}.png')
  split = classifier.load_split('train', 0, data='folder', image_size=16,
                             data_path=str(data))
  assert split.images.shape == (29, 16, 16, 1) and set(split.labels) == {0, 1, 2}
  held = classifier.load_split('validation', 0, data='folder', image_size=16,
                            data_path=str(data))
  assert len(held.images) == 7
  flat = tmp_path / 'flat'
  flat.mkdir()
  Image.fromarray(np.zeros((8, 8), np.uint8)).save(flat / 'x.png')
  with pytest.raises(input_pipeline.DataError, match=r'DIR/<class>/\*\.png'):
    classifier.load_split('train', 0, data='folder', data_path=str(flat))


def test_compare_rejects_bad_arguments_before_training(tmp_path):
  with pytest.raises(compare.UsageError, match='unknown model'):
    compare.compare(2, str(tmp_path), models=('vaegan', 'gan'))
  with pytest.raises(compare.UsageError, match='not a field'):
    compare.compare(2, str(tmp_path), models=('vaegan',), overrides={'latnet_dim': 4})
  with pytest.raises(compare.UsageError, match='digits and folder'):
    compare.compare(2, str(tmp_path), data='celeb_a')
  with pytest.raises(compare.UsageError, match='--data_path'):
    compare.compare(2, str(tmp_path), data='folder')
  with pytest.raises(compare.UsageError, match='--seeds must be'):
    compare.compare(2, str(tmp_path), seeds=0)
  assert not os.listdir(tmp_path)


@pytest.mark.parametrize('flag, words', [('--data=mnist', 'mnist'),
                                         ('--models=vaegan,gan', 'gan')])
def test_cli_errors_are_one_line_with_exit_status_2(tmp_path, flag, words):
  proc = subprocess.run(
      [sys.executable, '-m', 'vaegan_jax.compare', flag, f'--out={tmp_path}'],
      cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2, proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('error:') and words in lines[0], lines
  assert not os.listdir(tmp_path)


def test_a_diverged_model_gets_a_row_and_the_others_still_run(tmp_path, monkeypatch):
  def diverge(config, workdir, **kwargs):
    del config, workdir, kwargs
    raise compare.trainer.TrainingDiverged(
        'loss/decoder = nan at step 3: training stopped')

  monkeypatch.setattr(compare.trainer, 'train_and_evaluate', diverge)
  results = compare.compare(5, str(tmp_path), models=('vaegan',), num_samples=32,
                            overrides=TINY, classifier_steps=5, out=io.StringIO())
  (r,) = results['models']['vaegan']['runs']
  assert r['diverged'] == 'loss/decoder = nan at step 3' and r['fd'] is None
  rows = _table_rows((tmp_path / 'results.md').read_text())
  assert rows['vaegan'][1] == '0/1 (1 diverged)' and rows['vaegan'][2] == '—'
  height = Image.open(tmp_path / 'samples.png').size[1]
  assert height == 2 * compare_report.FIGURE_SCALE * (16 + 2)  # held-out row + the empty row


def test_a_killed_run_keeps_its_time_and_log_windows(tmp_path, monkeypatch):
  # A session killed mid-run (here: interrupted after its log windows) leaves its
  # training time and windows in compare_run.json; the next session, resumed from an
  # earlier checkpoint, replaces the windows it logs again and adds its time.
  def killed_after(steps):
    def train(config, workdir, *, on_log, **kwargs):
      del config, kwargs
      os.makedirs(workdir, exist_ok=True)
      for s in steps:
        on_log(s, {'updated/discriminator': s / 1000, 'loss/gan': 1.0})
      raise KeyboardInterrupt
    return train

  record = lambda: json.loads(
      (tmp_path / 'seed0' / 'vaegan' / compare.RUN_RECORD).read_text())
  run = lambda: compare.compare(300, str(tmp_path), models=('vaegan',), num_samples=32,
                                overrides=TINY, classifier_steps=5, out=io.StringIO())
  monkeypatch.setattr(compare.trainer, 'train_and_evaluate', killed_after([50, 100]))
  with pytest.raises(KeyboardInterrupt):
    run()
  first = record()
  assert first['windows'] == [[50, {'updated/discriminator': 0.05}],
                              [100, {'updated/discriminator': 0.1}]]
  assert first['train_time_s'] > 0
  monkeypatch.setattr(compare.trainer, 'train_and_evaluate', killed_after([100, 150]))
  with pytest.raises(KeyboardInterrupt):
    run()
  second = record()
  assert [st for st, _ in second['windows']] == [50, 100, 150]
  assert second['train_time_s'] > first['train_time_s']


def test_inception_features_are_used_for_fd_and_missing_weights_stop_before_training(
    tmp_path, monkeypatch):
  from vaegan_jax import inception  # pylint: disable=g-import-not-at-top
  from vaegan_jax import metrics  # pylint: disable=g-import-not-at-top
  with pytest.raises(inception.WeightsMissing, match='pt_inception'):
    compare.compare(1, str(tmp_path / 'a'), models=('vae',), features='inception',
                    inception_weights=str(tmp_path / 'none.pth'))
  assert not os.path.exists(tmp_path / 'a')
  with pytest.raises(compare.validation.ConfigError, match='vgg'):
    compare.compare(1, str(tmp_path / 'a'), models=('vae',), features='vgg')

  def pooled(x):  # a stand-in for Inception: 4x4 mean pooling, 16 features
    x = np.asarray(x, np.float64)
    n, h, w, _ = x.shape
    return x[..., 0].reshape(n, 4, h // 4, 4, w // 4).mean(axis=(2, 4)).reshape(n, 16)

  asked = []
  monkeypatch.setattr(compare.feats, 'feature_fn',
                      lambda kind, shape, **kw: asked.append(kind) or pooled)
  results = compare.compare(1, str(tmp_path / 'b'), models=('vae',), num_samples=64,
                            overrides=TINY, classifier_steps=30, features='inception',
                            out=io.StringIO())
  assert asked == ['inception'] and results['features'] == 'inception'
  train = classifier.load_split('train', 0)
  held = classifier.load_split('validation', 0)
  idx = np.sort(np.random.default_rng([0, 13]).choice(len(train.images), 64, replace=False))
  want = metrics.frechet_distance(pooled(train.images[idx]), pooled(held.images))
  assert results['data_floor']['fd'][0] == pytest.approx(want, rel=1e-9)
  assert 'InceptionV3' in (tmp_path / 'b' / 'results.md').read_text()


def test_set_flags_are_python_literals_or_text():
  assert compare.parse_sets(['dis_blur=True', 'decoder_gan_weight=2', 'dec_widths=(8, 8)',
                             'auto_sampler=gmm']) == dict(
                                 dis_blur=True, decoder_gan_weight=2, dec_widths=(8, 8),
                                 auto_sampler='gmm')
  with pytest.raises(compare.UsageError, match='FIELD=VALUE'):
    compare.parse_sets(['dis_blur'])
  config = compare.model_config('vaegan', 2, overrides=compare.parse_sets(
      ['gan_include_recon=True']), base='colour', data='folder', channels=3, image_size=32)
  assert config.gan_include_recon and config.model == 'vaegan'


def test_a_config_gives_compare_the_vaegan_that_train_py_trains():
  """compare --config X trains each model with its recipe on X's networks and data
  fields: for the VAE-GAN that is X itself (emoji discriminates reconstructions)."""
  from vaegan_jax import config_files  # pylint: disable=g-import-not-at-top
  own = config_files.load('emoji')
  config = compare.model_config('vaegan', 2, base='emoji', data='folder', channels=3,
                                image_size=32, data_path='d')
  for field in ('gan_include_recon', 'latent_dim', 'decoder_gan_weight', 'auto_sampler',
                'crop', 'random_flip', 'learning_rate'):
    assert config[field] == own[field], field
  vae = compare.model_config('vae', 2, base='emoji', data='folder', channels=3,
                             image_size=32, data_path='d')
  assert (vae.optimizer, vae.latent_dim) == ('rmsprop', own.latent_dim)  # its recipe
