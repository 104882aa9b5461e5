"""What the command-line entry points share: one-line errors and exit codes."""

from __future__ import annotations

import sys

from absl import logging

from vaegan_jax import config_files
from vaegan_jax import errors
from vaegan_jax import recipes
from vaegan_jax import preemption



def quiet_logging() -> None:
  """Absl logging at ERROR: orbax logs every save at INFO and tfds warns about absent
  data before our own one-line error says what to do."""
  logging.set_verbosity(logging.ERROR)


def _one_line(e: BaseException) -> str:
  text = str(e).replace('\\n', ' ').replace("\\'", "'")
  text = ' '.join(text.split())
  if len(text) > 1 and text[0] == text[-1] and text[0] in '\'"':  # a KeyError's repr
    text = text[1:-1]
  return text


_CONFIG_FLAGS = set()  # names of the flags define_config_flag defined


def config_path(name_or_path: str) -> str:
  """The config file of `--config`: a file that exists as it is, else a shipped config's
  name ('celeba', 'mnist', 'default', 'celeba.py': vaegan_jax/configs/<name>.py).
  Raises errors.NoConfig, a one-line ConfigError that lists the names."""
  return config_files.path(name_or_path)


def define_config_flag(default: str):
  """`--config` (a file with get_config(), locked) whose errors print one line, exit 2.

  `default` and the value on the command line are a path or a shipped config's name
  (config_path; parse_flags resolves the command line's). ml_collections applies
  `--config.field=value` overrides while the flag is defined, so a misspelt field
  raises here, before absl's own parsing.
  """
  from ml_collections import config_flags  # pylint: disable=g-import-not-at-top
  _CONFIG_FLAGS.add('config')
  try:
    return config_flags.DEFINE_config_file(
        'config', config_path(default),
        'Config file (get_config()) or a shipped config\'s name (default, tiny, celeba, '
        'mnist, ...); override fields with --config.field=value.',
        lock_config=True)
  except Exception as e:  # pylint: disable=broad-except
    print(f'error: bad --config override: {_one_line(e)}', file=sys.stderr)
    sys.exit(2)


def _hint(e: BaseException | None) -> str:
  """What to do about a config file of the old layout (`from configs import default`)."""
  for _ in range(8):  # the exception, its cause, its cause's...
    if e is None:
      break
    if isinstance(e, ModuleNotFoundError) and e.name == 'configs':
      return (' (config files import the shipped ones as '
              '`from vaegan_jax.configs import default`)')
    e = e.__cause__ or e.__context__
  return ''


def config_value(flag_holder, argv=None, out=sys.stdout):
  """The parsed config, or one line and exit 2 if the config file could not be loaded.

  When the command line switches the model (`--config.model=X`), X's training recipe
  (vaegan_jax/recipes.py) replaces the config file's, except the fields the command
  line also sets; one line on `out` lists what changed.
  """
  try:
    config = flag_holder.value
    config.keys()  # a config file that failed to load raises only when first read
  except (OSError, ImportError, SyntaxError, AttributeError) as e:
    print(f'error: cannot load --config: {_one_line(e.__cause__ or e)}{_hint(e)}',
          file=sys.stderr)
    sys.exit(2)
  explicit = command_line_fields(sys.argv if argv is None else argv)
  if 'model' in explicit:
    changed = recipes.switch(config, config.model, keep=explicit)
    if changed:
      print(f'model {config.model}: its own recipe replaces the config file\'s ' +
            ', '.join(f'{k} {old!r} -> {new!r}' for k, (old, new) in changed.items()) +
            ' (keep a value with --config.<field>=...; docs/configs.md, "Switching models")',
            file=out)
  return config


def command_line_fields(argv) -> set[str]:
  """Names of the config fields set on a command line (`--config.name[=value]`)."""
  fields = set()
  for arg in argv[1:]:
    if arg.startswith('--config.'):
      fields.add(arg[len('--config.'):].split('=', 1)[0])
  return fields


def resolve_config_args(argv, names=None) -> list[str]:
  """argv with the value of each config-file flag (`--config NAME`, `--config=NAME`;
  by default the flags defined by define_config_flag) replaced by config_path(NAME).

  ml_collections loads the flag's value as a path and takes the `--config.field=value`
  overrides from sys.argv, which this leaves as they are (a value only changes).
  """
  if names is None:
    names = _config_file_flags()
  spellings = [dashes + name for name in names for dashes in ('--', '-')]
  out = list(argv)
  i = 1
  while i < len(out) and out[i] != '--':  # '--' ends absl's flags
    arg = out[i]
    for flag in spellings:
      if arg == flag and i + 1 < len(out):  # --config NAME
        i += 1
        out[i] = config_path(out[i])
        break
      if arg.startswith(flag + '='):  # --config=NAME
        out[i] = flag + '=' + config_path(arg[len(flag) + 1:])
        break
    i += 1
  return out


def _config_file_flags() -> list[str]:
  """Names of the defined flags whose values are config files (define_config_flag)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  return [name for name in sorted(_CONFIG_FLAGS) if name in flags.FLAGS]


def parse_flags(argv):
  """absl flag parsing for app.run(flags_parser=...): a bad flag or config override
  (e.g. a misspelt --config.field) prints one line and exits 2, not a traceback. A
  config flag's value may be a shipped config's name (resolve_config_args); an unknown
  one prints `error: no config 'x': give a path ... or one of: ...` and exits 2."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  try:
    return flags.FLAGS(resolve_config_args(argv))
  except Exception as e:  # pylint: disable=broad-except
    print(f'error: {_one_line(e)}{_hint(e)}', file=sys.stderr)
    sys.exit(2)


def run(fn) -> int:
  """Calls fn(); an errors.Error prints one line and exits 2 (a diverged run: 3)."""
  try:
    fn()
  except errors.TrainingDiverged as e:
    print(f'diverged: {e}', file=sys.stderr)
    sys.exit(3)
  except errors.Error as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  except preemption.Stopped as e:  # the trainer saved and printed one line
    sys.exit(128 + e.signum)
  except KeyboardInterrupt:
    sys.exit(130)
  return 0
