"""vaegan-jax: VAE-GAN (Larsen et al., ICML 2016) and its family in JAX/Flax.

    import vaegan_jax
    config = vaegan_jax.get_config('default')   # a shipped config's name, or a path
    model = vaegan_jax.train(config, 'runs/default')
    model = vaegan_jax.load('runs/default')
    images = model.sample(64, seed=0)

See vaegan_jax/api.py. The names below load on first use, so that `import vaegan_jax`
stays cheap and a command can set XLA's flags before JAX starts.
"""

__version__ = '0.1.0'

_API = ('Model', 'get_config', 'load', 'save_grid', 'train')
__all__ = list(_API)


def __getattr__(name):
  if name in _API:
    from vaegan_jax import api  # pylint: disable=g-import-not-at-top
    return getattr(api, name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
  return sorted(list(globals()) + list(_API))
