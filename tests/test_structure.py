"""The package's import graph: no cycle, and the core does not import the commands."""

import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = {'cli', 'commands', 'benchmark', 'compare', 'evaluate', 'sample_cli'}
CORE = {'layers', 'networks', 'losses', 'objectives', 'train_state', 'train_step',
        'input_pipeline', 'metrics', 'sampling', 'trainer'}


def _graph():
  graph = {}
  for path in glob.glob(os.path.join(ROOT, 'vaegan_jax', '*.py')):
    name = os.path.basename(path)[:-3]
    with open(path) as f:
      graph[name] = set(re.findall(r'from vaegan_jax import (\w+)', f.read())) - {name}
  return graph


def test_no_import_cycle_and_the_core_imports_no_command():
  graph = _graph()
  assert CORE <= set(graph)
  state = {}

  def visit(node, path):
    if state.get(node) == 'done':
      return
    assert state.get(node) != 'open', 'import cycle: ' + ' -> '.join(path + [node])
    state[node] = 'open'
    for dep in sorted(graph.get(node, ())):
      visit(dep, path + [node])
    state[node] = 'done'

  for node in sorted(graph):
    visit(node, [])
  for node in CORE:
    assert not graph[node] & COMMANDS, (node, graph[node] & COMMANDS)


def test_errors_are_one_hierarchy_that_imports_nothing_and_every_command_maps_it():
  import subprocess
  import sys
  import pytest
  from vaegan_jax import cli, errors
  graph = _graph()
  assert not graph['errors']
  code = ('import sys, vaegan_jax.errors; '
          'assert not {"jax", "numpy", "flax"} & set(sys.modules), sorted(sys.modules)')
  subprocess.run([sys.executable, '-c', code], check=True, cwd=ROOT)
  # The modules' own names are the same classes, so `except validation.ConfigError`
  # and `except errors.Error` catch what the library raises.
  from vaegan_jax import checkpointing, compare, evaluate, input_pipeline, sample_cli
  from vaegan_jax import trainer, validation
  assert compare.UsageError is evaluate.UsageError is sample_cli.UsageError
  assert issubclass(validation.ConfigError, errors.Error)
  assert issubclass(validation.ConfigError, ValueError)
  for cls in (input_pipeline.DataError, checkpointing.CheckpointError,
              trainer.TrainingDiverged):
    assert issubclass(cls, errors.Error)
  for cls, status in [(c, 2) for c in errors.Error.__subclasses__()
                      if c is not errors.TrainingDiverged] + [(errors.TrainingDiverged, 3)]:
    def fail(cls=cls):
      raise cls('what is wrong')
    with pytest.raises(SystemExit) as exit_info:
      cli.run(fail)
    assert exit_info.value.code == status, cls
