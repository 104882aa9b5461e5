"""Live evaluation during training (config.eval_every, vaegan_jax/live_eval.py)."""

import io
import json

import numpy as np
import pytest

from configs import tiny
from vaegan_jax import features
from vaegan_jax import live_eval
from vaegan_jax import metrics
from vaegan_jax import objectives
from vaegan_jax import sampling
from vaegan_jax import trainer
from vaegan_jax import validation


def _config(**overrides):
  c = tiny.get_config()
  c.update(dict(eval_every=5, eval_num=64, eval_features='classifier', val_fraction=0.2,
                num_train_steps=12, log_every=4, checkpoint_every=100, image_every=0))
  c.update(overrides)
  return c


def test_heldout_split_is_disjoint_from_training_or_said_to_be_the_training_images():
  c = _config()
  ds, split = live_eval.heldout(c)
  assert split == 'validation'
  train = _load(c)
  held = ds.batch(np.arange(ds.num_examples), np.random.default_rng(0))
  seen = {x.tobytes() for x in train}
  assert ds.num_examples == round(0.2 * 1797)
  assert sum(x.tobytes() in seen for x in held) < 5  # digits has a few duplicate images
  c = _config(val_fraction=0.0)
  ds, split = live_eval.heldout(c)
  assert split == 'train' and ds.num_examples == 1797
  live = live_eval.LiveEval(c, objectives.build_networks(c), '/nonexistent')
  assert 'no held-out split' in live.description


def _load(c):
  from vaegan_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  ds = input_pipeline.load(c)
  return ds.batch(np.arange(ds.num_examples), np.random.default_rng(0))


def test_trainer_reports_fd_kid_and_recon_at_eval_steps_and_they_recompute(tmp_path):
  c = _config()
  out = io.StringIO()
  state = trainer.train_and_evaluate(c, str(tmp_path), out=out, write_summaries=False)
  lines = out.getvalue().splitlines()
  assert any(l.startswith('live evaluation every 5 steps: 64 samples against 64 '
                          'validation images, classifier features') for l in lines)
  # Steps 5 and 10 log nothing else: a line of their own; step 12 (the last) is on the
  # progress line.
  assert [l for l in lines if l.startswith('step 5:')][0].startswith('step 5: eval fd ')
  assert any(l.startswith('step 10: eval fd ') for l in lines)
  last = [l for l in lines if l.startswith('step 12/12')][0]
  assert '| eval fd ' in last and ' kid ' in last and ' recon_mse ' in last
  assert not any('eval' in l for l in lines if l.startswith('step  4/12'))
  with open(tmp_path / 'eval.jsonl') as f:
    records = [json.loads(l) for l in f]
  assert [r['step'] for r in records] == [5, 10, 12]
  assert all(r['n'] == 64 and r['n_ref'] == 64 and r['ref_split'] == 'validation'
             for r in records)
  # The last record is the FD/KID of the returned state's samples, recomputed here.
  live = live_eval.LiveEval(c, objectives.build_networks(c), str(tmp_path / 'again'))
  nets = objectives.build_networks(c)
  gen = np.asarray(sampling.decode(nets, state, live.z))
  gen_f = live.fn(gen)
  ref_f = live.ref.features
  assert records[-1]['fd'] == pytest.approx(metrics.frechet_distance(gen_f, ref_f),
                                            rel=1e-4)
  assert records[-1]['kid'] == pytest.approx(metrics.kernel_distance(gen_f, ref_f),
                                             rel=1e-4, abs=1e-6)
  rec = np.asarray(sampling.reconstructions(nets, state, live.x))
  assert records[-1]['recon_mse'] == pytest.approx(float(np.mean((rec - live.x) ** 2)),
                                                   rel=1e-4)
  assert records[0]['fd'] != records[-1]['fd']  # the model changed between evaluations


def test_dcgan_has_no_recon_and_bad_eval_fields_are_config_errors(tmp_path):
  c = _config(model='dcgan')
  live = live_eval.LiveEval(c, objectives.build_networks(c), str(tmp_path))
  from vaegan_jax import train_state as ts  # pylint: disable=g-import-not-at-top
  nets = objectives.build_networks(c)
  state = ts.create(c, nets, ts.make_optimizers(c, nets.roles()))
  r = live(state, 0)
  assert set(r) == {'eval/fd', 'eval/kid'} and np.isfinite(r['eval/fd'])
  assert live_eval.summary(r).startswith('eval fd ')
  for bad, text in ((dict(eval_features='vgg'), 'eval_features'),
                    (dict(eval_num=1), 'eval_num'), (dict(eval_every=-1), 'eval_every')):
    with pytest.raises(validation.ConfigError, match=text):
      validation.validate(_config(**bad))
  with pytest.raises(validation.ConfigError, match='--config.eval_features=inception'):
    features.feature_fn('classifier', (16, 16, 3), flag='--config.eval_features')


def test_a_colour_folder_is_scored_in_its_own_classifiers_features(tmp_path):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from vaegan_jax import classifier  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  for cls, colour in (('red', (200, 30, 30)), ('blue', (30, 30, 200))):
    (tmp_path / cls).mkdir()
    for i in range(20):
      img = np.clip(np.array(colour) + rng.normal(0, 30, (16, 16, 3)), 0, 255)
      Image.fromarray(img.astype(np.uint8)).save(tmp_path / cls / f'{i}.png')
  c = _config(dataset='folder', data_path=str(tmp_path), channels=3, crop='none',
              image_size=16)
  live = live_eval.LiveEval(c, objectives.build_networks(c), str(tmp_path / 'w'))
  fields = dict(data='folder', data_path=str(tmp_path), image_size=16, channels=3)
  _, _, clf, _ = classifier.seed_classifier(c.seed, **fields)  # compare's, same seed
  np.testing.assert_allclose(live.fn(live.x), clf.features(live.x), rtol=1e-6)
  assert live.ref.features.shape == (len(live.x), classifier.FEATURE_DIM)
