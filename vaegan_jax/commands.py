"""The installed commands (pyproject.toml [project.scripts]), one function each.

  vaegan-train       python train.py
  vaegan-sample      python sample.py
  vaegan-evaluate    python -m vaegan_jax.evaluate
  vaegan-compare     python -m vaegan_jax.compare
  vaegan-attributes  python -m vaegan_jax.attributes
  vaegan-benchmark   python -m vaegan_jax.benchmark

Each takes the flags of sys.argv, prints a bad input as one line and exits with the
status the robustness docs give (2 for bad input). A `--config` takes a config file's
path or a shipped config's name (`--config celeba`, `--config=mnist`; see
vaegan_jax/config_files.py). Nothing here imports JAX before a command has set the
XLA flags it wants.
"""

from __future__ import annotations

import os
import sys


def _run(main, doc: str | None, modules=(__name__,)) -> None:
  """app.run(main) with the commands' flag parsing. --help prints `doc` and the flags
  that `modules` (and cli: --config) define: absl shows the __main__ module's, and the
  installed script defines none and has no docstring."""
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  from vaegan_jax import cli  # pylint: disable=g-import-not-at-top
  script = sys.modules.get('__main__')
  if script is not None and doc:
    script.__doc__ = doc
  for module in (*modules, cli.__name__):
    for flag in flags.FLAGS.get_key_flags_for_module(module):
      flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  app.run(main, flags_parser=cli.parse_flags)


def _no_arguments(argv) -> None:
  if len(argv) > 1:
    print(f'error: unexpected arguments {argv[1:]}; flags look like --name=value',
          file=sys.stderr)
    sys.exit(2)


def train() -> None:
  """Train a model: `vaegan-train [--config NAME|FILE] [--workdir DIR] [--config.f=v]`
(from a checkout also `python train.py ...`).

--config is a config file or the name of a shipped one (default, tiny, celeba, mnist,
...: vaegan_jax/configs/, the repository's configs/). With no flags it trains VAE-GAN on
the embedded digits (the default config) in runs/default; the default workdir is
runs/<config name>. Re-running the same command resumes from the latest checkpoint.
"""
  from vaegan_jax import xla_flags  # pylint: disable=g-import-not-at-top
  xla_flags.set_cpu_flags()  # before JAX starts its backend

  from absl import flags  # pylint: disable=g-import-not-at-top
  from vaegan_jax import api  # pylint: disable=g-import-not-at-top
  from vaegan_jax import cli  # pylint: disable=g-import-not-at-top
  from vaegan_jax import config_files  # pylint: disable=g-import-not-at-top

  config_flag = cli.define_config_flag(config_files.shipped('default'))
  workdir_flag = flags.DEFINE_string(
      'workdir', None, 'Checkpoints, config, images and TensorBoard logs go here '
      '(default: runs/<config file name>).')

  def main(argv):
    _no_arguments(argv)
    cli.quiet_logging()
    config = cli.config_value(config_flag)
    config_path = flags.FLAGS['config'].config_filename
    workdir = workdir_flag.value or os.path.join(
        'runs', os.path.splitext(os.path.basename(config_path))[0])
    return cli.run(lambda: api.train(config, workdir))  # vaegan_jax.train

  _run(main, train.__doc__)


def sample() -> None:
  """Images from a trained run: `vaegan-sample --workdir DIR --out FILE.png [flags]`
(from a checkout also `python sample.py ...`).

Reads the config and checkpoint that training left in --workdir (no --config needed):
  --mode=sample       --num decoded codes from --seed. --sampler=auto (default): for a
                      model with an encoder (vaegan, vae, aae) codes drawn from a
                      10-component Gaussian mixture fitted to the codes of the training
                      images (stored in WORKDIR/latent_gmm/ with each checkpoint;
                      docs/gan_health.md), for one without (dcgan, wgan) z ~ N(0, prior_scale^2 I);
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
  from absl import flags  # pylint: disable=g-import-not-at-top

  workdir = flags.DEFINE_string('workdir', None, 'A train.py workdir.')
  step = flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  num = flags.DEFINE_integer('num', 64, 'Number of images (interpolate: num // 8 rows).')
  seed = flags.DEFINE_integer('seed', 0, 'Seed of the prior samples.')
  mode = flags.DEFINE_string('mode', 'sample', 'sample, reconstruct or interpolate.')
  sampler = flags.DEFINE_string(
      'sampler', 'auto', '--mode=sample: auto (gmm for a model with an encoder, else '
      'prior), prior (z ~ N(0, I), the paper\'s) or gmm (a mixture fitted to the '
      'training codes).')
  out = flags.DEFINE_string('out', None, 'PNG file of the image grid.')
  save_array = flags.DEFINE_string('save_array', None,
                                   'Also save the generated images here (.npy).')
  labels = flags.DEFINE_string(
      'labels', None, 'A conditional model\'s labels for --mode=sample: a class (7), '
      'classes (3,5: one grid row each), attributes (Smiling=1,Male=-1; the others drawn '
      'from the training labels) or a .npy/text file of label rows. Default: drawn from '
      'the training set\'s labels.')
  ema = flags.DEFINE_bool('ema', True, 'Use the averaged parameters of a run that keeps '
                          'them (config.ema_decay > 0); --no_ema: the raw ones.')

  def main(argv):
    del argv
    from vaegan_jax import cli  # pylint: disable=g-import-not-at-top
    from vaegan_jax import sample_cli  # pylint: disable=g-import-not-at-top
    cli.quiet_logging()

    def run():
      images = sample_cli.sample_main(workdir.value, step.value, num.value, seed.value,
                                      mode.value, out.value, save_array.value,
                                      ema=ema.value, sampler=sampler.value,
                                      labels=labels.value)
      print(f'{mode.value}: {len(images)} images of {images.shape[1:]} -> {out.value}'
            + (f', {save_array.value}' if save_array.value else ''))

    return cli.run(run)

  _run(main, sample.__doc__)


def _module_command(name: str) -> None:
  """`python -m vaegan_jax.<name>`: the module's _define_flags() and main()."""
  import importlib  # pylint: disable=g-import-not-at-top
  module = importlib.import_module(f'vaegan_jax.{name}')
  module._define_flags()  # pylint: disable=protected-access
  _run(module.main, module.__doc__, (module.__name__,))


def evaluate() -> None:
  """vaegan-evaluate: FID and KID of generated images (python -m vaegan_jax.evaluate)."""
  _module_command('evaluate')


def compare() -> None:
  """vaegan-compare: trains and scores the family alike (python -m vaegan_jax.compare)."""
  _module_command('compare')


def attributes() -> None:
  """vaegan-attributes: visual attribute vectors (python -m vaegan_jax.attributes)."""
  _module_command('attributes')


def benchmark() -> None:
  """vaegan-benchmark: times the train step (python -m vaegan_jax.benchmark)."""
  from vaegan_jax import benchmark as module  # pylint: disable=g-import-not-at-top
  _run(module.main, module.__doc__, (module.__name__,))  # flags defined on import
