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
