"""What the command-line entry points share: one-line errors and exit codes."""

from __future__ import annotations

import sys

from absl import logging

from vaegan_jax import checkpointing
from vaegan_jax import input_pipeline
from vaegan_jax import validation

USER_ERRORS = (validation.ConfigError, input_pipeline.DataError,
               checkpointing.CheckpointError)


def quiet_logging() -> None:
  """Absl logging at ERROR: orbax logs every save at INFO and tfds warns about absent
  data before our own one-line error says what to do."""
  logging.set_verbosity(logging.ERROR)


def run(fn) -> int:
  """Calls fn(); a user error or a diverged run prints one line and exits nonzero."""
  from vaegan_jax import trainer  # pylint: disable=g-import-not-at-top
  try:
    fn()
  except USER_ERRORS as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  except trainer.TrainingDiverged as e:
    print(f'diverged: {e}', file=sys.stderr)
    sys.exit(3)
  except KeyboardInterrupt:
    sys.exit(130)
  return 0


def train(config, workdir: str):
  from vaegan_jax import trainer  # pylint: disable=g-import-not-at-top
  return trainer.train_and_evaluate(config, workdir)
