"""GAN health warnings: when they fire, once per episode, and through the trainer."""

import io

from configs import tiny
from vaegan_jax import health
from vaegan_jax import trainer


def _feed(monitor, windows):
  """The warnings of each window, in order."""
  return [monitor.check(100 * (i + 1), m) for i, m in enumerate(windows)]


def test_frozen_discriminator_warns_after_patience_windows_once():
  frozen = {'updated/discriminator': 0.02, 'D/x_p': 0.3}
  out = _feed(health.GanHealth(patience=3), [frozen] * 5)
  assert [len(w) for w in out] == [0, 0, 1, 0, 0]
  assert 'skipped on 98%' in out[2][0] and 'step 300' in out[2][0]
  assert health.DOCS_PAGE in out[2][0] and '\n' not in out[2][0]


def test_a_healthy_window_resets_the_count_and_rearms_the_warning():
  frozen = {'updated/discriminator': 0.0, 'D/x_p': 0.3}
  ok = {'updated/discriminator': 0.5, 'D/x_p': 0.3}
  out = _feed(health.GanHealth(patience=2),
              [frozen, ok, frozen, frozen, frozen, ok, frozen, frozen])
  assert [len(w) for w in out] == [0, 0, 0, 1, 0, 0, 0, 1]


def test_exactly_at_the_threshold_is_healthy():
  edge = {'updated/discriminator': 0.05, 'D/x_p': 0.05}
  assert _feed(health.GanHealth(patience=1), [edge]) == [[]]


def test_discriminator_winning_outright_warns():
  winning = {'updated/discriminator': 1.0, 'D/x_p': 0.01}
  out = _feed(health.GanHealth(patience=2), [winning] * 2)
  assert out[0] == [] and len(out[1]) == 1 and 'D(x_p) = 0.010' in out[1][0]


def test_both_conditions_give_two_lines_and_models_without_them_none():
  both = {'updated/discriminator': 0.0, 'D/x_p': 0.0}
  assert len(_feed(health.GanHealth(patience=1), [both])[0]) == 2
  vae = {'loss/encoder': 1.0}
  assert _feed(health.GanHealth(patience=1), [vae] * 3) == [[], [], []]


def test_trainer_prints_update_fractions_and_the_warning(tmp_path, monkeypatch):
  # equilibrium=10: both costs are always "below equilibrium - margin", so the rule
  # skips the discriminator on every step; the trainer must say so.
  config = tiny.get_config()
  config.update(use_equilibrium=True, equilibrium=10.0, num_train_steps=6, log_every=1,
                checkpoint_every=6)
  monkeypatch.setattr(health.GanHealth, 'patience', 3)
  out, windows = io.StringIO(), []
  trainer.train_and_evaluate(config, str(tmp_path), out=out, write_summaries=False,
                             on_log=lambda s, m: windows.append((s, m)))
  lines = out.getvalue().splitlines()
  progress = [l for l in lines if l.startswith('step ')]
  assert len(progress) == 6 and all('updated dec 1.00 dis 0.00' in l for l in progress)
  warnings = [l for l in lines if l.startswith('warning: the discriminator was skipped')]
  assert len(warnings) == 1
  assert lines.index(warnings[0]) == lines.index(progress[2]) + 1  # after window 3
  assert [s for s, _ in windows] == list(range(1, 7))
  assert all(m['updated/discriminator'] == 0.0 for _, m in windows)
