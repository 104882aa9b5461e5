"""Each loss against a closed form or NumPy; the equilibrium rule's four cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vaegan_jax import losses as L


def test_kl_matches_closed_form_and_is_zero_at_prior():
  rng = np.random.default_rng(0)
  mu, logvar = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
  var = np.exp(logvar)
  # KL(N(mu, var) || N(0, 1)) per dimension = (var + mu^2 - 1 - log var) / 2.
  want = 0.5 * np.sum(var + mu**2 - 1.0 - logvar, axis=1)
  np.testing.assert_allclose(L.kl_standard_normal(mu, logvar), want, rtol=1e-5)
  np.testing.assert_allclose(L.kl_standard_normal(np.zeros((2, 4)), np.zeros((2, 4))), 0.0)


def test_kl_matches_monte_carlo():
  mu, logvar = jnp.array([[0.7, -1.2]]), jnp.array([[-0.5, 0.4]])
  z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(jax.random.PRNGKey(0), (200000, 2))
  log_q = jax.scipy.stats.norm.logpdf(z, mu, jnp.exp(0.5 * logvar)).sum(-1)
  log_p = jax.scipy.stats.norm.logpdf(z).sum(-1)
  np.testing.assert_allclose(L.kl_standard_normal(mu, logvar)[0], jnp.mean(log_q - log_p),
                             rtol=2e-2)


def test_feature_nll_value_and_no_gradient_into_target():
  rng = np.random.default_rng(1)
  pred, target = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 3))
  want = 0.5 * ((pred - target) ** 2).reshape(4, -1).sum(1)
  np.testing.assert_allclose(L.gaussian_feature_nll(pred, target), want, rtol=1e-5)
  g_pred, g_target = jax.grad(lambda p, t: L.gaussian_feature_nll(p, t).sum(),
                              argnums=(0, 1))(jnp.asarray(pred), jnp.asarray(target))
  np.testing.assert_allclose(g_pred, pred - target, rtol=1e-5)
  np.testing.assert_array_equal(g_target, 0.0)


def test_bce_terms_match_numpy_and_stay_finite_for_extreme_logits():
  logits = np.array([-3.0, -0.5, 0.0, 2.0])
  d = 1.0 / (1.0 + np.exp(-logits))
  np.testing.assert_allclose(L.bce_real(logits), -np.log(d), rtol=1e-5)
  np.testing.assert_allclose(L.bce_fake(logits), -np.log(1.0 - d), rtol=1e-5)
  extreme = jnp.array([-1000.0, 1000.0])
  assert np.all(np.isfinite(L.bce_real(extreme))) and np.all(np.isfinite(L.bce_fake(extreme)))
  np.testing.assert_allclose(L.bce_real(extreme), [1000.0, 0.0])


@pytest.mark.parametrize('kind', ['saturating', 'non_saturating'])
def test_generator_losses_values_and_push_logits_up(kind):
  logits = jnp.array([-2.0, 0.0, 3.0])
  d = jax.nn.sigmoid(logits)
  want = jnp.log(1 - d) if kind == 'saturating' else -jnp.log(d)
  np.testing.assert_allclose(L.generator_loss(logits, kind), want, rtol=1e-5)
  # Minimising either form must raise D(G(z)): the gradient w.r.t. each logit is negative.
  g = jax.grad(lambda l: L.generator_loss(l, kind).sum())(logits)
  assert np.all(g < 0)


def test_generator_loss_rejects_unknown_kind():
  with pytest.raises(ValueError, match='saturating'):
    L.generator_loss(jnp.zeros(2), 'wasserstein')


@pytest.mark.parametrize('real,fake,want_dis,want_dec', [
    (0.68, 0.68, True, True),   # balanced: both update
    (0.20, 0.68, False, True),  # discriminator winning on reals: skip it
    (0.68, 0.20, False, True),  # discriminator winning on fakes: skip it
    (1.20, 0.68, True, False),  # decoder losing (real cost high): skip the decoder
    (0.68, 1.20, True, False),  # decoder losing (fake cost high): skip the decoder
    (0.20, 1.20, True, True),   # both would be skipped: both update
])
def test_equilibrium_rule(real, fake, want_dis, want_dec):
  dis, dec = jax.jit(lambda r, f: L.equilibrium_updates(r, f, equilibrium=0.68,
                                                        margin=0.35))(real, fake)
  assert (bool(dis), bool(dec)) == (want_dis, want_dec)
