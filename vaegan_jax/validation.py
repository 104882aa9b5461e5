"""Checks on a config that must fail before anything compiles, with one-line messages."""

from __future__ import annotations

from vaegan_jax import augment
from vaegan_jax import errors
from vaegan_jax import input_pipeline
from vaegan_jax import layers
from vaegan_jax import losses
from vaegan_jax import objectives
from vaegan_jax import train_state
from vaegan_jax import train_step


ConfigError = errors.ConfigError


def _positive_ints(config, name):
  values = config[name]
  values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
  if not values or any((not isinstance(v, int)) or v <= 0 for v in values):
    raise ConfigError(f'--config.{name} must be positive integers (got {config[name]!r})')


def _one_of(config, name, choices):
  if config[name] not in choices:
    raise ConfigError(f'--config.{name} must be one of {", ".join(map(str, choices))} '
                      f'(got {config[name]!r})')


def _model(config) -> None:
  """The fields that choose and shape the model and its adversarial training."""
  _one_of(config, 'model', tuple(objectives.MODELS))
  model = objectives.get_model(config.model)
  _one_of(config, 'init', layers.INITS)
  _one_of(config, 'layers', layers.LAYERS)
  if 'dec_upsample' in config:
    _one_of(config, 'dec_upsample', layers.UPSAMPLES)
  _one_of(config, 'compute_dtype', layers.COMPUTE_DTYPES)
  _one_of(config, 'optimizer', train_state.OPTIMIZERS)
  _one_of(config, 'pixel_likelihood', losses.PIXEL_LIKELIHOODS)
  _one_of(config, 'critic_loop', train_step.CRITIC_LOOPS)
  for name in ('pixel_sigma', 'prior_scale'):
    if not config[name] > 0:
      raise ConfigError(f'--config.{name} must be > 0 (got {config[name]})')
  if config.dis_leak < 0 or config.dis_weight_clip < 0:
    raise ConfigError('--config.dis_leak and --config.dis_weight_clip must be >= 0 '
                      f'(got {config.dis_leak}, {config.dis_weight_clip})')
  if not isinstance(config.critic_steps, int) or config.critic_steps < 0:
    raise ConfigError(f'--config.critic_steps must be an integer >= 0 '
                      f'(got {config.critic_steps!r})')
  if model.discriminator is None and (config.critic_steps or config.dis_weight_clip):
    raise ConfigError(f'model {config.model!r} has no discriminator: set '
                      '--config.critic_steps=0 and --config.dis_weight_clip=0')
  r1 = config.get('dis_r1_weight', 0.0)
  if r1 < 0:
    raise ConfigError(f'--config.dis_r1_weight must be >= 0 (got {r1})')
  if r1 and not model.r1:
    with_r1 = ', '.join(objectives.with_capability('r1'))
    raise ConfigError(f'--config.dis_r1_weight applies to models {with_r1}, not '
                      f'{config.model!r}: set it to 0')
  if config.get('dis_augment', ''):
    try:
      augment.parse(config.dis_augment)
    except ValueError as e:
      raise ConfigError(str(e)) from None
    if model.discriminator != 'image':
      raise ConfigError(f'--config.dis_augment transforms the images a discriminator '
                        f'sees; model {config.model!r} has none: set it to ""')
  if 'dis_augment_features' in config:
    _one_of(config, 'dis_augment_features', objectives.AUGMENT_FEATURES)
  if config.use_equilibrium and not model.equilibrium:
    raise ConfigError(f'the equilibrium rule does not apply to model {config.model!r}: '
                      'set --config.use_equilibrium=False')
  if model.encoder == 'gaussian' and config.prior_scale != 1.0:
    raise ConfigError(f'model {config.model!r} has a KL term to N(0, I): '
                      f'--config.prior_scale must be 1 (got {config.prior_scale})')
  if model.discriminator == 'latent':
    _positive_ints(config, 'latent_dis_widths')
  _labels(config, model)


def _labels(config, model: objectives.Model) -> None:
  """The label fields (vaegan_jax/labels.py)."""
  conditional, aux = config.get('conditional', False), config.get('aux_weight', 0.0)
  if not isinstance(conditional, bool):
    raise ConfigError(f'--config.conditional must be True or False (got {conditional!r})')
  if conditional and not model.conditional:
    raise ConfigError('--config.conditional is implemented for '
                      f'{", ".join(objectives.with_capability("conditional"))}'
                      f' (got model {config.model!r})')
  if aux < 0:
    raise ConfigError(f'--config.aux_weight must be >= 0 (got {aux})')
  if aux > 0 and not model.aux_head:
    raise ConfigError('--config.aux_weight is implemented for '
                      f'{", ".join(objectives.with_capability("aux_head"))} '
                      f'(got model {config.model!r}); set it to 0')
  if aux > 0 and conditional:
    raise ConfigError('--config.aux_weight with --config.conditional: the head would read '
                      'the labels it predicts; use one of them')
  if not 0.0 < config.get('labeled_fraction', 1.0) <= 1.0:
    raise ConfigError(f'--config.labeled_fraction must be in (0, 1] (got '
                      f'{config.labeled_fraction})')


EVAL_FEATURES = ('inception', 'classifier')  # vaegan_jax/features.py


def validate(config, num_examples: int | None = None) -> None:
  """Raises ConfigError on the first invalid field."""
  _model(config)
  for name in ('batch_size', 'image_size', 'channels', 'latent_dim', 'kernel_size',
               'enc_widths', 'enc_dense', 'dec_dense_channels', 'dec_widths',
               'dis_widths', 'dis_strides', 'dis_dense', 'num_images'):
    _positive_ints(config, name)
  for name in ('log_every', 'checkpoint_every'):
    if config[name] <= 0:
      raise ConfigError(f'--config.{name} must be > 0 (got {config[name]})')
  if config.num_train_steps < 0:
    raise ConfigError(f'--config.num_train_steps must be >= 0 (got {config.num_train_steps})')
  if config.image_every < 0:
    raise ConfigError(f'--config.image_every must be >= 0 (got {config.image_every})')
  if config.max_to_keep < 1:
    raise ConfigError(f'--config.max_to_keep must be >= 1 (got {config.max_to_keep})')
  if config.learning_rate <= 0:
    raise ConfigError(f'--config.learning_rate must be > 0 (got {config.learning_rate})')
  down = 2 ** len(config.dec_widths)
  if config.image_size % down:
    raise ConfigError(
        f'--config.image_size={config.image_size} is not divisible by 2^len(dec_widths)='
        f'{down}: change image_size or the number of dec_widths')
  if len(config.dis_strides) != len(config.dis_widths):
    raise ConfigError(f'--config.dis_strides has {len(config.dis_strides)} entries but '
                      f'dis_widths has {len(config.dis_widths)}: give one stride per width')
  if not 1 <= config.dis_feature_layer <= len(config.dis_widths):
    raise ConfigError(f'--config.dis_feature_layer must be in 1..{len(config.dis_widths)} '
                      f'(got {config.dis_feature_layer})')
  if config.gan_generator_loss not in ('saturating', 'non_saturating'):
    raise ConfigError("--config.gan_generator_loss must be 'saturating' or "
                      f"'non_saturating' (got {config.gan_generator_loss!r})")
  if config.split not in ('train', 'validation', 'test'):
    raise ConfigError("--config.split must be 'train', 'validation' or 'test' "
                      f'(got {config.split!r})')
  if not 0.0 <= config.val_fraction < 1.0:
    raise ConfigError(f'--config.val_fraction must be in [0, 1) (got {config.val_fraction})')
  if config.data_workers < 1:
    raise ConfigError(f'--config.data_workers must be >= 1 (got {config.data_workers})')
  from vaegan_jax import data_cache  # pylint: disable=g-import-not-at-top
  cache_error = data_cache.check(config.get('data_cache', ''))  # absent in older runs
  if cache_error:
    raise ConfigError(cache_error)
  if config.crop not in input_pipeline.CROPS:
    raise ConfigError(f'--config.crop must be one of {", ".join(input_pipeline.CROPS)} '
                      f'(got {config.crop!r})')
  if config.prior_weight < 0:
    raise ConfigError(f'--config.prior_weight must be >= 0 (got {config.prior_weight})')
  for name, choices in (('auto_sampler', ('channels', 'gmm', 'prior')),
                        ('folder_labels', input_pipeline.FOLDER_LABELS),
                        ('pixel_llike_scale', ('features', 'none')),
                        ('parallel', train_step.PARALLEL_MODES)):
    if name in config:  # absent in a run saved before the field: its old meaning
      _one_of(config, name, choices)
  if config.pixel_llike_weight < 0:
    raise ConfigError(f'--config.pixel_llike_weight must be >= 0 (got '
                      f'{config.pixel_llike_weight})')
  if config.decoder_gan_balance not in ('fixed', 'adaptive'):
    raise ConfigError("--config.decoder_gan_balance must be 'fixed' or 'adaptive' "
                      f'(got {config.decoder_gan_balance!r})')
  if config.dis_batch_norm not in ('joint', 'per_source', 'none'):
    raise ConfigError("--config.dis_batch_norm must be 'joint', 'per_source' or 'none' "
                      f'(got {config.dis_batch_norm!r})')
  if not 0.0 <= config.ema_decay < 1.0:
    raise ConfigError(f'--config.ema_decay must be in [0, 1) (got {config.ema_decay}); '
                      '0 turns the average off, the GAN literature uses 0.999')
  if config.eval_every < 0:
    raise ConfigError(f'--config.eval_every must be >= 0 (got {config.eval_every}); 0 = off')
  if config.eval_every and config.eval_num < 2:
    raise ConfigError(f'--config.eval_num must be >= 2 (got {config.eval_num}): FD needs 2 '
                      'samples or more (1000 or more for stable numbers)')
  if config.eval_features not in EVAL_FEATURES:
    raise ConfigError(f'--config.eval_features must be one of {", ".join(EVAL_FEATURES)} '
                      f'(got {config.eval_features!r})')
  if config.lr_schedule not in ('constant', 'linear', 'cosine'):
    raise ConfigError("--config.lr_schedule must be 'constant', 'linear' or 'cosine' "
                      f'(got {config.lr_schedule!r})')
  per_step = config.batch_size * max(config.critic_steps, 1)
  if num_examples is not None and per_step > num_examples:
    raise ConfigError(f'a step reads {per_step} examples (batch_size={config.batch_size}'
                      f' x max(critic_steps, 1)) but {config.dataset!r} has {num_examples}:'
                      ' lower --config.batch_size')
