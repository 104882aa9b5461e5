"""The errors vaegan_jax raises on purpose: one hierarchy, importing nothing.

Each is something a user can fix, and its message says how, in one line. The commands
(cli.run) print an `Error` as `error: <message>` and exit 2, and a `TrainingDiverged` as
`diverged: <message>` and exit 3; a notebook catches `vaegan_jax.errors.Error`. The
modules that raise them re-export their own (validation.ConfigError,
errors.DataError, errors.CheckpointError, ...), which are these classes.
"""


class Error(Exception):
  """Base of every error below."""


class ConfigError(Error, ValueError):
  """The config is invalid; the message names the field and a valid value."""


class NoConfig(ConfigError):
  """A config name that is neither a file nor a shipped config."""


class UsageError(ConfigError):
  """A bad command-line argument or API argument (a flag of compare, evaluate, sample,
  attributes)."""


class DataError(Error):
  """A data set is missing or unusable."""


class CacheError(Error):
  """The decoded-data cache cannot be written (input_pipeline raises it as a
  DataError)."""


class CheckpointError(Error):
  """No usable checkpoint where one was asked for; the message says what exists."""


class WorkdirBusy(Error):
  """Another live process is training in this workdir."""


class WeightsMissing(Error):
  """The Inception weights cannot be found; the message says where to put them."""


class TrainingDiverged(Error, RuntimeError):
  """A loss became NaN or inf; the message names the step and the term."""
