"""Bad input through the real command lines: one line, a nonzero status, no run touched.

Each case runs a CLI (train.py, sample.py, the benchmark, compare) in a subprocess with
one mistake. It must exit with the status that docs/robustness.md ("Exit statuses")
gives, print exactly one line on stderr (no traceback), and leave every file of an
existing run as it was.
The cases run a few at a time: each is mostly the start-up of Python and JAX.
"""

import concurrent.futures
import glob
import io
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import orbax.checkpoint as ocp
import pytest
from PIL import Image

from configs import tiny
from vaegan_jax import trainer
from vaegan_jax import workdir as wd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = [sys.executable, os.path.join(ROOT, 'train.py'), '--config',
         os.path.join(ROOT, 'configs', 'tiny.py')]
SAMPLE = [sys.executable, os.path.join(ROOT, 'sample.py')]
BENCH = [sys.executable, '-m', 'vaegan_jax.benchmark', '--config',
         os.path.join(ROOT, 'configs', 'tiny.py')]
COMPARE = [sys.executable, '-m', 'vaegan_jax.compare']
EVALUATE = [sys.executable, '-m', 'vaegan_jax.evaluate']


def _files(root):
  out = {}
  for path in glob.glob(os.path.join(root, '**', '*'), recursive=True):
    if os.path.isfile(path) and not path.endswith(wd.LOCK_FILE):
      with open(path, 'rb') as f:
        out[os.path.relpath(path, root)] = f.read()
  return out


@pytest.fixture(scope='module')
def world(tmp_path_factory):
  """A trained run (checkpoint at step 2), data folders that are wrong, and paths."""
  base = tmp_path_factory.mktemp('bad')
  run = str(base / 'run')
  config = tiny.get_config()
  config.num_train_steps = 2
  trainer.train_and_evaluate(config, run, out=io.StringIO(), write_summaries=False)
  # Copies of the run, each broken in one way.
  broken_config = str(base / 'broken_config')
  shutil.copytree(run, broken_config)
  with open(os.path.join(broken_config, 'config.json'), 'w') as f:
    f.write('{"latent_dim": 8,')
  old_layout = str(base / 'old_layout')  # a checkpoint of another state layout
  shutil.copytree(run, old_layout, ignore=shutil.ignore_patterns('checkpoints', 'checksums'))
  mngr = ocp.CheckpointManager(os.path.join(old_layout, 'checkpoints'))
  mngr.save(2, args=ocp.args.StandardSave({'params': {'w': np.zeros(3, np.float32)},
                                           'step': np.int32(2)}))
  mngr.wait_until_finished()
  mngr.close()
  run_b = str(base / 'run_b')  # a second copy: each refusal holds its workdir's lock
  shutil.copytree(run, run_b)
  no_ckpt = str(base / 'no_ckpt')
  os.makedirs(no_ckpt)
  shutil.copy(os.path.join(run, 'config.json'), no_ckpt)
  # Data folders.
  empty = str(base / 'empty')
  os.makedirs(empty)
  corrupt = str(base / 'corrupt')
  os.makedirs(corrupt)
  for i in range(20):
    with open(os.path.join(corrupt, f'{i}.png'), 'wb') as f:
      f.write(b'not a png at all')
  zip_path = str(base / 'texts.zip')
  with zipfile.ZipFile(zip_path, 'w') as z:
    z.writestr('readme.txt', 'no images here')
  rgb = str(base / 'rgb')
  os.makedirs(rgb)
  for i in range(4):
    Image.fromarray(np.full((16, 16, 3), i * 40, np.uint8)).save(
        os.path.join(rgb, f'{i}.png'))
  np.save(str(base / 'flat.npy'), np.zeros((4, 16), np.float32))  # not images
  np.save(str(base / 'bytes.npy'), np.full((4, 16, 16, 1), 200, np.uint8))  # not floats
  a_file = str(base / 'a_file')
  with open(a_file, 'w') as f:
    f.write('x')
  return dict(base=str(base), run=run, run_b=run_b, broken_config=broken_config,
              old_layout=old_layout, no_ckpt=no_ckpt, empty=empty, corrupt=corrupt,
              zip=zip_path, rgb=rgb, a_file=a_file, missing=str(base / 'missing'))


def _cases(w):
  """(name, argv, expected status, text the line must contain)."""
  new = lambda name: f'--workdir={os.path.join(w["base"], "new_" + name)}'
  return [
      ('config typo', TRAIN + ['--config.latnet_dim=3', new('typo')], 2, 'latnet_dim'),
      ('wrong type', TRAIN + ['--config.latent_dim=abc', new('type')], 2, 'latent_dim'),
      ('impossible image size', TRAIN + ['--config.image_size=10', new('size')], 2,
       'image_size'),
      ('negative steps', TRAIN + ['--config.num_train_steps=-1', new('steps')], 2,
       'num_train_steps'),
      ('unknown config file', [*TRAIN[:2], '--config=/nonexistent/cfg.py', new('cfg')], 2,
       'config'),
      ('unknown eval features', TRAIN + ['--config.eval_every=5',
                                         '--config.eval_features=vgg', new('feat')], 2,
       'eval_features'),
      ('live eval without Inception weights', TRAIN + [
          '--config.eval_every=5', '--config.eval_features=inception',
          f'--config.eval_inception_weights={w["missing"]}.pth', new('incep')], 2,
       'pt_inception'),
      ('missing data folder', TRAIN + ['--config.dataset=folder',
                                       f'--config.data_path={w["missing"]}', new('miss')],
       2, w['missing']),
      ('empty data folder', TRAIN + ['--config.dataset=folder',
                                     f'--config.data_path={w["empty"]}', new('empty')],
       2, w['empty']),
      ('every image corrupt', TRAIN + ['--config.dataset=folder',
                                       f'--config.data_path={w["corrupt"]}', new('bad')],
       2, 'could be decoded'),
      ('zip without images', TRAIN + ['--config.dataset=folder',
                                      f'--config.data_path={w["zip"]}', new('zip')],
       2, 'zip'),
      ('wrong channel count', TRAIN + ['--config.channels=2', new('ch')], 2, 'channels'),
      ('workdir of another model', TRAIN + ['--config.model=vae', f'--workdir={w["run"]}',
                                            '--config.num_train_steps=4'],
       2, "model 'vaegan' -> 'vae'"),
      ('changed latent size', TRAIN + ['--config.latent_dim=4', f'--workdir={w["run_b"]}',
                                       '--config.num_train_steps=4'], 2, 'latent_dim 8 -> 4'),
      ('unwritable workdir', TRAIN + [f'--workdir={os.path.join(w["a_file"], "run")}'], 2,
       'workdir'),
      ('corrupt config.json', TRAIN + [f'--workdir={w["broken_config"]}',
                                       '--config.num_train_steps=4'], 2, 'config.json'),
      ('old state layout', TRAIN + [f'--workdir={w["old_layout"]}',
                                    '--config.num_train_steps=4'], 2, 'restores'),
      ('stray argument', TRAIN + ['extra', new('extra')], 2, 'extra'),
      ('sample: no workdir flag', SAMPLE + ['--out=x.png'], 2, '--workdir'),
      ('sample: missing workdir', SAMPLE + [f'--workdir={w["missing"]}', '--out=x.png'], 2,
       'does not exist'),
      ('sample: unknown step', SAMPLE + [f'--workdir={w["run"]}', '--step=7',
                                         f'--out={w["base"]}/s.png'], 2, 'step 7'),
      ('sample: --num 0', SAMPLE + [f'--workdir={w["run"]}', '--num=0',
                                    f'--out={w["base"]}/s.png'], 2, '--num'),
      ('sample: unknown mode', SAMPLE + [f'--workdir={w["run"]}', '--mode=dream',
                                         f'--out={w["base"]}/s.png'], 2, 'dream'),
      ('sample: no checkpoint', SAMPLE + [f'--workdir={w["no_ckpt"]}',
                                          f'--out={w["base"]}/s.png'], 2, 'no checkpoint'),
      ('sample: old state layout', SAMPLE + [f'--workdir={w["old_layout"]}',
                                             f'--out={w["base"]}/s.png'], 2, 'restores'),
      ('sample: unwritable out', SAMPLE + [f'--workdir={w["run"]}',
                                           f'--out={w["a_file"]}/s.png'], 2, 'cannot write'),
      ('benchmark: config typo', BENCH + ['--config.latnet_dim=3'], 2, 'latnet_dim'),
      ('benchmark: zero steps', BENCH + ['--steps=0'], 2, '--steps'),
      ('benchmark: negative synthetic', BENCH + ['--data', '--synthetic=-1'], 2,
       '--synthetic'),
      ('compare: unknown model', COMPARE + ['--models=vae,gpt', f'--out={w["base"]}/c'], 2,
       'gpt'),
      ('compare: too small', COMPARE + ['--image_size=4', f'--out={w["base"]}/c'], 2,
       'image_size'),
      ('compare: folder without path', COMPARE + ['--data=folder', f'--out={w["base"]}/c'],
       2, '--data_path'),
      ('evaluate: images not [N, H, W, C]', EVALUATE + [f'--images={w["base"]}/flat.npy',
                                                       f'--ref={w["run"]}'], 2, '[N, H, W'),
      ('evaluate: uint8 images', EVALUATE + [f'--images={w["base"]}/bytes.npy',
                                             f'--ref={w["run"]}'], 2, 'float'),
      ('evaluate: --num 1', EVALUATE + [f'--workdir={w["run"]}', '--num=1'], 2, '--num'),
      ('evaluate: unknown features', EVALUATE + [f'--workdir={w["run"]}', '--features=vgg'],
       2, 'vgg'),
      ('evaluate: no Inception weights', EVALUATE + [
          f'--workdir={w["run"]}', f'--inception_weights={w["missing"]}.pth'], 2,
       'pt_inception'),
      ('evaluate: bad reference', EVALUATE + [f'--workdir={w["run"]}', f'--ref={w["a_file"]}'],
       2, '--ref'),
  ]


def _run(case):
  name, argv, status, text = case
  try:
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=180)
  except subprocess.TimeoutExpired:  # it ran instead of refusing
    proc = subprocess.CompletedProcess(argv, None, '', 'timed out after 180 s')
  return name, proc


def test_every_bad_input_is_one_line_a_status_and_no_run_touched(world):
  cases = _cases(world)
  assert len(cases) >= 20
  runs = [world[k] for k in ('run', 'run_b', 'broken_config', 'old_layout', 'no_ckpt')]
  before = {r: _files(r) for r in runs}
  with concurrent.futures.ThreadPoolExecutor(4) as pool:
    results = dict(pool.map(_run, cases))
  failures = []
  for name, argv, status, text in cases:
    proc = results[name]
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    if proc.returncode != status or len(lines) != 1 or text not in lines[0]:
      failures.append(f'{name}: status {proc.returncode} (want {status}), stderr '
                      f'{proc.stderr[-600:]!r}')
  assert not failures, '\n'.join(failures)
  for r in runs:
    assert _files(r) == before[r], f'{r} was modified'
