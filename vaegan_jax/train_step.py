"""The train step: one forward pass, one VJP per role, per-role optimizer updates.

`make_train_step` returns a function jitted once, with the state donated. Roles whose
`update` flag is False this step (the equilibrium rule) keep their parameters and
optimizer state: a select, not a Python branch.

With config.critic_steps = k >= 1 a step takes k discriminator (critic) updates, each on
its own micro-batch with its own noise, inside the jitted step, then one update of the
other roles against the updated discriminator; the step then reads k * batch_size
examples (see `examples_per_step`). config.critic_loop chooses how the k updates are
compiled: 'fori' (a `lax.fori_loop`: one loop body, compile time independent of k) or
'unrolled' (k copies of the update in the same program). 'auto' picks 'unrolled' on
CPU, where XLA:CPU runs convolution gradients inside a while loop 20-100x slower than
outside one (measured: a 5x5 conv weight gradient, batch 128, 17 ms vs 1.6 s; the
convs of a gradient are not channels-last, the case of jax-ml/jax#12868), and 'fori'
on GPU and TPU. Both compute the same updates. With k = 0 every role updates from the
same forward pass (VAE-GAN as in the authors' code). `config.dis_weight_clip` > 0
clips the discriminator's parameters to [-c, c] after each of its updates (WGAN).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from vaegan_jax import objectives
from vaegan_jax import train_state as ts


def role_gradients(objective, params, batch_stats, batch, key, roles=None):
  """Each role's gradient of its own loss w.r.t. its own parameter subtree.

  One forward pass (jax.vjp, w.r.t. the parameters of `roles` only, default all), then
  one backward pass per role with a one-hot cotangent on the losses.

  Returns:
    (grads {role: subtree} for `roles`, losses {role: scalar} for every role, aux).
  """
  roles = tuple(params) if roles is None else tuple(roles)
  losses, vjp_fn, aux = jax.vjp(
      lambda p: objective({**params, **p}, batch_stats, batch, key),
      {r: params[r] for r in roles}, has_aux=True)
  grads = {}
  for role in roles:
    cotangent = {r: jnp.ones_like(v) if r == role else jnp.zeros_like(v)
                 for r, v in losses.items()}
    grads[role] = vjp_fn(cotangent)[0][role]
  return grads, losses, aux


def _select(flag, new, old):
  return jax.tree.map(lambda n, o: jnp.where(flag, n, o), new, old)


def _pmean(tree, axis_name):
  return jax.lax.pmean(tree, axis_name) if axis_name else tree


def clip_weights(params, c: float):
  """Every parameter clipped to [-c, c] (WGAN's Lipschitz constraint)."""
  return jax.tree.map(lambda p: jnp.clip(p, -c, c), params)


def _update(params, batch_stats, opt_state, batch, key, *, roles, objective, txs,
            constraints, axis_name):
  """One forward pass and an optimizer update of `roles`; the other roles are kept.

  Returns:
    (params, batch_stats, opt_state, metrics) after the update.
  """
  grads, losses, aux = role_gradients(objective, params, batch_stats, batch, key, roles)
  grads, losses = _pmean(grads, axis_name), _pmean(losses, axis_name)
  metrics = dict(_pmean(aux['metrics'], axis_name))
  update = aux.get('update', {})
  params, opt_state = dict(params), dict(opt_state)
  for role, g in grads.items():
    updates, new_opt = txs[role].update(g, opt_state[role], params[role])
    new_params = optax.apply_updates(params[role], updates)
    if role in constraints:
      new_params = constraints[role](new_params)
    flag = update.get(role, jnp.bool_(True))
    params[role] = _select(flag, new_params, params[role])
    opt_state[role] = _select(flag, new_opt, opt_state[role])
    metrics[f'updated/{role}'] = flag.astype(jnp.float32)
    metrics[f'grad_norm/{role}'] = optax.global_norm(g)
  for role, loss in losses.items():
    metrics[f'loss/{role}'] = loss
  return params, _pmean(aux['batch_stats'], axis_name), opt_state, metrics


def _micro_batches(batch, k: int):
  """[k * B, ...] -> [k, B, ...]; micro-batch j holds examples j, j + k, j + 2k, ...

  That interleaving makes the micro-batches of n devices (each holding a contiguous
  block of the global batch) the same sets, in the same order, as on one device.
  """
  return jax.tree.map(
      lambda x: x.reshape(x.shape[0] // k, k, *x.shape[1:]).swapaxes(0, 1), batch)


def train_step(state: ts.TrainState, batch, *, objective, txs, lr_schedule,
               critic_steps: int = 0, critic_loop: str = 'fori', constraints=None,
               axis_name: str | None = None, ema_decay: float = 0.0):
  """One step. Returns (new state, metrics dict of scalars).

  Args:
    state: the TrainState.
    batch: {'image': [B, ...]}, or [k * B, ...] with critic_steps = k >= 1.
    objective: objective(params, batch_stats, batch, key) -> (losses, aux).
    txs: {role: optax transformation}.
    lr_schedule: step -> learning rate (logged).
    critic_steps: k; see the module doc.
    critic_loop: 'fori' or 'unrolled'; see the module doc.
    constraints: {role: params -> params} applied after each update of that role.
    axis_name: inside pmap (with `objective` built for the same axis), gradients,
      losses, metrics and BatchNorm running statistics are averaged across devices, so
      every replica applies the same update; with one device this is the plain step.
    ema_decay: the decay of state.ema's averages (train_state.ema_decay_at); they are
      updated after the step's updates, when the state has any, and then the objective's
      forward pass with the averaged parameters on the step's last batch and key gives
      state.ema_batch_stats (its losses are unused, so XLA keeps only the forward passes
      of the averaged networks).
  """
  update = functools.partial(_update, objective=objective, txs=txs,
                             constraints=constraints or {}, axis_name=axis_name)
  key = jax.random.fold_in(state.key, state.step)
  carry = (state.params, state.batch_stats, state.opt_state)
  roles = tuple(state.params)
  critic_updated = None  # how many critic updates were applied (a rule may skip some)
  if critic_steps:
    micro = _micro_batches(batch, critic_steps)

    def critic_update(i, carry):
      b = jax.tree.map(lambda x: x[i], micro)
      *new, m = update(*carry[:3], b, jax.random.fold_in(key, i),
                       roles=('discriminator',))
      return (*new, carry[3] + m['updated/discriminator'])

    carry = (*carry, jnp.zeros((), jnp.float32))
    if critic_loop == 'fori':
      carry = jax.lax.fori_loop(0, critic_steps, critic_update, carry)
    elif critic_loop == 'unrolled':
      for i in range(critic_steps):
        carry = critic_update(i, carry)
    else:
      raise ValueError(f"unknown critic_loop {critic_loop!r}; use 'fori' or 'unrolled'")
    carry, critic_updated = carry[:3], carry[3]
    batch = jax.tree.map(lambda x: x[critic_steps - 1], micro)
    key = jax.random.fold_in(key, critic_steps)
    roles = tuple(r for r in roles if r != 'discriminator')
  params, batch_stats, opt_state, metrics = update(*carry, batch, key, roles=roles)
  if critic_updated is not None:
    metrics['updated/discriminator'] = critic_updated / critic_steps
  metrics['lr'] = lr_schedule(state.step)
  ema, ema_bs = state.ema, state.ema_batch_stats
  if ema:
    ema = ts.update_ema(ema, params, ts.ema_decay_at(ema_decay, state.step))
  if ema_bs:
    _, aux = objective({**params, **ema}, {**batch_stats, **ema_bs}, batch, key)
    ema_bs = _pmean({role: aux['batch_stats'][role] for role in ema_bs}, axis_name)
  new_state = state.replace(step=state.step + 1, params=params,
                            batch_stats=batch_stats, opt_state=opt_state, ema=ema,
                            ema_batch_stats=ema_bs)
  return new_state, metrics


def examples_per_step(config) -> int:
  """Global examples one step reads: batch_size, times critic_steps if >= 1."""
  return config.batch_size * max(int(config.critic_steps), 1)


AXIS = 'batch'  # the pmap axis of data parallelism
CRITIC_LOOPS = ('auto', 'fori', 'unrolled')  # config.critic_loop
PARALLEL_MODES = ('jit', 'pmap')  # config.parallel (vaegan_jax/parallel.py)


def step_fn(config, nets, txs, axis_name: str | None = None):
  """train_step with the objective, optimizers, schedule and constraints of `config`."""
  objective = functools.partial(objectives.get(config.model), nets=nets, config=config,
                                axis_name=axis_name)
  constraints = {}
  if config.dis_weight_clip > 0:
    constraints['discriminator'] = functools.partial(clip_weights,
                                                     c=config.dis_weight_clip)
  loop = config.critic_loop
  if loop == 'auto':
    loop = 'unrolled' if jax.default_backend() == 'cpu' else 'fori'
  return functools.partial(train_step, objective=objective, txs=txs,
                           lr_schedule=ts.learning_rate_schedule(config),
                           critic_steps=int(config.critic_steps), critic_loop=loop,
                           constraints=constraints, axis_name=axis_name,
                           ema_decay=float(config.ema_decay))


def make_train_step(config, nets, txs):
  """The jitted, state-donating train step for `config.model` on one device."""
  return jax.jit(step_fn(config, nets, txs), donate_argnums=0)


def make_sharded_train_step(config, nets, txs, state_sharding, batch_sharding):
  """The same step as one jit program over a device mesh (config.parallel='jit').

  `nets` are the one-device networks (`objectives.build_networks(config)`, no axis
  name): the step sees the global batch, sharded by `batch_sharding` (its leading
  axis over the mesh), so its means over examples (losses, BatchNorm statistics, the
  equilibrium rule's costs) are those of the global batch and XLA adds the
  cross-device reductions; each example's noise depends on its global index. The state
  (replicated, `state_sharding`) is donated; state and metrics come back replicated, so
  the step compiles once.
  """
  return jax.jit(step_fn(config, nets, txs), donate_argnums=0,
                 in_shardings=(state_sharding, batch_sharding),
                 out_shardings=(state_sharding, state_sharding))


def make_parallel_train_step(config, nets, txs):
  """The same step, data-parallel over the local devices with pmap (axis AXIS).

  `nets` must be built with `objectives.build_networks(config, axis_name=AXIS)`. Takes
  a state replicated over devices and a batch [n_devices, examples_per_step / n_devices,
  ...]; the state is donated. One device is the case n = 1.
  """
  return jax.pmap(step_fn(config, nets, txs, AXIS), axis_name=AXIS, donate_argnums=0)
