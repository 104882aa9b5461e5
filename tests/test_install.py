"""The installed package: the wheel's commands train and sample outside the checkout, and
`--config` takes a shipped config's name.

The wheel is built from a copy of the package's files (nothing is written into the
checkout) and installed without its dependencies into a fresh venv; a .pth file, added
after the install, lends that venv this environment's site-packages for jax and the
rest (its editable vaegan_jax does not come along: a .pth named by a directory that a
.pth adds is not read). Every command then runs in an empty folder with no PYTHONPATH.
"""

import concurrent.futures
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile

import numpy as np
import pytest

from vaegan_jax import cli
from vaegan_jax import config_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'configs'))
                 if f.endswith('.py') and f != '__init__.py')
COMMANDS = ('train', 'sample', 'evaluate', 'compare', 'attributes', 'benchmark')
# The default config with the networks and schedule of configs/tiny.py.
TINY = ['--config.latent_dim=8', '--config.enc_widths=(8,8)', '--config.enc_dense=16',
        '--config.dec_dense_channels=8', '--config.dec_widths=(8,8)',
        '--config.dis_widths=(8,8,8)', '--config.dis_dense=16', '--config.batch_size=8',
        '--config.log_every=1', '--config.image_every=0', '--config.num_images=4',
        '--config.critic_steps=0']


# ------------------------------------------------------------- config names (fast)


def test_config_path_takes_a_name_or_a_path(tmp_path, monkeypatch):
  assert config_files.names() == SHIPPED
  for name in ('celeba', 'celeba.py'):
    path = cli.config_path(name)
    assert path == os.path.join(config_files.DIR, 'celeba.py')
    assert os.path.samefile(path, os.path.join(ROOT, 'configs', 'celeba.py'))
  for name in ('mnist', 'default', 'tiny'):
    assert os.path.basename(cli.config_path(name)) == f'{name}.py'
  assert cli.config_path('tiny:arg') == cli.config_path('tiny') + ':arg'
  own = tmp_path / 'celeba.py'  # a file that exists is used as it is, even a shipped name
  own.write_text('def get_config():\n  return None\n')
  monkeypatch.chdir(tmp_path)
  assert cli.config_path('celeba.py') == 'celeba.py'
  assert cli.config_path(str(own)) == str(own)
  assert cli.config_path('celeba') == os.path.join(config_files.DIR, 'celeba.py')


@pytest.mark.parametrize('name', ['xyz', 'xyz.py', '/nonexistent/celeba.py', '__init__',
                                  '', '../configs/celeba'])
def test_an_unknown_config_is_one_line_that_lists_the_names(name):
  with pytest.raises(config_files.NoConfig) as e:
    cli.config_path(name)
  message = str(e.value)
  assert '\n' not in message
  missing = ': No such file' if os.sep in name else ''
  assert message == (f'no config {name!r}{missing}: give a path to a config file or one '
                     'of: ' + ', '.join(SHIPPED))
  assert message.endswith('aae_celeba, aae_digits, celeba, celeba_authors, celeba_folder, '
                          'celeba_paper, cifar10, colour, dcgan_celeba, dcgan_digits, '
                          'default, emoji, mnist, tiny, vae_celeba, vae_digits, vaegan_digits, '
                          'wgan_celeba, wgan_digits')


def test_resolve_config_args_rewrites_only_the_config_value():
  tiny, celeba = cli.config_path('tiny'), cli.config_path('celeba')
  argv = ['train', '--config', 'tiny', '--config.latent_dim=4', '--workdir=w',
          '--config.learning_rate', '0.1']
  assert cli.resolve_config_args(argv, ['config']) == [
      'train', '--config', tiny, '--config.latent_dim=4', '--workdir=w',
      '--config.learning_rate', '0.1']
  assert cli.resolve_config_args(['train', '--config=celeba', '-config', 'tiny.py'],
                                 ['config']) == ['train', f'--config={celeba}', '-config', tiny]
  path = os.path.join(ROOT, 'configs', 'tiny.py')
  assert cli.resolve_config_args(['t', f'--config={path}', '--', '--config=x'],
                                 ['config']) == ['t', f'--config={path}', '--', '--config=x']
  assert cli.resolve_config_args(['t', '--workdir', 'tiny'], ['config']) == [
      't', '--workdir', 'tiny']
  with pytest.raises(config_files.NoConfig, match="no config 'xyz'"):
    cli.resolve_config_args(['t', '--config', 'xyz'], ['config'])


def test_config_files_import_the_shipped_package_not_top_level_configs():
  for name in SHIPPED:
    with open(os.path.join(ROOT, 'configs', f'{name}.py')) as f:
      text = f.read()
    assert 'from configs' not in text and 'import configs' not in text, name
  assert os.path.samefile(config_files.DIR, os.path.join(ROOT, 'configs'))


# ------------------------------------------------------------ the wheel, installed


def _run(argv, cwd, env, timeout=300):
  return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                        timeout=timeout)


def _ok(r):
  assert r.returncode == 0, f'{r.args}: status {r.returncode}\n{r.stdout}\n{r.stderr}'
  return r


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
  """The wheel of a copy of the checkout's package files (no build/ in the checkout)."""
  src = tmp_path_factory.mktemp('src')
  for name in ('pyproject.toml', 'README.md'):
    shutil.copy(os.path.join(ROOT, name), src)
  ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
  for name in ('vaegan_jax', 'configs'):  # vaegan_jax/configs stays a symlink
    shutil.copytree(os.path.join(ROOT, name), src / name, symlinks=True, ignore=ignore)
  out = tmp_path_factory.mktemp('wheel')
  r = _run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--quiet', '-w', str(out),
            str(src)], cwd=str(src), env=os.environ.copy(), timeout=600)
  assert r.returncode == 0, f'pip could not build the wheel:\n{r.stderr[-3000:]}'
  wheels = [f for f in os.listdir(out) if f.endswith('.whl')]
  assert len(wheels) == 1, wheels
  return str(out / wheels[0])


@pytest.fixture(scope='module')
def venv(wheel, tmp_path_factory):
  """(bin dir, env, empty folder): a fresh venv with the wheel installed."""
  v = tmp_path_factory.mktemp('venv')
  _ok(_run([sys.executable, '-m', 'venv', '--without-pip', '--clear', str(v)], cwd=str(v),
           env=os.environ.copy()))
  python = str(v / 'bin' / 'python')
  env = {k: val for k, val in os.environ.items()
         if k not in ('PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP', 'VIRTUAL_ENV')}
  # Installed before the .pth exists: pip must not see this environment's vaegan-jax.
  _ok(_run([sys.executable, '-m', 'pip', '--python', python, 'install', '--no-deps',
            '--no-index', '--quiet', wheel], cwd=str(v), env=env))
  purelib = _ok(_run([python, '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
                     cwd=str(v), env=env)).stdout.strip()
  ours = [sysconfig.get_path('purelib'), sysconfig.get_path('platlib'),
          *site.getsitepackages()]
  with open(os.path.join(purelib, '_vaegan_test_dependencies.pth'), 'w') as f:
    f.write('\n'.join(dict.fromkeys(p for p in ours if os.path.isdir(p))) + '\n')
  empty = tmp_path_factory.mktemp('empty')
  return str(v / 'bin'), env, str(empty)


def test_the_wheel_holds_the_package_the_configs_and_the_commands(wheel):
  with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    entry_points = next(z.read(n).decode() for n in names
                        if n.endswith('.dist-info/entry_points.txt'))
  assert 'vaegan_jax/configs/celeba.py' in names
  assert {f'vaegan_jax/configs/{n}.py' for n in SHIPPED} <= set(names)
  assert 'vaegan_jax/commands.py' in names and 'vaegan_jax/cli.py' in names
  assert not [n for n in names if n.startswith(('configs/', 'tests/'))
              or n in ('train.py', 'sample.py')]
  for command in COMMANDS:
    assert f'vaegan-{command} = vaegan_jax.commands:{command}' in entry_points


def test_installed_commands_train_and_sample_from_an_empty_folder(venv, tmp_path):
  bin_dir, env, cwd = venv
  assert not os.listdir(cwd)
  command = lambda name: os.path.join(bin_dir, f'vaegan-{name}')
  r = _ok(_run([os.path.join(bin_dir, 'python'), '-c',
                'import vaegan_jax, vaegan_jax.configs.celeba as c, sys\n'
                'print(vaegan_jax.__file__); print(c.__file__)\n'
                'try:\n  import configs\nexcept ImportError:\n  print("no configs")'],
               cwd, env))
  package, celeba, no_configs = r.stdout.split('\n')[:3]
  assert package.startswith(os.path.dirname(bin_dir)), package  # the venv's, not ours
  assert celeba.startswith(os.path.dirname(bin_dir)), celeba
  assert no_configs == 'no configs'

  # The default config, made tiny by overrides, and the shipped `tiny` by name with the
  # default workdir (runs/tiny, in the empty folder).
  w = str(tmp_path / 'w')
  r = _ok(_run([command('train'), '--workdir', w, '--config.num_train_steps=2',
                '--config.checkpoint_every=2', *TINY], cwd, env))
  assert 'step 2/2' in r.stdout, r.stdout
  r = _ok(_run([command('train'), '--config', 'tiny', '--config.num_train_steps=2'],
               cwd, env))
  assert os.path.isdir(os.path.join(cwd, 'runs', 'tiny', 'checkpoints')), os.listdir(cwd)

  s_png, s_npy = str(tmp_path / 's.png'), str(tmp_path / 's.npy')
  no_data = str(tmp_path / 'no_tfds_data')
  os.makedirs(no_data)
  cases = {  # each: argv, status, text of the one line on stderr (None: status 0)
      'sample': ([command('sample'), '--workdir', w, '--out', s_png, '--num', '4',
                  '--save_array', s_npy], 0, None),
      # mnist resolves and loads: the error is its data's (tfds, not prepared here).
      'mnist': ([command('train'), '--config=mnist', f'--config.data_dir={no_data}',
                 '--workdir', str(tmp_path / 'm')], 2, "tfds data set 'mnist'"),
      'unknown config': ([command('train'), '--config', 'xyz'], 2,
                         "no config 'xyz': give a path to a config file or one of: "
                         'aae_celeba,'),
      'evaluate': ([command('evaluate'), f'--workdir={w}', '--num=1'], 2, '--num'),
      'compare': ([command('compare'), '--models=vae,gpt', f'--out={tmp_path}/c'], 2,
                  'gpt'),
      'attributes': ([command('attributes'), f'--workdir={tmp_path}/missing',
                      '--attribute=Smiling', f'--out={tmp_path}/a.png'], 2, 'missing'),
      'benchmark': ([command('benchmark'), '--config', 'tiny', '--steps=0'], 2, '--steps'),
  }
  with concurrent.futures.ThreadPoolExecutor(2) as pool:
    results = dict(zip(cases, pool.map(lambda c: _run(c[0], cwd, env), cases.values())))
  failures = []
  for name, (argv, status, text) in cases.items():
    r = results[name]
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    if r.returncode != status or (text is not None and (len(lines) != 1
                                                        or text not in lines[0])):
      failures.append(f'{name}: status {r.returncode} (want {status}), stdout '
                      f'{r.stdout[-500:]!r}, stderr {r.stderr[-1500:]!r}')
  assert not failures, '\n'.join(failures)
  assert os.path.getsize(s_png) > 0
  assert np.load(s_npy).shape == (4, 16, 16, 1)
  assert sorted(os.listdir(cwd)) == ['runs']  # nothing else written to the folder
