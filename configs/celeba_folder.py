"""configs/celeba.py reading img_align_celeba.zip (or its extracted folder) directly.

list_attr_celeba.txt and list_eval_partition.txt are used when they sit beside the zip
or folder (or inside the zip).

Command:
  python train.py --config configs/celeba_folder.py \
      --config.data_path=PATH/img_align_celeba.zip

Runtime: as configs/celeba.py (not measured as a run).

Result: never trained.
"""

from vaegan_jax.configs import celeba


def get_config():
  c = celeba.get_config()
  c.dataset = 'folder'
  c.data_path = 'img_align_celeba.zip'
  return c
