"""The fast layers in vaegan_jax.networks equal the flax layers they replace.

Outputs and gradients with respect to the input and the parameters are compared with
the reference flax layer holding the same parameters, on tiny shapes.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vaegan_jax import layers
from vaegan_jax import networks
from vaegan_jax import objectives

_TOL = dict(rtol=1e-5, atol=1e-5)


def _compare(fast, ref, x, variables, mutable=False):
  """Asserts equal outputs, updated variables and gradients w.r.t. x and parameters."""
  key = jax.random.PRNGKey(7)

  def loss(module, params, x):
    out = module.apply({**variables, 'params': params}, x, mutable=mutable)
    if mutable:
      out, updates = out
    else:
      updates = {}
    ct = jax.random.normal(key, out.shape, out.dtype)
    return jnp.sum(out * ct), (out, updates)

  grads = {}
  for name, module in (('fast', fast), ('ref', ref)):
    (_, aux), g = jax.value_and_grad(
        lambda p, x, m=module: loss(m, p, x), argnums=(0, 1), has_aux=True)(
            variables['params'], x)
    grads[name] = (aux, g)
  (out_f, up_f), (gp_f, gx_f) = grads['fast']
  (out_r, up_r), (gp_r, gx_r) = grads['ref']
  np.testing.assert_allclose(out_f, out_r, **_TOL)
  np.testing.assert_allclose(gx_f, gx_r, **_TOL)
  assert jax.tree.structure(gp_f) == jax.tree.structure(gp_r)
  for a, b in zip(jax.tree.leaves(gp_f), jax.tree.leaves(gp_r)):
    np.testing.assert_allclose(a, b, **_TOL)
  for a, b in zip(jax.tree.leaves(up_f), jax.tree.leaves(up_r)):
    np.testing.assert_allclose(a, b, **_TOL)


@pytest.mark.parametrize('k', [3, 4, 5])
@pytest.mark.parametrize('hw', [(4, 4), (5, 3)])
def test_upconv_equals_conv_transpose(k, hw):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, *hw, 3))
  ref = nn.ConvTranspose(4, (k, k), strides=(2, 2), padding='SAME')
  fast = layers.UpConv(4, k)
  variables = ref.init(jax.random.PRNGKey(1), x)
  variables = jax.tree.map(
      lambda v: v + 0.1 * jax.random.normal(jax.random.PRNGKey(2), v.shape), variables)
  assert (jax.tree.map(jnp.shape, fast.init(jax.random.PRNGKey(1), x)) ==
          jax.tree.map(jnp.shape, variables))
  _compare(fast, ref, x, variables)


def test_the_phase_form_and_the_one_conv_form_are_the_same_sums():
  # Each kernel size runs one of the two forms (layers.PHASE_SHARE); the tests against
  # flax check that one, this checks the other against it.
  rng = np.random.default_rng(0)
  for k in (3, 4, 5):
    idx, lo, _ = layers._phase_taps(k)
    taps = [(idx, -lo)]  # UpConv's
    taps += [layers._input_grad_taps(k, pad)[:2] for pad in (0, 1, 2)]  # a conv's dx
    for idx, d0 in taps:
      x = jnp.asarray(rng.normal(size=(2, 5, 4, 3)), jnp.float32)
      kernel = jnp.asarray(rng.normal(size=(k, k, 3, 2)), jnp.float32)
      args = (x, kernel, idx, idx, d0, d0, (5, 4))
      np.testing.assert_allclose(layers._phase_conv(*args), layers._one_conv(*args),
                                 rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('k', [3, 4, 5])
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('hw', [(8, 8), (7, 5)])
@pytest.mark.parametrize('use_bias', [True, False])
def test_conv_equals_flax_conv(k, stride, hw, use_bias):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, *hw, 3))
  ref = nn.Conv(4, (k, k), strides=(stride, stride), padding='SAME', use_bias=use_bias)
  fast = layers.Conv(4, k, strides=stride, use_bias=use_bias)
  variables = ref.init(jax.random.PRNGKey(1), x)
  fast_vars = fast.init(jax.random.PRNGKey(1), x)
  # Same names, shapes and initial values as nn.Conv, so checkpoints are unchanged.
  assert jax.tree.structure(fast_vars) == jax.tree.structure(variables)
  for a, b in zip(jax.tree.leaves(fast_vars), jax.tree.leaves(variables)):
    np.testing.assert_array_equal(a, b)
  _compare(fast, ref, x, variables)


@pytest.mark.parametrize('train', [True, False])
def test_batch_norm_equals_flax(train):
  x = 1.5 + 2.0 * jax.random.normal(jax.random.PRNGKey(0), (3, 4, 5, 6))
  ref = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)
  fast = layers.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)
  variables = ref.init(jax.random.PRNGKey(1), x)
  fast_vars = fast.init(jax.random.PRNGKey(1), x)
  assert (jax.tree.map(jnp.shape, fast_vars) == jax.tree.map(jnp.shape, variables))
  variables = jax.tree.map(
      lambda v: v + 0.1 * jax.random.uniform(jax.random.PRNGKey(2), v.shape), variables)
  _compare(fast, ref, x, variables, mutable=['batch_stats'] if train else False)


def test_nearest_upsampling_has_no_checkerboard():
  """A constant input through stride-2 transposed conv k=5 gives a 2-periodic pattern;
  nearest x2 then a stride-1 conv gives a constant interior (Odena et al. 2016)."""
  x = jnp.ones((1, 6, 6, 1))
  up = layers.upsample_nearest(x[..., :1] * jnp.arange(36.).reshape(1, 6, 6, 1))
  np.testing.assert_array_equal(up, jax.image.resize(
      jnp.arange(36.).reshape(1, 6, 6, 1), (1, 12, 12, 1), 'nearest'))
  ones = {'params': {'kernel': jnp.ones((5, 5, 1, 1))}}
  tconv = layers.UpConv(1, 5, use_bias=False).apply(ones, x)[0, 3:-3, 3:-3, 0]
  rconv = layers.Conv(1, 5, 1, use_bias=False).apply(ones, layers.upsample_nearest(x))
  rconv = rconv[0, 3:-3, 3:-3, 0]
  assert float(tconv.max() - tconv.min()) > 1  # 9, 6 and 4 taps per output pixel
  np.testing.assert_allclose(rconv, 25.0)
  from configs import default  # pylint: disable=g-import-not-at-top
  config = default.get_config()
  config.dec_upsample = 'nearest'
  nets = objectives.build_networks(config)
  params, stats = networks.init_variables(nets, jax.random.PRNGKey(0), config)
  assert sorted(k for k in params['decoder'] if 'Conv' in k) == [
      'Conv_0', 'ResizeConv_0', 'ResizeConv_1']
  out, _ = networks.apply(nets.decoder, params['decoder'], stats['decoder'],
                          jnp.zeros((2, config.latent_dim)), False)
  assert out.shape == (2, 16, 16, 1)


def test_network_parameter_tree_unchanged():
  """Parameter names and shapes are those of the plain flax layers (checkpoints)."""
  from configs import default  # pylint: disable=g-import-not-at-top
  config = default.get_config()
  nets = objectives.build_networks(config)
  params, stats = networks.init_variables(nets, jax.random.PRNGKey(0), config)
  assert sorted(params['discriminator']) == [
      'BatchNorm_0', 'BatchNorm_1', 'BatchNorm_2', 'Conv_0', 'Conv_1', 'Conv_2',
      'Dense_0', 'logit']
  assert sorted(params['discriminator']['Conv_0']) == ['bias', 'kernel']
  assert sorted(params['encoder']) == ['BatchNorm_0', 'BatchNorm_1', 'BatchNorm_2',
                                       'Conv_0', 'Conv_1', 'Dense_0', 'logvar', 'mu']
  assert params['encoder']['Conv_1']['kernel'].shape == (5, 5, 32, 64)
  assert sorted(stats['decoder']['BatchNorm_0']) == ['mean', 'var']
  assert sorted(params['decoder']['BatchNorm_0']) == ['bias', 'scale']


def test_whole_objective_equals_reference_layers():
  """The VAE-GAN losses and every role's gradient match the plain flax layers.

  The default recipe (adaptive GAN weight, pixel term, per-source BatchNorm) on the
  tiny widths of configs/tiny.py: every layer kind of the default networks, at a
  fraction of the cost of the default widths.
  """
  from configs import tiny  # pylint: disable=g-import-not-at-top
  config = tiny.get_config()
  nets = objectives.build_networks(config)
  ref_nets = networks.Networks(**{r: getattr(nets, r).clone(reference_layers=True)
                                  for r in nets.roles()})
  params, stats = networks.init_variables(nets, jax.random.PRNGKey(0), config)
  ref_params, ref_stats = networks.init_variables(ref_nets, jax.random.PRNGKey(0), config)
  assert jax.tree.structure(params) == jax.tree.structure(ref_params)
  for a, b in zip(jax.tree.leaves((params, stats)),
                  jax.tree.leaves((ref_params, ref_stats))):
    np.testing.assert_array_equal(a, b)
  x = jax.random.uniform(jax.random.PRNGKey(1), (4, 16, 16, 1), minval=-1, maxval=1)
  batch, key = {'image': x}, jax.random.PRNGKey(2)

  def run(n):
    def total(p):
      losses, aux = objectives.vaegan(p, stats, batch, key, nets=n, config=config)
      return sum(losses.values()), (losses, aux['batch_stats'])
    return jax.jit(jax.grad(total, has_aux=True))(params)  # one program, not op by op

  fast, ref = run(nets), run(ref_nets)
  assert jax.tree.structure(fast) == jax.tree.structure(ref)
  # Float32 rounding differs in summation order only; through the whole network (batch
  # norm over 4 examples) that reaches ~1e-5 of an array's scale.
  for a, b in zip(jax.tree.leaves(fast), jax.tree.leaves(ref)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(b).max()))
