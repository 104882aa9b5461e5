"""The family (vae, dcgan, wgan, aae): who learns from what, hand-computed losses, the
critic loop and weight clipping, initialisation, and config errors."""

import functools
import json
import importlib
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from tests.tree_checks import assert_trees_close, norm, term_grad
from vaegan_jax import input_pipeline
from vaegan_jax import losses as L
from vaegan_jax import networks
from vaegan_jax import objectives
from vaegan_jax import recipes
from vaegan_jax import train_state as ts
from vaegan_jax import train_step as tstep
from vaegan_jax import validation

TINY = ('latent_dim', 'enc_widths', 'enc_dense', 'dec_dense_channels', 'dec_widths',
        'dis_widths', 'dis_dense', 'batch_size')


def _config(model, **overrides):
  """configs/<model>_digits.py with the tiny networks of configs/tiny.py."""
  config = importlib.import_module(f'configs.{model}_digits').get_config()
  small = tiny.get_config()
  config.update({k: small[k] for k in TINY})
  config.latent_dis_widths = (16, 16)
  config.update(overrides)
  validation.validate(config)
  return config


def _setup(model, **overrides):
  config = _config(model, **overrides)
  nets = objectives.build_networks(config)
  txs = ts.make_optimizers(config, nets.roles())
  state = ts.create(config, nets, txs)
  ds = input_pipeline.load(config)
  batch = input_pipeline.batch_for_step(ds, tstep.examples_per_step(config), 0, 0)
  objective = functools.partial(objectives.get(model), nets=nets, config=config)
  return config, nets, txs, state, batch, objective


# For each model: the terms each role minimises, and (metric, role) pairs whose gradient
# is non-zero but must NOT reach that role (so a leak would be visible).
WHO_LEARNS = {
    'vae': ({'encoder': {'loss/prior': 1.0, 'loss/rec': 1.0},
             'decoder': {'loss/rec': 1.0}},
            []),
    'dcgan': ({'decoder': {'loss/gen': 1.0},
               'discriminator': {'loss/real_cost': 1.0, 'loss/fake_cost': 1.0,
                                 'loss/r1': recipes.recipe('dcgan')['dis_r1_weight']}},
              [('loss/gen', 'discriminator'), ('loss/fake_cost', 'decoder')]),
    'wgan': ({'decoder': {'loss/gen': 1.0},
              'discriminator': {'loss/critic': 1.0}},
             [('loss/gen', 'discriminator'), ('loss/critic', 'decoder')]),
    'aae': ({'encoder': {'loss/rec': 1.0, 'loss/gen': 0.7},
             'decoder': {'loss/rec': 1.0},
             'discriminator': {'loss/real_cost': 1.0, 'loss/fake_cost': 1.0}},
            [('loss/gen', 'discriminator'), ('loss/fake_cost', 'encoder')]),
}


@pytest.mark.parametrize('model', sorted(WHO_LEARNS))
def test_each_role_gets_exactly_the_gradient_of_its_own_terms(model):
  want, leaks = WHO_LEARNS[model]
  _, nets, _, state, batch, objective = _setup(model, aae_adversarial_weight=0.7)
  assert set(nets.roles()) == set(want)
  key = jax.random.PRNGKey(3)
  grads, _, _ = tstep.role_gradients(objective, state.params, state.batch_stats, batch, key)
  for role, weights in want.items():
    assert_trees_close(grads[role], term_grad(objective, state, batch, key, role, weights),
                        rtol=2e-4, atol=1e-6)
  for metric, role in leaks:  # the signal exists, so isolation is a real property
    assert norm(term_grad(objective, state, batch, key, role, {metric: 1.0})) > 1e-6


def test_aae_decoder_gets_no_adversarial_signal_and_discriminator_no_reconstruction():
  # Changing the latent discriminator leaves the decoder's gradient unchanged (while the
  # encoder's, which has the generator term, moves); reweighting the adversarial term
  # leaves the discriminator's and the decoder's gradients unchanged.
  _, _, _, state, batch, objective = _setup('aae')
  key = jax.random.PRNGKey(4)
  g0, _, _ = tstep.role_gradients(objective, state.params, state.batch_stats, batch, key)
  dis = jax.tree.map(lambda w: w * 2.0 + 0.1, state.params['discriminator'])
  g1, _, _ = tstep.role_gradients(objective, {**state.params, 'discriminator': dis},
                                  state.batch_stats, batch, key)
  assert_trees_close(g0['decoder'], g1['decoder'], rtol=1e-5, atol=1e-7)
  assert norm(jax.tree.map(jnp.subtract, g0['encoder'], g1['encoder'])) > 1e-5
  _, _, _, _, _, heavy = _setup('aae', aae_adversarial_weight=50.0)
  g2, _, _ = tstep.role_gradients(heavy, state.params, state.batch_stats, batch, key)
  assert_trees_close(g0['discriminator'], g2['discriminator'], rtol=1e-6)
  assert_trees_close(g0['decoder'], g2['decoder'], rtol=1e-6)
  assert norm(jax.tree.map(jnp.subtract, g0['encoder'], g2['encoder'])) > 1e-4


@pytest.mark.parametrize('model,bn', [('dcgan', 'per_source'), ('dcgan', 'none'),
                                      ('vaegan', 'per_source')])
def test_r1_penalty_reaches_only_the_discriminator(model, bn):
  # With dis_r1_weight = g the discriminator minimises its GAN loss + g * R1 and the
  # other roles' gradients are those without the penalty.
  gamma = 0.5
  kw = dict(dis_batch_norm=bn, init='default')  # N(0, 0.02) without BatchNorm: R1 ~ 0
  _, _, _, state, batch, objective = _setup(model, dis_r1_weight=gamma, **kw)
  _, _, _, _, _, plain = _setup(model, dis_r1_weight=0.0, **kw)
  key = jax.random.PRNGKey(6)
  grads, _, aux = tstep.role_gradients(objective, state.params, state.batch_stats, batch,
                                       key)
  g0, _, _ = tstep.role_gradients(plain, state.params, state.batch_stats, batch, key)
  gan = {'loss/gan': 1.0} if model == 'vaegan' else {'loss/real_cost': 1.0,
                                                     'loss/fake_cost': 1.0}
  assert_trees_close(grads['discriminator'],
                     term_grad(objective, state, batch, key, 'discriminator',
                               {**gan, 'loss/r1': gamma}), rtol=2e-4, atol=1e-7)
  assert norm(term_grad(objective, state, batch, key, 'discriminator',
                        {'loss/r1': 1.0})) > 1e-7
  assert float(aux['metrics']['loss/r1']) > 0
  for role in grads:
    if role != 'discriminator':
      assert_trees_close(grads[role], g0[role], rtol=1e-5, atol=1e-8)


def test_r1_is_half_the_mean_squared_norm_of_each_images_input_gradient():
  # Without BatchNorm each logit depends on its own image only, so R1 can be computed
  # image by image; the penalty's batched gradient must agree, and match a central
  # difference along a random direction.
  config, nets, _, state, batch, _ = _setup('dcgan', dis_batch_norm='none', init='default')
  params = state.params['discriminator']
  x = batch['image'][:6]

  def logit(image):
    (out, *_), _ = networks.apply(nets.discriminator, params, {}, image[None], True)
    return out[0]

  per_image = [0.5 * float(jnp.sum(jax.grad(logit)(image) ** 2)) for image in x]
  r1 = objectives.r1_penalty(nets.discriminator, params, {}, x, True)
  np.testing.assert_allclose(float(r1), np.mean(per_image), rtol=1e-4)
  v = jax.random.normal(jax.random.PRNGKey(0), x[0].shape)
  h = 1e-3
  fd = (logit(x[0] + h * v) - logit(x[0] - h * v)) / (2 * h)
  np.testing.assert_allclose(float(fd), float(jnp.vdot(jax.grad(logit)(x[0]), v)),
                             rtol=2e-2)
  assert config.dis_batch_norm == 'none' and not state.batch_stats['discriminator']


# ----------------------------------------------------------------- hand computations


def _run(nets, state, role, x, **kw):
  out, _ = networks.apply(getattr(nets, role), state.params[role], state.batch_stats[role],
                          x, train=True, **kw)
  return jax.tree.map(lambda v: None if v is None else np.asarray(v, np.float64), out)


def _sigmoid(v):
  return 1.0 / (1.0 + np.exp(-v))


@pytest.mark.parametrize('likelihood, beta', [('bernoulli', 1.0), ('gaussian', 2.5)])
def test_vae_loss_values_by_hand(likelihood, beta):
  config, nets, _, state, batch, objective = _setup(
      'vae', pixel_likelihood=likelihood, pixel_sigma=0.3, prior_weight=beta)
  key = jax.random.PRNGKey(7)
  losses, aux = objective(state.params, state.batch_stats, batch, key)
  x = np.asarray(batch['image'], np.float64)
  mu, logvar = _run(nets, state, 'encoder', batch['image'])
  eps = np.asarray(objectives.per_example_normal(key, mu.shape))
  z = mu + np.exp(logvar / 2) * eps
  x_rec = np.tanh(_run(nets, state, 'decoder', jnp.asarray(z, jnp.float32), logits=True))
  kl = np.mean(np.sum(0.5 * (mu**2 + np.exp(logvar) - 1 - logvar), axis=1))
  if likelihood == 'bernoulli':  # p(pixel on) = decoded image mapped to [0, 1]
    p, t = (x_rec + 1) / 2, (x + 1) / 2
    rec = np.mean(np.sum(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=(1, 2, 3)))
  else:
    rec = np.mean(np.sum((x_rec - x) ** 2, axis=(1, 2, 3))) / (2 * 0.3**2)
  np.testing.assert_allclose(losses['encoder'], beta * kl + rec, rtol=2e-4)
  np.testing.assert_allclose(losses['decoder'], rec, rtol=2e-4)
  np.testing.assert_allclose(aux['metrics']['loss/prior'], kl, rtol=2e-4)
  np.testing.assert_allclose(aux['metrics']['loss/neg_elbo'], kl + rec, rtol=2e-4)


@pytest.mark.parametrize('model', ['dcgan', 'wgan'])
def test_gan_loss_values_by_hand(model):
  # The R1 term (dcgan's recipe) has its own tests above.
  config, nets, _, state, batch, objective = _setup(model, dis_batch_norm='per_source',
                                                    dis_r1_weight=0.0)
  batch = {'image': batch['image'][:config.batch_size]}
  key = jax.random.PRNGKey(8)
  losses, _ = objective(state.params, state.batch_stats, batch, key)
  z_p = objectives.per_example_normal(key, (config.batch_size, config.latent_dim))
  x_p = _run(nets, state, 'decoder', z_p)
  s_real, _ = _run(nets, state, 'discriminator', batch['image'])  # per-source BN:
  s_fake, _ = _run(nets, state, 'discriminator', jnp.asarray(x_p, jnp.float32))  # apart
  if model == 'dcgan':
    d_real, d_fake = _sigmoid(s_real), _sigmoid(s_fake)
    want_dis = np.mean(-np.log(d_real)) + np.mean(-np.log(1 - d_fake))
    want_gen = np.mean(-np.log(d_fake))  # non-saturating
  else:
    want_dis = np.mean(s_fake) - np.mean(s_real)
    want_gen = -np.mean(s_fake)
  np.testing.assert_allclose(losses['discriminator'], want_dis, rtol=2e-4, atol=1e-7)
  np.testing.assert_allclose(losses['decoder'], want_gen, rtol=2e-4, atol=1e-7)


def test_aae_loss_values_by_hand():
  config, nets, _, state, batch, objective = _setup('aae', aae_adversarial_weight=0.5,
                                                    prior_scale=3.0)
  key = jax.random.PRNGKey(9)
  losses, _ = objective(state.params, state.batch_stats, batch, key)
  x = np.asarray(batch['image'], np.float64)
  z, logvar = _run(nets, state, 'encoder', batch['image'])
  assert logvar is None  # deterministic encoder
  x_rec = np.tanh(_run(nets, state, 'decoder', jnp.asarray(z, jnp.float32), logits=True))
  p, t = (x_rec + 1) / 2, (x + 1) / 2
  rec = np.mean(np.sum(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=(1, 2, 3)))
  z_p = 3.0 * np.asarray(objectives.per_example_normal(key, z.shape))
  d_prior = _sigmoid(_run(nets, state, 'discriminator', jnp.asarray(z_p, jnp.float32))[0])
  d_code = _sigmoid(_run(nets, state, 'discriminator', jnp.asarray(z, jnp.float32))[0])
  np.testing.assert_allclose(losses['decoder'], rec, rtol=2e-4)
  np.testing.assert_allclose(losses['encoder'], rec + 0.5 * np.mean(-np.log(d_code)),
                             rtol=2e-4)
  np.testing.assert_allclose(losses['discriminator'],
                             np.mean(-np.log(d_prior)) + np.mean(-np.log(1 - d_code)),
                             rtol=2e-4)


# ----------------------------------------------------- critic loop and weight clipping


def test_wgan_critic_weights_stay_inside_the_clip_range_after_a_step():
  config, nets, txs, state, batch, _ = _setup('wgan', dis_weight_clip=0.01,
                                              learning_rate=1e-2)
  before = jax.device_get(state.params)
  assert max(float(np.abs(p).max()) for p in jax.tree.leaves(before['discriminator'])) > 0.01
  step = tstep.make_train_step(config, nets, txs)
  state, metrics = step(state, batch)
  leaves = jax.tree.leaves(jax.device_get(state.params['discriminator']))
  assert all(np.abs(p).max() <= 0.01 for p in leaves)
  assert any(np.isclose(np.abs(p).max(), 0.01) for p in leaves)  # the clip was active
  assert norm(jax.tree.map(np.subtract, before['decoder'],
                            jax.device_get(state.params['decoder']))) > 0
  assert np.isfinite(float(metrics['W']))


@pytest.mark.parametrize('model,k,loop', [('wgan', 3, 'fori'), ('wgan', 3, 'unrolled'),
                                          ('dcgan', 1, 'fori')])
def test_critic_steps_are_sequential_updates_then_one_generator_update(model, k, loop):
  # The jitted step (fori_loop or unrolled) equals, written out: k discriminator updates
  # on micro-batches j, j + k, ... with keys fold_in(key, j), each clipped, then the
  # generator's update on the last micro-batch against the updated discriminator.
  config, nets, txs, state, batch, objective = _setup(model, critic_steps=k,
                                                      critic_loop=loop)
  assert batch['image'].shape[0] == k * config.batch_size
  new_state, _ = tstep.make_train_step(config, nets, txs)(jax.tree.map(jnp.copy, state),
                                                          batch)
  key = jax.random.fold_in(state.key, state.step)
  params, stats, opt = dict(state.params), state.batch_stats, dict(state.opt_state)

  def update(role, micro, key):
    nonlocal stats
    def loss(p):
      losses, aux = objective({**params, role: p}, stats, micro, key)
      return losses[role], aux
    g, aux = jax.grad(loss, has_aux=True)(params[role])
    upd, opt[role] = txs[role].update(g, opt[role], params[role])
    params[role] = jax.tree.map(jnp.add, params[role], upd)
    if role == 'discriminator' and config.dis_weight_clip:
      params[role] = jax.tree.map(
          lambda p: jnp.clip(p, -config.dis_weight_clip, config.dis_weight_clip),
          params[role])
    stats = aux['batch_stats']

  for j in range(k):
    update('discriminator', {'image': batch['image'][j::k]}, jax.random.fold_in(key, j))
  update('decoder', {'image': batch['image'][k - 1::k]}, jax.random.fold_in(key, k))
  for role in ('decoder', 'discriminator'):
    assert_trees_close(new_state.params[role], params[role], rtol=1e-4, atol=1e-6)
  assert_trees_close(new_state.batch_stats, stats, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------- networks and configs


def test_dcgan_initialisation_is_normal_002():
  _, _, _, state, _, _ = _setup('dcgan')
  gen = state.params['decoder']
  kernels = np.concatenate([np.ravel(gen[n]['kernel']) for n in gen if 'kernel' in gen[n]])
  assert abs(kernels.std() - 0.02) < 0.002 and abs(kernels.mean()) < 0.002
  scales = np.concatenate([np.ravel(gen[n]['scale']) for n in gen if 'scale' in gen[n]])
  assert abs(scales.mean() - 1.0) < 0.01 and 0.01 < scales.std() < 0.03


def test_decoder_logits_are_the_pre_tanh_activation():
  config = _config('vae')
  nets = objectives.build_networks(config)
  v = nets.decoder.init(jax.random.PRNGKey(0), jnp.zeros((2, config.latent_dim)),
                        train=False)
  z = jax.random.normal(jax.random.PRNGKey(1), (3, config.latent_dim))
  a = nets.decoder.apply(v, z, train=False, logits=True)
  np.testing.assert_allclose(jnp.tanh(a), nets.decoder.apply(v, z, train=False),
                             rtol=1e-6, atol=1e-7)


def test_bernoulli_pixel_nll_matches_cross_entropy_and_gaussian_the_squared_error():
  a = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 1)) * 3
  x = jax.random.uniform(jax.random.PRNGKey(1), (2, 4, 4, 1), minval=-1, maxval=1)
  p, t = (np.tanh(np.asarray(a, np.float64)) + 1) / 2, (np.asarray(x, np.float64) + 1) / 2
  bce = np.sum(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=(1, 2, 3))
  np.testing.assert_allclose(L.pixel_nll(a, x, 'bernoulli', 1.0), bce, rtol=1e-4)
  sq = np.sum((np.tanh(np.asarray(a, np.float64)) - np.asarray(x)) ** 2, axis=(1, 2, 3))
  np.testing.assert_allclose(L.pixel_nll(a, x, 'gaussian', 0.5), sq / (2 * 0.25),
                             rtol=1e-5)
  with pytest.raises(ValueError, match='pixel likelihood'):
    L.pixel_nll(a, x, 'laplace', 1.0)


@pytest.mark.parametrize('model,field,value,message', [
    ('wgan', 'use_equilibrium', True, 'does not apply to model'),
    ('vae', 'prior_scale', 2.0, 'prior_scale must be 1'),
    ('vae', 'critic_steps', 2, 'has no discriminator'),
    ('dcgan', 'critic_steps', -1, 'critic_steps must be an integer >= 0'),
    ('dcgan', 'optimizer', 'sgd', 'optimizer must be one of rmsprop, adam'),
    ('dcgan', 'init', 'xavier', 'init must be one of default, dcgan'),
    ('aae', 'pixel_likelihood', 'laplace', 'pixel_likelihood must be one of'),
    ('wgan', 'dis_r1_weight', 1.0, 'dis_r1_weight applies to models dcgan, vaegan'),
    ('dcgan', 'dis_r1_weight', -1.0, 'dis_r1_weight must be >= 0'),
    ('dcgan', 'dis_batch_norm', 'layer', "dis_batch_norm must be 'joint', 'per_source'"),
])
def test_bad_family_fields_are_one_line_config_errors(model, field, value, message):
  config = importlib.import_module(f'configs.{model}_digits').get_config()
  config[field] = value
  with pytest.raises(validation.ConfigError, match=message):
    validation.validate(config)


def test_config_of_an_older_run_gets_the_new_fields_with_their_defaults(tmp_path):
  from vaegan_jax import checkpointing  # pylint: disable=g-import-not-at-top
  config = tiny.get_config()
  old = {k: v for k, v in config.to_dict().items()
         if k not in ('critic_steps', 'prior_scale', 'optimizer', 'init')}
  (tmp_path / 'config.json').write_text(json.dumps(old))
  loaded = checkpointing.load_config(str(tmp_path))
  assert (loaded.critic_steps, loaded.prior_scale, loaded.optimizer, loaded.init) == (
      0, 1.0, 'rmsprop', 'default')
  assert loaded.latent_dim == config.latent_dim and loaded.enc_widths == (8, 8)
  validation.validate(loaded)


@pytest.mark.parametrize('model', [m for m in objectives.MODELS if m != 'vaegan'])
def test_train_then_sample_every_model(tmp_path, model):
  from vaegan_jax import sample_cli  # pylint: disable=g-import-not-at-top
  from vaegan_jax import trainer  # pylint: disable=g-import-not-at-top
  config = _config(model, num_train_steps=2, log_every=1, checkpoint_every=2,
                   image_every=0, num_images=4)
  config.critic_steps = min(config.critic_steps, 2)
  log = io.StringIO()
  trainer.train_and_evaluate(config, str(tmp_path), out=log, write_summaries=False)
  assert any(line.startswith('step 2/2') for line in log.getvalue().splitlines()), (
      log.getvalue())
  images = sample_cli.sample_main(str(tmp_path), num=4, out=str(tmp_path / 's.png'))
  assert images.shape == (4, 16, 16, 1) and np.all(np.abs(images) <= 1)
  if objectives.get_model(model).encoder:
    rec = sample_cli.sample_main(str(tmp_path), num=4, mode='reconstruct',
                                 out=str(tmp_path / 'r.png'))
    assert rec.shape == (4, 16, 16, 1)
  else:
    with pytest.raises(sample_cli.UsageError, match='has no encoder'):
      sample_cli.sample_main(str(tmp_path), num=4, mode='reconstruct',
                             out=str(tmp_path / 'r.png'))
