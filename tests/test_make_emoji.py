"""scripts/make_emoji.py on a fake npm tarball: images on white, class folders, the
attributes and a split by base emoji; the folder source reads what it writes."""

import io
import json
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from configs import tiny
from scripts import make_emoji
from vaegan_jax import input_pipeline

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Five emoji: a smiley, a man with two skin-tone variants, a two-person emoji with a
# mixed-tone variant, a snowman (no MAN word) and a skin-tone swatch (left out).
EMOJI = [
    dict(name='GRINNING FACE', unified='1F600', image='1f600.png',
         category='Smileys & Emotion'),
    dict(name='MAN RUNNING', unified='1F3C3-200D-2642', image='man.png',
         category='People & Body',
         skin_variations={'1F3FB': dict(image='man-1f3fb.png', has_img_google=True),
                          '1F3FF': dict(image='man-1f3ff.png', has_img_google=True)}),
    dict(name='WOMAN AND MAN HOLDING HANDS', unified='1F46B', image='couple.png',
         category='People & Body',
         skin_variations={'1F3FC-1F3FE': dict(image='couple-mix.png',
                                              has_img_google=True)}),
    dict(name='SNOWMAN', unified='2603', image='2603.png', category='Travel & Places'),
    dict(name='EMOJI MODIFIER FITZPATRICK TYPE-1-2', unified='1F3FB', image='1f3fb.png',
         category='Component'),
]


def _tarball(folder, vendor='google'):
  path = os.path.join(folder, f'emoji-datasource-{vendor}-16.0.0.tgz')
  with tarfile.open(path, 'w:gz') as tar:
    def add(name, data):
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
    entries = [dict(e, **{f'has_img_{vendor}': True}) for e in EMOJI]
    add('package/emoji.json', json.dumps(entries).encode())
    files = [e['image'] for e in EMOJI] + [
        v['image'] for e in EMOJI for v in e.get('skin_variations', {}).values()]
    for i, name in enumerate(files):
      rgba = np.zeros((64, 64, 4), np.uint8)  # transparent ...
      rgba[16:48, 16:48] = (10 * i, 100, 200, 255)  # ... around an opaque square
      buf = io.BytesIO()
      Image.fromarray(rgba, 'RGBA').save(buf, format='PNG')
      add(f'package/img/{vendor}/64/{name}', buf.getvalue())
  return path


def _attributes(out):
  lines = open(os.path.join(out, 'list_attr_celeba.txt')).read().splitlines()
  names = lines[1].split()
  return names, {p[0]: dict(zip(names, map(int, p[1:])))
                 for p in (line.split() for line in lines[2:])}


def test_writes_images_on_white_in_category_folders_with_celeba_attributes(tmp_path):
  _tarball(str(tmp_path))
  out = str(tmp_path / 'emoji')
  counts = make_emoji.make(out, size=32, vendors=('google',), packages=str(tmp_path),
                           holdout=0.25, log=lambda *_: None)
  assert counts['images'] == 7  # 5 emoji - 1 swatch + 3 skin-tone variants
  names, attrs = _attributes(out)
  assert tuple(names) == make_emoji.ATTRIBUTES
  assert set(os.listdir(out)) == {'Smileys', 'People', 'Travel', 'list_attr_celeba.txt',
                                  'list_eval_partition.txt'}
  img = np.asarray(Image.open(os.path.join(out, 'People', 'google_man-1f3ff.png')))
  assert img.shape == (32, 32, 3)
  np.testing.assert_array_equal(img[0, 0], 255)  # the transparent border is white
  a = attrs['google_man-1f3ff.png']
  assert a['Dark_Skin'] == 1 and a['Light_Skin'] == -1 and a['Man'] == 1
  assert a['Woman'] == -1 and a['People'] == 1 and a['Smileys'] == -1
  base = attrs['google_man.png']  # the yellow default has no skin tone
  assert all(base[t] == -1 for t in make_emoji.SKIN_TONES.values())
  mixed = attrs['google_couple-mix.png']
  assert mixed['Medium_Light_Skin'] == mixed['Medium_Dark_Skin'] == 1
  assert mixed['Man'] == mixed['Woman'] == 1 and mixed['Medium_Skin'] == -1
  assert attrs['google_2603.png']['Man'] == -1  # SNOWMAN is not MAN
  assert attrs['google_1f600.png']['Smileys'] == 1
  # Every image of one emoji (its skin tones) is in the same split.
  part = dict(line.split() for line in open(os.path.join(out, 'list_eval_partition.txt')))
  assert part['google_man.png'] == part['google_man-1f3fb.png'] == part[
      'google_man-1f3ff.png']
  assert sorted(set(part.values())) == ['0', '1', '2']  # 4 emoji, 1 held out each way


def test_the_folder_source_reads_attributes_classes_and_the_split(tmp_path):
  _tarball(str(tmp_path))
  out = str(tmp_path / 'emoji')
  make_emoji.make(out, size=16, vendors=('google',), packages=str(tmp_path), holdout=0.25,
                  log=lambda *_: None)
  config = tiny.get_config()
  config.update(dataset='folder', data_path=out, channels=3, crop='none', image_size=16)
  part = dict(line.split() for line in open(os.path.join(out, 'list_eval_partition.txt')))
  total = 0
  for split, code in (('train', '0'), ('validation', '1'), ('test', '2')):
    config.split = split
    ds = input_pipeline.load(config)
    assert ds.num_examples == sum(v == code for v in part.values())
    assert ds.label_names == make_emoji.ATTRIBUTES
    total += ds.num_examples
  assert total == 7
  config.update(split='train', folder_labels='classes')
  ds = input_pipeline.load(config)
  assert ds.classes == ('People', 'Smileys', 'Travel')


def test_refuses_unlicensed_vendors_and_says_how_to_get_a_tarball(tmp_path):
  with pytest.raises(SystemExit, match='not freely licensed'):
    make_emoji.make(str(tmp_path / 'o'), vendors=('apple',), packages=str(tmp_path))
  proc = subprocess.run([sys.executable, 'scripts/make_emoji.py', '--out',
                         str(tmp_path / 'o'), '--packages', str(tmp_path)], cwd=REPO,
                        capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode != 0
  assert proc.stderr.strip().splitlines() == [
      f'error: no emoji-datasource-google-*.tgz in {tmp_path}: run `npm pack '
      'emoji-datasource-google@16.0.0` there (or pass --packages DIR)']
