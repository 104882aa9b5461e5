"""Who learns from what: per-role gradients, the decoder's GAN sign, golden values, jit."""

import functools
import importlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from tests.tree_checks import assert_trees_close, norm, term_grad
from vaegan_jax import input_pipeline
from vaegan_jax import objectives
from vaegan_jax import train_state as ts
from vaegan_jax import train_step as tstep


# The paper's three terms alone (fixed weights, no pixel term, x_rec discriminated), so
# L_GAN reaches the encoder through x_rec and the exclusions below mean something. The
# default recipe's extras are tested on their own (adaptive weight, pixel term, golden).
PAPER_TERMS = dict(decoder_gan_balance='fixed', pixel_llike_weight=0.0,
                   pixel_llike_scale='none', gan_include_recon=True)


def _setup(paper_terms=True, **overrides):
  config = tiny.get_config()
  if paper_terms:
    config.update(PAPER_TERMS)
  config.update(overrides)
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = ts.create(config, nets, txs)
  ds = input_pipeline.load(config)
  batch = input_pipeline.batch_for_step(ds, config.batch_size, config.seed, 0)
  objective = functools.partial(objectives.vaegan, nets=nets, config=config)
  return config, nets, txs, state, batch, objective


@pytest.mark.parametrize('gen_loss,dis_bn', [('saturating', 'joint'),
                                             ('non_saturating', 'joint'),
                                             ('non_saturating', 'per_source')])
def test_each_role_gets_exactly_the_gradient_of_its_own_loss(gen_loss, dis_bn):
  config, _, _, state, batch, objective = _setup(
      gan_generator_loss=gen_loss, decoder_llike_weight=0.3, decoder_gan_weight=0.7,
      dis_batch_norm=dis_bn)
  key = jax.random.PRNGKey(3)
  grads, _, _ = tstep.role_gradients(objective, state.params, state.batch_stats, batch, key)
  a, b = config.decoder_llike_weight, config.decoder_gan_weight
  want = {
      'encoder': {'loss/prior': 1.0, 'loss/llike': 1.0},
      'decoder': {'loss/llike': a, 'loss/gen': b},
      'discriminator': {'loss/gan': 1.0},
  }
  for role, weights in want.items():
    assert_trees_close(grads[role], term_grad(objective, state, batch, key, role, weights),
                        rtol=2e-4, atol=1e-6)


def test_the_excluded_signals_exist_so_isolation_is_meaningful():
  # L_GAN does depend on the encoder (through x_rec) and L_llike on the discriminator:
  # a naive "grad of the total loss" would leak both. The per-role step must not.
  _, _, _, state, batch, objective = _setup()
  key = jax.random.PRNGKey(3)
  gan_into_enc = term_grad(objective, state, batch, key, 'encoder', {'loss/gan': 1.0})
  llike_into_dis = term_grad(objective, state, batch, key, 'discriminator',
                              {'loss/llike': 1.0})
  assert norm(gan_into_enc) > 1e-4 and norm(llike_into_dis) > 1e-4
  grads, _, _ = tstep.role_gradients(objective, state.params, state.batch_stats, batch, key)
  leaky_enc = term_grad(objective, state, batch, key, 'encoder',
                         {'loss/prior': 1.0, 'loss/llike': 1.0, 'loss/gan': 1.0})
  assert norm(jax.tree.map(jnp.subtract, grads['encoder'], leaky_enc)) > 1e-4


def test_encoder_gradient_ignores_the_discriminator_head():
  # The head after Dis_l (dense + logit) shapes L_GAN only; changing it must leave the
  # encoder's gradient unchanged while the decoder's (which has a GAN term) moves.
  _, _, _, state, batch, objective = _setup()
  key = jax.random.PRNGKey(4)
  g0, _, _ = tstep.role_gradients(objective, state.params, state.batch_stats, batch, key)
  dis = dict(state.params['discriminator'])
  dis['logit'] = jax.tree.map(lambda w: w * 3.0 + 0.5, dis['logit'])
  params = {**state.params, 'discriminator': dis}
  g1, _, _ = tstep.role_gradients(objective, params, state.batch_stats, batch, key)
  assert_trees_close(g0['encoder'], g1['encoder'], rtol=1e-5, atol=1e-7)
  assert norm(jax.tree.map(jnp.subtract, g0['decoder'], g1['decoder'])) > 1e-4


def test_discriminator_gradient_does_not_depend_on_llike_weight():
  _, _, _, state, batch, objective = _setup(decoder_llike_weight=1.0)
  _, _, _, _, _, objective_heavy = _setup(decoder_llike_weight=100.0)
  key = jax.random.PRNGKey(5)
  g0, _, _ = tstep.role_gradients(objective, state.params, state.batch_stats, batch, key)
  g1, _, _ = tstep.role_gradients(objective_heavy, state.params, state.batch_stats, batch,
                                  key)
  assert_trees_close(g0['discriminator'], g1['discriminator'], rtol=1e-6)
  assert_trees_close(g0['encoder'], g1['encoder'], rtol=1e-6)


@pytest.mark.parametrize('gen_loss', ['saturating', 'non_saturating'])
def test_decoder_update_raises_discriminator_logit_on_generated_images(gen_loss):
  # Pure GAN signal into the decoder (llike weight 0), no equilibrium skipping.
  config, nets, txs, state, batch, objective = _setup(
      gan_generator_loss=gen_loss, decoder_llike_weight=0.0, use_equilibrium=False,
      learning_rate=1e-3)
  step = tstep.make_train_step(config, nets, txs)
  key = jax.random.fold_in(state.key, state.step)  # the key the step itself uses
  old_params = state.params
  _, aux0 = objective(old_params, state.batch_stats, batch, key)
  new_state, _ = step(jax.tree.map(jnp.copy, state), batch)
  moved = {**old_params, 'decoder': new_state.params['decoder']}
  _, aux1 = objective(moved, state.batch_stats, batch, key)
  assert aux1['metrics']['D/x_p'] > aux0['metrics']['D/x_p']
  assert aux1['metrics']['loss/fake_cost'] > aux0['metrics']['loss/fake_cost']


def test_skipped_roles_keep_params_and_optimizer_state():
  # equilibrium=10 makes both costs "below equilibrium - margin": the discriminator is
  # winning, so its update is skipped while the decoder and encoder move.
  config, nets, txs, state, batch, _ = _setup(use_equilibrium=True, critic_steps=0,
                                              equilibrium=10.0, margin=0.35)
  step = tstep.make_train_step(config, nets, txs)
  before = jax.device_get(state)
  after, metrics = step(state, batch)
  after = jax.device_get(after)
  assert metrics['updated/discriminator'] == 0.0 and metrics['updated/decoder'] == 1.0
  jax.tree.map(np.testing.assert_array_equal, before.params['discriminator'],
               after.params['discriminator'])
  jax.tree.map(np.testing.assert_array_equal, before.opt_state['discriminator'],
               after.opt_state['discriminator'])
  for role in ('encoder', 'decoder'):
    assert norm(jax.tree.map(np.subtract, before.params[role], after.params[role])) > 0


def test_train_step_compiles_once():
  config, nets, txs, state, batch, objective = _setup()
  schedule = ts.learning_rate_schedule(config)

  def fn(state, batch):
    return tstep.train_step(state, batch, objective=objective, txs=txs,
                            lr_schedule=schedule)

  step = jax.jit(chex.assert_max_traces(fn, n=1), donate_argnums=0)
  ds = input_pipeline.load(config)
  for i in range(3):
    state, _ = step(state, input_pipeline.batch_for_step(ds, config.batch_size, 0, i))
  assert int(state.step) == 3


# Losses after one step of configs/tiny.py from seed 0 on the first digits batch.
# If you changed the networks, the losses, the initialisation or the data order ON
# PURPOSE, run `python -m pytest tests/test_objectives.py -k golden -s` and paste the
# printed values here; an unexpected change means a behaviour change to investigate.
GOLDEN = {  # pixel term weight 3 as given (the digits' weight since 2026-11-28)
    'loss/decoder': 719.1283569335938,
    'loss/discriminator': 1.3847146034240723,
    'loss/encoder': 549.6862182617188,
    'loss/fake_cost': 0.6910980939865112,
    'loss/gan': 1.3847146034240723,
    'loss/gen': 0.6964545845985413,
    'loss/llike': 2.1366262435913086,
    'loss/pixel': 182.5093231201172,
    'loss/prior': 0.021594420075416565,
    'loss/real_cost': 0.693616509437561,
    'loss/recon_cost': 0.6887607574462891,
}


def test_golden_values_after_one_step():
  # The default recipe (tiny's one-pass critic_steps=0 put back to the recipe's 1).
  # The pixel weight as given: 3, what the recipe's scaled weight is on the digits.
  config, nets, txs, state, batch, _ = _setup(paper_terms=False, critic_steps=1,
                                              pixel_llike_weight=3.0,
                                              pixel_llike_scale='none')
  step = tstep.make_train_step(config, nets, txs)
  state, _ = step(state, batch)
  _, metrics = step(state, input_pipeline.batch_for_step(
      input_pipeline.load(config), config.batch_size, config.seed, 1))
  got = {k: float(metrics[k]) for k in sorted(metrics) if k.startswith('loss/')}
  print('GOLDEN = {\n' + ''.join(f'    {k!r}: {v!r},\n' for k, v in got.items()) + '}')
  assert got.keys() == GOLDEN.keys()
  for k, v in GOLDEN.items():
    np.testing.assert_allclose(got[k], v, rtol=1e-4, err_msg=k)


def test_scaled_pixel_weight_is_3_on_grey_digits_and_1_on_colour_and_is_what_trains():
  # |Dis_l| / |x|: 4x4x64 / 16x16x1 (digits), 7x7x64 / 28x28x1 (MNIST), 8x8x64 / 32x32x3.
  shapes = {'default': ((16, 16, 1), (4, 4, 64)), 'mnist': ((28, 28, 1), (7, 7, 64)),
            'colour': ((32, 32, 3), (8, 8, 64))}
  want = {'default': 3.0, 'mnist': 3.0, 'colour': 1.0}
  for name, (image, feats) in shapes.items():
    config = importlib.import_module(f'configs.{name}').get_config()
    assert config.pixel_llike_scale == 'features'
    assert objectives.pixel_weight(config, (2, *image), (2, *feats)) == want[name], name
    config.pixel_llike_scale = 'none'
    assert objectives.pixel_weight(config, (2, *image), (2, *feats)) == 0.75
  # configs/tiny.py: Dis_l is 4x4x8 of a 16x16x1 image, so 0.75 becomes 0.375; the
  # objective with the scaled weight is the objective with that weight as given.
  config, nets, _, state, batch, scaled = _setup(paper_terms=False,
                                                 pixel_llike_weight=0.75)
  as_given = config.copy_and_resolve_references()
  as_given.update(dict(pixel_llike_weight=0.375, pixel_llike_scale='none'))
  given = functools.partial(objectives.vaegan, nets=nets, config=as_given)
  key = jax.random.PRNGKey(0)
  out = [f(state.params, state.batch_stats, batch, key) for f in (scaled, given)]
  losses = [{**o[0], 'gan_weight': o[1]['metrics']['decoder_gan_weight'],
             'pixel': o[1]['metrics']['loss/pixel']} for o in out]
  for k in ('encoder', 'decoder', 'gan_weight'):
    np.testing.assert_allclose(losses[0][k], losses[1][k], rtol=1e-6, err_msg=k)
  assert float(losses[0]['pixel']) > 0
  with pytest.raises(ValueError, match='pixel_llike_scale'):
    objectives.pixel_weight(configs_default(pixel_llike_scale='pixels'), (2, 4, 4, 1),
                            (2, 1, 1, 8))


def configs_default(**fields):
  config = importlib.import_module('configs.default').get_config()
  config.update(fields)
  return config


def test_per_source_batch_norm_normalises_each_group_alone():
  # With per-source statistics, a real image's logit does not depend on the generated
  # images it is batched with; with joint statistics it does.
  for mode, independent in (('per_source', True), ('joint', False)):
    _, _, _, state, batch, objective = _setup(dis_batch_norm=mode)
    key = jax.random.PRNGKey(0)
    _, aux0 = objective(state.params, state.batch_stats, batch, key)
    dec = jax.tree.map(lambda w: w * 1.5, state.params['decoder'])
    _, aux1 = objective({**state.params, 'decoder': dec}, state.batch_stats, batch, key)
    same = np.allclose(aux0['metrics']['D/x'], aux1['metrics']['D/x'], rtol=1e-6)
    assert same == independent, mode


def _decoder_outputs(config, nets, state, batch, key):
  """x and the decoder's pre-tanh activation of [x_rec; x_p] as objectives.vaegan
  computes them (same noise, same BatchNorm)."""
  x = batch['image']
  eps_key, prior_key = jax.random.split(key)
  (mu, logvar), _ = objectives.networks.apply(
      nets.encoder, state.params['encoder'], state.batch_stats['encoder'], x, True)
  z = mu + jnp.exp(0.5 * logvar) * objectives.per_example_normal(eps_key, mu.shape)
  z_p = objectives.prior_sample(prior_key, mu.shape, config)
  a_gen, _ = objectives.networks.apply(nets.decoder, state.params['decoder'],
                                       state.batch_stats['decoder'],
                                       jnp.concatenate([z, z_p]), True, logits=True)
  return x, a_gen


def test_vaegan_terms_are_the_objectives_own():
  # The public forward pass a diagnostic differentiates (scripts/sample_report.py) must
  # be the objective's: the same decoder output and the same loss terms.
  config, nets, _, state, batch, objective = _setup(
      decoder_gan_balance='adaptive', pixel_llike_weight=0.7)
  key = jax.random.PRNGKey(5)
  t = objectives.vaegan_terms(state.params, state.batch_stats, batch, key, nets=nets,
                              config=config)
  _, want_a = _decoder_outputs(config, nets, state, batch, key)
  np.testing.assert_allclose(t.a_gen, want_a, rtol=1e-5, atol=1e-6)
  out = t.discriminate(t.a_gen)[0]
  _, aux = objective(state.params, state.batch_stats, batch, key)
  m = aux['metrics']
  for name, got in [('loss/llike', t.llike(out)), ('loss/gen', t.gen(out)),
                    ('loss/pixel', t.pixel(t.a_gen))]:
    np.testing.assert_allclose(got, m[name], rtol=1e-5, err_msg=name)
  assert float(m['loss/gen']) > 0 and float(m['loss/pixel']) != 0


@pytest.mark.parametrize('dis_bn, pixel_weight', [('joint', 0.0), ('per_source', 0.0),
                                                  ('joint', 2.0)])
def test_adaptive_gan_weight_is_the_ratio_of_output_gradient_norms(dis_bn, pixel_weight):
  # lambda = |d(a L_llike + w L_pixel)/dA| / |dL_gen/dA| at the decoder's pre-tanh
  # activation A of [x_rec; x_p], computed here from the discriminator and the pixel
  # loss alone, must be the weight the objective reports.
  config, nets, _, state, batch, objective = _setup(
      decoder_gan_balance='adaptive', decoder_llike_weight=0.3, decoder_gan_weight=0.5,
      dis_batch_norm=dis_bn, pixel_llike_weight=pixel_weight)
  key = jax.random.PRNGKey(7)
  x, a_gen = _decoder_outputs(config, nets, state, batch, key)
  b = x.shape[0]

  def terms(a_gen):
    x_gen = jnp.tanh(a_gen)
    (logits, feats), _ = objectives._discriminate(
        nets.discriminator, state.params['discriminator'],
        state.batch_stats['discriminator'], [x, x_gen[:b], x_gen[b:]], True, dis_bn)
    target = jax.lax.stop_gradient(feats[:b])  # joint BN: it depends on x_gen too
    llike = 0.5 * jnp.sum((feats[b:2 * b] - target) ** 2, axis=1).mean()
    gen = jax.nn.softplus(-logits[b:]).sum() / b  # -log D on x_p and on x_rec
    return llike, gen

  def bce(a_gen):  # Bernoulli NLL of (x + 1) / 2 with logits 2a, per image
    t, logits = (x + 1) / 2, 2 * a_gen[:b]
    return jnp.sum(jax.nn.softplus(logits) - t * logits) / b

  g_rec = (0.3 * jax.grad(lambda a: terms(a)[0])(a_gen) +
           pixel_weight * jax.grad(bce)(a_gen))
  g_gen = jax.grad(lambda a: terms(a)[1])(a_gen)
  want = 0.5 * norm(g_rec) / (norm(g_gen) + objectives.ADAPTIVE_DELTA)
  _, aux = objective(state.params, state.batch_stats, batch, key)
  np.testing.assert_allclose(aux['metrics']['decoder_gan_weight'], want, rtol=2e-4)
  assert want > 1e-3  # a real weight, not a clipped zero


def test_adaptive_gan_weight_is_a_constant_for_the_gradients():
  # The decoder's gradient must be a * grad L_llike + w * grad L_gen with w held fixed
  # (no gradient through the norms); the encoder and discriminator are unaffected.
  # (With a KL weight beta = prior_weight = 2.5 in the encoder's loss.)
  config, _, _, state, batch, objective = _setup(
      decoder_gan_balance='adaptive', decoder_llike_weight=0.3, pixel_llike_weight=0.7,
      prior_weight=2.5)
  key = jax.random.PRNGKey(3)
  grads, _, aux = tstep.role_gradients(objective, state.params, state.batch_stats, batch,
                                       key)
  w = float(aux['metrics']['decoder_gan_weight'])
  want = {
      'encoder': {'loss/prior': 2.5, 'loss/llike': 1.0, 'loss/pixel': 0.7},
      'decoder': {'loss/llike': 0.3, 'loss/gen': w, 'loss/pixel': 0.7},
      'discriminator': {'loss/gan': 1.0},
  }
  for role, weights in want.items():
    assert_trees_close(grads[role], term_grad(objective, state, batch, key, role, weights),
                       rtol=2e-4, atol=1e-6)
  fixed = functools.partial(objectives.vaegan, nets=objectives.build_networks(config),
                            config=config.copy_and_resolve_references())
  fixed.keywords['config'].decoder_gan_balance = 'fixed'
  g_fixed, _, _ = tstep.role_gradients(fixed, state.params, state.batch_stats, batch, key)
  # Only the order of float32 sums differs between the two programs.
  assert_trees_close(grads['encoder'], g_fixed['encoder'], rtol=1e-4, atol=2e-5)
  assert_trees_close(grads['discriminator'], g_fixed['discriminator'], rtol=1e-4,
                     atol=2e-5)
