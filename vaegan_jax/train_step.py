"""The train step: one forward pass, one VJP per role, per-role optimizer updates.

`make_train_step` returns a function jitted once, with the state donated. Roles whose
`update` flag is False this step (the equilibrium rule) keep their parameters and
optimizer state: a select, not a Python branch.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from vaegan_jax import objectives
from vaegan_jax import train_state as ts


def role_gradients(objective, params, batch_stats, batch, key):
  """Each role's gradient of its own loss w.r.t. its own parameter subtree.

  One forward pass (jax.vjp), then one backward pass per role with a one-hot cotangent
  on the losses; the gradient is read off that role's subtree only (XLA drops the rest).

  Returns:
    (grads {role: subtree}, losses {role: scalar}, aux).
  """
  losses, vjp_fn, aux = jax.vjp(
      lambda p: objective(p, batch_stats, batch, key), params, has_aux=True)
  grads = {}
  for role in params:
    cotangent = {r: jnp.ones_like(v) if r == role else jnp.zeros_like(v)
                 for r, v in losses.items()}
    grads[role] = vjp_fn(cotangent)[0][role]
  return grads, losses, aux


def _select(flag, new, old):
  return jax.tree.map(lambda n, o: jnp.where(flag, n, o), new, old)


def _pmean(tree, axis_name):
  return jax.lax.pmean(tree, axis_name) if axis_name else tree


def train_step(state: ts.TrainState, batch, *, objective, txs, lr_schedule,
               axis_name: str | None = None):
  """One step. Returns (new state, metrics dict of scalars).

  Inside pmap (`axis_name`, with `objective` built for the same axis), gradients,
  losses, metrics and BatchNorm running statistics are averaged across devices, so
  every replica applies the same update; with one device this is the plain step.
  """
  key = jax.random.fold_in(state.key, state.step)
  grads, losses, aux = role_gradients(objective, state.params, state.batch_stats,
                                      batch, key)
  grads, losses = _pmean(grads, axis_name), _pmean(losses, axis_name)
  aux = {**aux, 'metrics': _pmean(aux['metrics'], axis_name),
         'batch_stats': _pmean(aux['batch_stats'], axis_name)}
  update = aux.get('update', {})
  params, opt_state = dict(state.params), dict(state.opt_state)
  metrics = dict(aux['metrics'])
  for role, g in grads.items():
    updates, new_opt = txs[role].update(g, state.opt_state[role], state.params[role])
    new_params = optax.apply_updates(state.params[role], updates)
    flag = update.get(role, jnp.bool_(True))
    params[role] = _select(flag, new_params, state.params[role])
    opt_state[role] = _select(flag, new_opt, state.opt_state[role])
    metrics[f'loss/{role}'] = losses[role]
    metrics[f'updated/{role}'] = flag.astype(jnp.float32)
    metrics[f'grad_norm/{role}'] = optax.global_norm(g)
  metrics['lr'] = lr_schedule(state.step)
  new_state = state.replace(step=state.step + 1, params=params,
                            batch_stats=aux['batch_stats'], opt_state=opt_state)
  return new_state, metrics


AXIS = 'batch'  # the pmap axis of data parallelism


def step_fn(config, nets, txs, axis_name: str | None = None):
  """train_step with the objective, optimizers and schedule of `config` bound."""
  objective = functools.partial(objectives.get(config.model), nets=nets, config=config,
                                axis_name=axis_name)
  return functools.partial(train_step, objective=objective, txs=txs,
                           lr_schedule=ts.learning_rate_schedule(config),
                           axis_name=axis_name)


def make_train_step(config, nets, txs):
  """The jitted, state-donating train step for `config.model` on one device."""
  return jax.jit(step_fn(config, nets, txs), donate_argnums=0)


def make_parallel_train_step(config, nets, txs):
  """The same step, data-parallel over the local devices with pmap (axis AXIS).

  `nets` must be built with `networks.build(config, axis_name=AXIS)`. Takes a state
  replicated over devices and a batch [n_devices, B / n_devices, ...]; the state is
  donated. One device is the case n = 1.
  """
  return jax.pmap(step_fn(config, nets, txs, AXIS), axis_name=AXIS, donate_argnums=0)
