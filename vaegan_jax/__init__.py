"""vaegan-jax: VAE-GAN (Larsen et al., ICML 2016) and its family in JAX/Flax."""

__version__ = '0.1.0'
