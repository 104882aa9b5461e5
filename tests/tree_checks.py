"""Gradient and pytree checks shared by the tests."""

import jax
import jax.numpy as jnp
import numpy as np


def term_grad(objective, state, batch, key, role, weights):
  """Gradient w.r.t. params[role] of sum(weights[name] * metrics[name]), computed alone."""
  def f(p):
    _, aux = objective({**state.params, role: p}, state.batch_stats, batch, key)
    return sum(w * aux['metrics'][name] for name, w in weights.items())
  return jax.grad(f)(state.params[role])


def assert_trees_close(a, b, **kw):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, **kw), a, b)


def norm(tree):
  return float(jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree.leaves(tree))))


def assert_same_state(a, b):
  """Two train states are bitwise equal (parameters, statistics, optimizer, key, average)."""
  for part in ('params', 'batch_stats', 'opt_state', 'key', 'ema'):
    jax.tree.map(np.testing.assert_array_equal, getattr(a, part), getattr(b, part))
