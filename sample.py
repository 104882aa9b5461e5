"""Images from a trained run: `python sample.py --workdir DIR --out FILE.png [flags]`.

Reads the config and checkpoint that train.py left in --workdir (no --config needed):
  --mode=sample       --num decoded codes from --seed. --sampler=auto (default): for a
                      model with an encoder (vaegan, vae, aae) codes drawn from a
                      10-component Gaussian mixture fitted to the codes of the training
                      images (cached in WORKDIR/latent_gmm/; README "Use", "Better
                      samples"), for one without (dcgan, wgan) z ~ N(0, prior_scale^2 I);
                      --sampler=prior: always the prior (the paper's); --sampler=gmm:
                      always the mixture.
  --mode=reconstruct  the first --num data images, each beside its reconstruction
                      (models with an encoder: vaegan, vae, aae).
  --mode=interpolate  --num // 8 rows (at least 1) of 8-step paths between the encoded
                      images of a data pair (prior samples if there is no encoder).
A conditional model (--config.conditional=True) samples with --labels (a class: 7;
classes: 3,5, one grid row each; attributes: Smiling=1,Male=-1; or a file of label rows),
by default labels drawn from the training set's (classes: sorted, a run of rows each).
--step picks a checkpoint (default: the latest); --no_ema uses the raw parameters of a run
that keeps a moving average of them (config.ema_decay > 0); --save_array FILE.npy also writes the
generated images as float32 [N, H, W, C] in [-1, 1]. Errors print one line and exit 2.
"""

import os
import sys

from absl import app
from absl import flags

_HERE = os.path.dirname(os.path.abspath(__file__))
_WORKDIR = flags.DEFINE_string('workdir', None, 'A train.py workdir.')
_STEP = flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
_NUM = flags.DEFINE_integer('num', 64, 'Number of images (interpolate: num // 8 rows).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the prior samples.')
_MODE = flags.DEFINE_string('mode', 'sample', 'sample, reconstruct or interpolate.')
_SAMPLER = flags.DEFINE_string('sampler', 'auto', '--mode=sample: auto (gmm for a model '
                               'with an encoder, else prior), prior (z ~ N(0, I), the '
                               'paper\'s) or gmm (a mixture fitted to the training codes).')
_OUT = flags.DEFINE_string('out', None, 'PNG file of the image grid.')
_SAVE_ARRAY = flags.DEFINE_string('save_array', None,
                                  'Also save the generated images here (.npy).')
_LABELS = flags.DEFINE_string(
    'labels', None, 'A conditional model\'s labels for --mode=sample: a class (7), '
    'classes (3,5: one grid row each), attributes (Smiling=1,Male=-1; the others drawn '
    'from the training labels) or a .npy/text file of label rows. Default: drawn from '
    'the training set\'s labels.')
_EMA = flags.DEFINE_bool('ema', True, 'Use the averaged parameters of a run that keeps '
                         'them (config.ema_decay > 0); --no_ema: the raw ones.')


def main(argv):
  del argv
  from vaegan_jax import cli  # pylint: disable=g-import-not-at-top
  from vaegan_jax import sample_cli  # pylint: disable=g-import-not-at-top
  cli.quiet_logging()

  def sample():
    images = sample_cli.sample_main(_WORKDIR.value, _STEP.value, _NUM.value, _SEED.value,
                                    _MODE.value, _OUT.value, _SAVE_ARRAY.value,
                                    ema=_EMA.value, sampler=_SAMPLER.value,
                                    labels=_LABELS.value)
    print(f'{_MODE.value}: {len(images)} images of {images.shape[1:]} -> {_OUT.value}'
          + (f', {_SAVE_ARRAY.value}' if _SAVE_ARRAY.value else ''))

  return cli.run(sample)


if __name__ == '__main__':
  sys.path.insert(0, _HERE)
  from vaegan_jax import cli  # pylint: disable=g-import-not-at-top
  app.run(main, flags_parser=cli.parse_flags)
