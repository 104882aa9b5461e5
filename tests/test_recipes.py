"""Each model brings its own recipe: the shipped configs agree with it, and switching
models on the command line switches recipes, keeping what the command line sets."""

import importlib
import json
import os
import subprocess
import sys

import pytest

from configs import default
from vaegan_jax import cli
from vaegan_jax import objectives
from vaegan_jax import recipes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_model_has_a_recipe_of_existing_fields():
  assert set(recipes.RECIPES) == set(objectives.MODELS)
  fields = set(default.get_config().keys())
  for model, r in recipes.RECIPES.items():
    assert set(r) <= fields, (model, set(r) - fields)


@pytest.mark.parametrize('name, model', [
    ('default', 'vaegan'), ('vaegan_digits', 'vaegan'), ('celeba', 'vaegan'),
    ('mnist', 'vaegan'), ('cifar10', 'vaegan'), ('celeba_folder', 'vaegan'),
    ('vae_digits', 'vae'), ('dcgan_digits', 'dcgan'), ('wgan_digits', 'wgan'),
    ('aae_digits', 'aae'), ('vae_celeba', 'vae'), ('dcgan_celeba', 'dcgan'),
    ('wgan_celeba', 'wgan'), ('aae_celeba', 'aae')])
def test_shipped_configs_use_their_models_recipe(name, model):
  config = importlib.import_module(f'configs.{name}').get_config()
  assert config.model == model
  for field, value in recipes.recipe(model).items():
    assert config[field] == value, (name, field, config[field], value)


def test_apply_switches_and_keeps_what_it_is_told_to_keep():
  config = default.get_config()
  changed = recipes.apply(config, 'wgan', keep={'learning_rate'})
  assert config.model == 'wgan' and config.optimizer == 'rmsprop'
  assert config.learning_rate == recipes.VAEGAN['learning_rate']  # kept
  assert changed['optimizer'] == ('adam', 'rmsprop') and 'learning_rate' not in changed
  assert changed['critic_steps'] == (1, 5) and changed['dis_weight_clip'] == (0.0, 0.01)
  assert recipes.apply(config, 'wgan', keep={'learning_rate'}) == {}  # idempotent
  with pytest.raises(ValueError, match='no recipe'):
    recipes.recipe('gan')


def test_paper_and_authors_recipes_are_the_same_fields_as_the_default():
  # decoder_gan_weight and gan_include_recon are the data config's in VAEGAN.
  keys = set(recipes.VAEGAN) | {'decoder_gan_weight', 'gan_include_recon'}
  for r in (recipes.VAEGAN_AUTHORS, recipes.VAEGAN_PAPER, recipes.VAEGAN_BEFORE):
    assert set(r) == keys
  for name, r in (('celeba_authors', recipes.VAEGAN_AUTHORS),
                  ('celeba_paper', recipes.VAEGAN_PAPER)):
    config = importlib.import_module(f'configs.{name}').get_config()
    assert all(config[k] == v for k, v in r.items()), name
    assert config.image_size == 64 and config.dataset == 'celeb_a'


def test_command_line_fields():
  argv = ['train.py', '--config', 'c.py', '--config.model=dcgan', '--workdir=w',
          '--config.learning_rate', '0.1', '--config.use_equilibrium=False']
  assert cli.command_line_fields(argv) == {'model', 'learning_rate', 'use_equilibrium'}


def test_cli_model_switch_brings_the_models_recipe_and_keeps_explicit_fields(tmp_path):
  r = subprocess.run(
      [sys.executable, 'train.py', '--config', 'configs/tiny.py', '--workdir',
       str(tmp_path), '--config.model=vae', '--config.learning_rate=0.001',
       '--config.num_train_steps=1', '--config.checkpoint_every=1'],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr
  line = [l for l in r.stdout.splitlines() if l.startswith('model vae:')]
  assert len(line) == 1 and "optimizer 'adam' -> 'rmsprop'" in line[0], r.stdout
  assert 'learning_rate' not in line[0]
  saved = json.loads((tmp_path / 'config.json').read_text())
  assert saved['model'] == 'vae' and saved['learning_rate'] == 0.001
  for field, value in recipes.recipe('vae').items():
    if field != 'learning_rate':
      assert saved[field] == value, field
