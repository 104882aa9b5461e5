# %% [markdown]
# # vaegan-jax quickstart
#
# Train a small VAE-GAN on the 8x8 digits that ship with scikit-learn (upsampled to
# 16x16), then sample, reconstruct, interpolate and edit with the Python API. Runs on a
# laptop CPU in about a minute; open it as a notebook in Jupyter or VS Code (the
# `# %%` lines are cells) or run it with `python examples/quickstart.py`.

# %%
import matplotlib

matplotlib.use('Agg')  # no window needed; drop this line in a notebook
import matplotlib.pyplot as plt
import numpy as np

import vaegan_jax

# %% [markdown]
# ## Train (or load) a run
# `get_config` takes a shipped config's name ('default', 'mnist', 'celeba', ...) or a
# path. The default trains 3,000 steps; 400 give recognisable digits. Running the cell
# again resumes from the workdir's checkpoint instead of starting over.

# %%
config = vaegan_jax.get_config('default', num_train_steps=400, log_every=100,
                               image_every=0)
model = vaegan_jax.train(config, 'runs/quickstart')
print(model)

# %% [markdown]
# ## Sample, reconstruct, interpolate
# Arrays are float32 [N, H, W, C] in [-1, 1]. `sample` draws codes from the run's
# default sampler (for this model: a Gaussian mixture fitted to the training images'
# codes, stored in the workdir) and decodes them.

# %%
model = vaegan_jax.load('runs/quickstart')   # what a later session would do
samples = model.sample(16, seed=0)
codes = model.encode(samples)                # posterior means [16, latent_dim]
recon = model.reconstruct(samples)
path = model.interpolate(samples[0], samples[1], steps=8)
print(samples.shape, codes.shape, recon.shape, path.shape)

# %% [markdown]
# ## Edit with an attribute vector (Larsen et al. 2016, section 4.1)
# The vector of "is a 7" is the mean code of the training 7s minus that of the other
# digits; adding it to a code pushes the decoded image towards a 7.

# %%
edits = model.edit(samples[:4], '7', scale=[0.0, 1.0, 2.0, 3.0])  # [4, 4, H, W, C]
print(edits.shape)

# %% [markdown]
# ## One figure

# %%
def show(ax, image, title=None):
  ax.imshow((image[..., 0] + 1) / 2, cmap='gray', vmin=0, vmax=1)
  ax.set_axis_off()
  if title:
    ax.set_title(title, fontsize=8)


fig, axes = plt.subplots(4, 8, figsize=(8, 4.6))
for i in range(8):
  show(axes[0, i], samples[i], 'sample' if i == 0 else None)
  show(axes[1, i], recon[i], 'reconstruction' if i == 0 else None)
  show(axes[2, i], path[i], 'interpolation' if i == 0 else None)
for r in range(2):  # two images, each at scales 0 .. 3 of the 7 vector
  for s in range(4):
    show(axes[3, 4 * r + s], edits[r, s], f'"7" x {s}')
fig.tight_layout()
fig.savefig('quickstart.png', dpi=100)
print('wrote quickstart.png')
