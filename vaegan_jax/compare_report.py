"""compare's outputs: samples.png (a row of images per model) and the markdown tables
of results.md, from the results that vaegan_jax.compare returns."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from vaegan_jax import classifier
from vaegan_jax import latent_density
from vaegan_jax import sampling
from vaegan_jax.scoring import BLUR_SIGMA
from vaegan_jax.scoring import CLASS_SHARE

SAMPLES_PER_ROW = 16  # images per row of samples.png
FIGURE_SCALE = 4  # nearest-neighbour upscaling of 16x16 images in samples.png
LABEL_WIDTH = 110  # pixels at the left of each row of samples.png for its name


def _font(size: int = 14):
  try:
    return ImageFont.load_default(size=size)
  except TypeError:  # Pillow < 10.1: the fixed-size bitmap font
    return ImageFont.load_default()


def write_figure(rows: Sequence[tuple[str, np.ndarray | None]], path: str) -> None:
  """One row of SAMPLES_PER_ROW images per (name, images [n, H, W, C] or None), C = 1
  (grey) or 3 (colour).

  The first row must have images; a None row (a diverged model) is left white.
  """
  shape = next(images for _, images in rows if images is not None).shape[1:]
  tiles = []
  for _, images in rows:
    if images is None:
      images = np.ones((SAMPLES_PER_ROW,) + shape, np.float32)
    tiles.append(sampling.grid(images[:SAMPLES_PER_ROW], cols=SAMPLES_PER_ROW))
  scale = max(1, round(FIGURE_SCALE * 16 / shape[0]))
  h, w = (scale * s for s in tiles[0].shape[:2])
  colour = shape[-1] == 3
  fig = Image.new('RGB' if colour else 'L', (LABEL_WIDTH + w, h * len(rows)),
                  (255, 255, 255) if colour else 255)
  draw, font = ImageDraw.Draw(fig), _font()
  for i, ((name, _), tile) in enumerate(zip(rows, tiles)):
    fig.paste(Image.fromarray(tile if colour else tile[..., 0]).resize((w, h),
                                                                        Image.NEAREST),
              (LABEL_WIDTH, i * h))
    top, bottom = draw.textbbox((0, 0), name, font=font)[1::2]
    draw.text((6, i * h + (h - (bottom - top)) // 2 - top), name,
              fill=(0, 0, 0) if colour else 0, font=font)
  fig.save(path)


def fmt(value, spec: str) -> str:
  """`value` in `spec`, or '—' for None."""
  return '—' if value is None else format(value, spec)


def _mean_sd(values: Sequence[float | None], spec: str) -> str:
  """'mean ± sd' of the values that are not None ('—' if none; one value: itself)."""
  v = [x for x in values if x is not None]
  if not v:
    return '—'
  if len(v) == 1:
    return format(v[0], spec)
  return f'{np.mean(v):{spec}} ± {np.std(v, ddof=1):{spec}}'


def _choices(runs) -> str:
  """'prior 2, gmm 1': the auto sampler's choice over the runs."""
  got = [x['auto_sampler'] for x in runs if x.get('auto_sampler')]
  return ', '.join(f'{k} {got.count(k)}' for k in dict.fromkeys(sorted(got))) or '—'


def results_table(results: dict) -> str:
  """The markdown table of a compare() result: per model, mean ± sd over the seeds."""
  n = len(results['seeds'])
  lines = ['| model | seeds | FD | FD, codes\' GMM | KID | classes | recon MSE | recon FD | '
           'D updated (2nd half) | lowest FD | lowest FD, GMM | FD, auto sampler | '
           'lowest FD, auto | train time (s) |',
           '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
  for name, r in results['models'].items():
    runs = r['runs']
    ok = [x for x in runs if not x['diverged']]
    diverged = f' ({n - len(ok)} diverged)' if len(ok) < n else ''
    col = lambda k, spec: _mean_sd([x[k] for x in ok], spec)
    lines.append(
        f'| {name} | {len(ok)}/{n}{diverged} | {col("fd", ".4g")} | '
        f'{col("fd_gmm", ".4g")} | {col("kid", ".4g")} | '
        f'{col("classes", ".1f")} | {col("recon_mse", ".4f")} | {col("recon_fd", ".4g")} | '
        f'{col("dis_updated", ".2f")} | {r["lowest_fd"]}/{n} | {r["lowest_fd_gmm"]}/{n} | '
        f'{col("fd_auto", ".4g")} ({_choices(ok)}) | {r["lowest_fd_auto"]}/{n} | '
        f'{_mean_sd([x["train_time_s"] for x in runs], ".0f")} |')
  floor = results['data_floor']
  lines.append(f'| real data ({floor["num_images"]} train images) | {n} | '
               f'{_mean_sd(floor["fd"], ".4g")} | — | {_mean_sd(floor["kid"], ".4g")} | '
               '— | — | — | — | — | — | — | — | — |')
  lines.append(f'| real data, blurred (sigma {BLUR_SIGMA:g} px) | {n} | '
               f'{_mean_sd(floor["fd_blurred"], ".4g")} | — | — | — | — | — | — | — | — '
               '| — | — | — |')
  return '\n'.join(lines)


def config_label(config: str) -> str:
  """`colour` -> `configs/colour.py`; a config given as a file path stays as given."""
  return config if config.endswith('.py') else f'configs/{config}.py'


def markdown(results: dict) -> str:
  """results.md: the title, the protocol, the table and what each column means."""
  models = results['models']
  batches = ', '.join(f'{m} {r["batch_size"]}' for m, r in models.items())
  size = results['image_size']
  seeds = ', '.join(map(str, results['seeds']))
  return '\n'.join([
      f'# The family on {results["data_name"]}, {size}x{size}'
      f'{"x3" if results["channels"] == 3 else ""}, {results["steps"]} steps '
      f'each, seeds {seeds}',
      '',
      f'Every model trained on the {results["train_examples"]} training images '
      f'(batch size {batches}; networks of `{config_label(results["config"])}`, each '
      'model its own recipe) '
      f'and scored on the {results["heldout_examples"]} held-out images. Per seed: '
      'another split, classifier, initialisation and stream of batches. Cells are mean '
      '± standard deviation over the seeds.',
      '',
      results_table(results),
      '',
      (f'Feature space: a small CNN classifier trained for {results["classifier_steps"]} '
       f'steps on the training images (held-out accuracy '
       f'{_mean_sd(results["classifier_accuracy"], ".3f")}); its {classifier.FEATURE_DIM} '
       'penultimate activations, scaled once to unit root mean square on the held-out '
       'images, are the features.') if results.get('features', 'classifier') == 'classifier'
      else ('Feature space: pytorch-fid\'s InceptionV3 (pool3, 2048 features; grayscale '
            'repeated to 3 channels), as FID papers; the classes column uses a small CNN '
            f'classifier (held-out accuracy {_mean_sd(results["classifier_accuracy"], ".3f")}'
            ').'),
      '',
      f'- **FD**: Frechet distance between Gaussians fitted to the features of '
      f'{results["num_samples"]} prior samples (z = prior_scale * N(0, I)) and of the '
      'held-out images. Lower is better; the real-data row (training images against '
      'held-out images, as many as there are samples) is what a perfect generator '
      'would score; the blurred row, the same images after a Gaussian blur of '
      f'{BLUR_SIGMA:g} pixel, what images without fine detail score.',
      f'- **FD, codes\' GMM** (models with an encoder): the same FD for '
      f'{results["num_samples"]} decoded codes drawn from a {latent_density.COMPONENTS}-'
      'component Gaussian mixture fitted to the posterior means of the training images '
      '(ex-post density estimation, Ghosh et al. 2020; `sample.py --sampler=gmm`).',
      '- **KID**: unbiased squared MMD with the kernel (a.b / d + 1)^3 in the same '
      'features; 0 in expectation for a perfect generator.',
      f'- **classes**: classes the classifier finds in more than {CLASS_SHARE:.0%} of '
      'the samples.',
      '- **recon MSE**: mean squared error per pixel (images in [-1, 1]) of the decoded '
      'posterior means of the held-out images; — for models without an encoder. '
      '**recon FD**: the FD of those reconstructions against the held-out images '
      '(blur raises it, as in the blurred row; a pixel error does not see sharpness).',
      '- **D updated**: fraction of the second half\'s steps on which the discriminator '
      'was updated (— where nothing can skip it).',
      '- **lowest FD**: on how many seeds the model had the lowest FD of all; **lowest '
      'FD, GMM**: the same with the mixture\'s FD for the models that have one.',
      '- **FD, auto sampler**: the FD of what `sample.py` draws by default (the '
      'config\'s `auto_sampler`, in brackets, for a model with an encoder; the prior for '
      'one without), and on how many seeds it was the lowest.',
      '- **train time**: wall time of training, compilation included.',
      '',
  ])
