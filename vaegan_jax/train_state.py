"""Train state keyed by role, the per-role optimizers and their learning-rate schedule."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from vaegan_jax import networks


class TrainState(flax.struct.PyTreeNode):
  """Everything that changes during training. Dicts are keyed by role.

  Attributes:
    step: scalar int32, number of steps taken.
    params: {role: params}.
    batch_stats: {role: BatchNorm running statistics}.
    opt_state: {role: optax state}.
    key: base PRNG key (raw uint32 [2]); step keys are fold_in(key, step).
    ema: {role: exponential moving average of params[role]} for the generator roles
      (EMA_ROLES) when config.ema_decay > 0, else {}.
    ema_batch_stats: {role: BatchNorm running statistics of the averaged network} for
      the roles of `ema` that have BatchNorm: each step runs the objective's forward
      pass with the averaged parameters on the step's batch and keeps its statistics
      (train_step). {} without an average, and in a checkpoint saved before the field
      (those sample with the raw networks' statistics).
  """

  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any
  key: jax.Array
  ema: Any = flax.struct.field(default_factory=dict)
  ema_batch_stats: Any = flax.struct.field(default_factory=dict)


# Roles whose parameters are averaged: the generator side (what sampling, reconstructions
# and interpolations use). The discriminator is only needed for training.
EMA_ROLES = ('encoder', 'decoder')


def ema_decay_at(decay: float, step: jax.Array) -> jax.Array:
  """The decay applied at update `step` (0-based): min(decay, (1 + t) / (10 + t)).

  The warm-up of TensorFlow's ExponentialMovingAverage (`num_updates`): the average
  forgets the initial weights quickly, so short runs (a few thousand steps) average over
  their last few hundred steps and long runs reach `decay` (0.999 after ~9,000 steps).
  """
  t = step.astype(jnp.float32)
  return jnp.minimum(decay, (1.0 + t) / (10.0 + t))


def update_ema(ema, params, decay: jax.Array):
  """{role: decay * ema[role] + (1 - decay) * params[role]} for the roles in `ema`."""
  return {role: jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, avg, params[role])
          for role, avg in ema.items()}


def learning_rate_schedule(config) -> optax.Schedule:
  """The learning rate as a function of the step (same for every role)."""
  lr, steps = config.learning_rate, max(int(config.num_train_steps), 1)
  if config.lr_schedule == 'constant':
    return optax.constant_schedule(lr)
  if config.lr_schedule == 'linear':
    return optax.linear_schedule(lr, lr * config.lr_end_factor, steps)
  if config.lr_schedule == 'cosine':
    return optax.cosine_decay_schedule(lr, steps, alpha=config.lr_end_factor)
  raise ValueError(f"unknown lr_schedule {config.lr_schedule!r}; use 'constant', "
                   "'linear' or 'cosine'")


OPTIMIZERS = ('rmsprop', 'adam')


def make_optimizer(config) -> optax.GradientTransformation:
  """RMSProp (the paper's) or Adam (DCGAN), with optional clipping and decoupled weight decay.

  RMSProp is optax.scale_by_rms (eps outside the square root, as in PyTorch's RMSprop
  and the authors' code); Adam uses adam_b1, adam_b2 and eps 1e-8.
  """
  parts = []
  if config.grad_clip_norm > 0:
    parts.append(optax.clip_by_global_norm(config.grad_clip_norm))
  if config.optimizer == 'rmsprop':
    parts.append(optax.scale_by_rms(decay=config.rmsprop_decay, eps=config.rmsprop_eps))
  elif config.optimizer == 'adam':
    parts.append(optax.scale_by_adam(b1=config.adam_b1, b2=config.adam_b2, eps=1e-8))
  else:
    raise ValueError(f"unknown optimizer {config.optimizer!r}; use 'rmsprop' or 'adam'")
  if config.weight_decay > 0:
    parts.append(optax.add_decayed_weights(config.weight_decay))
  parts.append(optax.scale_by_learning_rate(learning_rate_schedule(config)))
  return optax.chain(*parts)


def make_optimizers(config, roles) -> dict[str, optax.GradientTransformation]:
  """One independent optimizer per role (separate state, no shared moments)."""
  return {role: make_optimizer(config) for role in roles}


def create(config, nets: networks.Networks, txs) -> TrainState:
  """Fresh state from config.seed."""
  key = jax.random.PRNGKey(config.seed)
  init_key, state_key = jax.random.split(key)
  params, batch_stats = networks.init_variables(nets, init_key, config)
  opt_state = {role: txs[role].init(params[role]) for role in params}
  ema = ({role: params[role] for role in EMA_ROLES if role in params}
         if config.ema_decay > 0 else {})
  ema_batch_stats = {role: batch_stats[role] for role in ema
                     if jax.tree.leaves(batch_stats.get(role, {}))}
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    batch_stats=batch_stats, opt_state=opt_state, key=state_key, ema=ema,
                    ema_batch_stats=ema_batch_stats)


def averaged(state: TrainState) -> TrainState:
  """`state` with its averaged parameters (state.ema) in place of the raw ones.

  What sampling should use when the run keeps an average (config.ema_decay > 0), with
  the BatchNorm running statistics of the averaged networks (state.ema_batch_stats):
  the raw networks' statistics do not fit the averaged weights (measured on 32x32
  colour patches: FD 1.21 against 0.78 for a VAE-GAN's prior samples, 1.36 against 0.44
  for a DCGAN's; docs/colour.md). A checkpoint saved before those statistics were kept
  falls back to the raw ones. A state without an average is returned as it is.
  """
  if not state.ema:
    return state
  return state.replace(params={**state.params, **state.ema},
                       batch_stats={**state.batch_stats, **state.ema_batch_stats})
