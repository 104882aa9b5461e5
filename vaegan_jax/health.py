"""GAN health: warnings a user can act on when adversarial training has stalled.

The trainer feeds each logging window's mean metrics to `GanHealth.check`, which returns
one-line warnings (usually none). Two conditions, each held for `patience` consecutive
windows before it is reported, and reported once until it clears:

- the discriminator was skipped (by the equilibrium rule) on more than
  `max_skipped` of the window's steps: it has stopped learning, and the decoder is
  training against a frozen network;
- the mean D(x_p) of the prior samples stayed below `min_d_fake`: the discriminator
  wins outright and the generator's gradient is all it gets from it.

Both point to the docs page that explains causes and remedies.
"""

from __future__ import annotations

import dataclasses

DOCS_PAGE = 'docs/gan_health.md'


@dataclasses.dataclass
class GanHealth:
  """Counts consecutive unhealthy windows per condition; see the module docstring.

  Attributes:
    patience: consecutive windows a condition must hold before the warning.
    max_skipped: fraction of skipped discriminator updates above which a window counts.
    min_d_fake: mean D(x_p) below which a window counts.
  """

  patience: int = 3
  max_skipped: float = 0.95
  min_d_fake: float = 0.05
  _streak: dict = dataclasses.field(default_factory=dict)

  def _condition(self, name: str, holds: bool) -> bool:
    """True exactly when `name` has held for `patience` windows in a row."""
    n = self._streak.get(name, 0) + 1 if holds else 0
    self._streak[name] = n
    return n == self.patience

  def check(self, step: int, means: dict) -> list[str]:
    """Warnings for the window ending at `step`, from its mean metrics.

    Args:
      step: the last step of the window.
      means: window means; reads 'updated/discriminator' and 'D/x_p' when present
        (models without them are never warned about).
    Returns:
      One line per condition that has just reached `patience` windows.
    """
    warnings = []
    updated = means.get('updated/discriminator')
    if self._condition('skipped', updated is not None and
                       1.0 - updated > self.max_skipped):
      warnings.append(
          f'warning: the discriminator was skipped on {1.0 - updated:.0%} of the steps '
          f'of the last {self.patience} logging windows (step {step}): it has stopped '
          'learning and the decoder trains against a frozen network. See '
          f'{DOCS_PAGE}.')
    d_fake = means.get('D/x_p')
    if self._condition('d_fake', d_fake is not None and d_fake < self.min_d_fake):
      warnings.append(
          f'warning: D(x_p) = {d_fake:.3f} < {self.min_d_fake} for {self.patience} '
          f'logging windows (step {step}): the discriminator wins outright and the '
          f'samples are easy to tell from data. See {DOCS_PAGE}.')
    return warnings
