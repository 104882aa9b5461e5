"""Checks on a config that must fail before anything compiles, with one-line messages."""

from __future__ import annotations

from vaegan_jax import input_pipeline


class ConfigError(ValueError):
  """The config is invalid; the message names the field and a valid value."""


def _positive_ints(config, name):
  values = config[name]
  values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
  if not values or any((not isinstance(v, int)) or v <= 0 for v in values):
    raise ConfigError(f'--config.{name} must be positive integers (got {config[name]!r})')


def validate(config, num_examples: int | None = None) -> None:
  """Raises ConfigError on the first invalid field."""
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
  if config.crop not in input_pipeline.CROPS:
    raise ConfigError(f'--config.crop must be one of {", ".join(input_pipeline.CROPS)} '
                      f'(got {config.crop!r})')
  if config.dis_batch_norm not in ('joint', 'per_source'):
    raise ConfigError("--config.dis_batch_norm must be 'joint' or 'per_source' "
                      f'(got {config.dis_batch_norm!r})')
  if config.lr_schedule not in ('constant', 'linear', 'cosine'):
    raise ConfigError("--config.lr_schedule must be 'constant', 'linear' or 'cosine' "
                      f'(got {config.lr_schedule!r})')
  if num_examples is not None and config.batch_size > num_examples:
    raise ConfigError(f'--config.batch_size={config.batch_size} is larger than the '
                      f'{num_examples} training examples of {config.dataset!r}: lower it')
