"""Default config: VAE-GAN on the embedded scikit-learn digits, 16x16, 1 channel.

Every field a run depends on lives here with one comment; other configs import this one
and change only what differs.

Command:
  python train.py                          # this file -> runs/default

Runtime: 3,000 steps in about 5 minutes on a 2-core CPU shared with other jobs (9-10
  steps/s, compilation 8.6 s, as the progress line prints them; docs/performance.md).

Result (measured by compare at 2,000 steps, not at this config's 3,000):
  python -m vaegan_jax.compare --image_size 16 --models vaegan --seeds 3
  FD of the default samples (the codes' mixture) 0.312 +- 0.138, of prior samples
  0.460 +- 0.153, recon MSE 0.0134 +- 0.0004, real-data floor 0.240 +- 0.095, in
  compare's digit-classifier features (docs/results.md); 616 +- 12 s per seed on one core
  of a 2-core CPU.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.model = 'vaegan'  # 'vaegan', 'vae', 'dcgan', 'wgan' or 'aae' (objectives.MODELS).
  # The fields of vaegan_jax/recipes.py's VAEGAN below are the VAE-GAN recipe that trains
  # (docs/gan_health.md); other models: `recipes.apply(c, model)`.
  c.seed = 0  # Seeds parameters, the per-step keys, the data order and the fixed z.

  # Data.
  c.dataset = 'digits'  # 'digits' (embedded), 'folder' or a tfds name ('celeb_a', 'mnist').
  c.data_dir = ''  # tfds data_dir; '' means tfds' default (~/tensorflow_datasets).
  c.data_path = ''  # dataset='folder': a folder or .zip of images (img_align_celeba.zip).
  c.split = 'train'  # 'train', 'validation' or 'test' (tfds split name for tfds sets).
  c.val_fraction = 0.0  # Folder without a partition file: seeded validation fraction.
  # Folder labels: 'auto' (list_attr_celeba.txt when it is in or beside the folder, else
  # class folders DIR/<class>/*.png), 'attributes' or 'classes' (a folder with both).
  c.folder_labels = 'auto'
  c.data_workers = 2  # Threads preparing batches ahead of the train step.
  # Decoded cache (vaegan_jax/data_cache.py): a folder, 'auto' (WORKDIR/data_cache) or ''
  # (off, the default: it costs disk, 2.5 GB for CelebA at 64x64). Decoding, crop, blur,
  # resize run once into a memory-mapped uint8 array; same batches, bit for bit.
  c.data_cache = ''
  c.image_size = 16  # Height = width of the model's images.
  c.channels = 1  # Image channels the networks read and write.
  c.crop = 'center_square'  # 'celeba' (authors), 'center108', 'center_square' or 'none'.
  c.random_flip = False  # Random horizontal flip of training images.

  # Networks (the authors' architectures, scaled by the widths). Widths are per layer; every conv is kernel_size x kernel_size.
  c.kernel_size = 5
  c.latent_dim = 16  # Size of z (16 gives better prior samples than 32 on digits).
  c.enc_widths = (32, 64)  # Encoder convs, stride 2 each.
  c.enc_dense = 256  # Encoder dense width (paper 2048, authors' code 1024).
  c.dec_dense_channels = 64  # Channels of the decoder's first (dense) feature map.
  c.dec_widths = (64, 32)  # Decoder stride-2 transposed convs; sets the start size.
  c.dec_upsample = 'transpose'  # x2 steps: 'transpose' convs, or 'nearest' resize + conv (Odena et al. 2016).
  c.dis_widths = (16, 32, 64)  # Discriminator convs.
  c.dis_strides = (1, 2, 2)  # Their strides (the first has no BatchNorm).
  c.dis_dense = 128  # Discriminator dense width before the logit.
  c.dis_feature_layer = 3  # l: 1-based conv whose pre-BN output is Dis_l.
  c.bn_momentum = 0.9  # running = momentum * running + (1 - momentum) * batch.
  c.dis_batch_norm = 'per_source'  # Dis BatchNorm per source (DCGAN), over [x; x_rec; x_p] ('joint', authors) or 'none'.
  c.dis_leak = 0.2  # Negative slope of the discriminator's leaky ReLUs (DCGAN 0.2; authors 0 = ReLU).
  c.dis_blur = False  # Blur [1,2,1]/4 before each strided discriminator conv (anti-aliasing).
  c.latent_dis_widths = (256, 256)  # aae: hidden widths of the discriminator on codes.
  c.init = 'dcgan'  # Weights: 'dcgan' (N(0, 0.02)) or 'default' (flax LeCun normal, authors).
  # 'auto': the exact XLA:CPU rewrites on CPU, the plain flax layers (cuDNN, TPU) elsewhere;
  # 'rewrite' or 'flax' force one. Same parameters either way (vaegan_jax/layers.py).
  c.layers = 'auto'
  # 'bfloat16': activations and convolutions in bf16; parameters, optimizer states,
  # BatchNorm statistics and every loss in float32.
  c.compute_dtype = 'float32'

  # Objective (Larsen et al. 2016, sections 2-3). Decoder loss = llike_weight * L_llike + gan_weight * L_gen.
  c.decoder_llike_weight = 1.0  # gamma (paper) or w (authors: 1e-6, with gan 1 - w).
  # Weight of the decoder's GAN term: 1 on grey digits, 2 in the colour configs (the
  # data's, not the recipe's: recipes.py).
  c.decoder_gan_weight = 1.0
  # 'fixed': the weights above; 'adaptive': the GAN term's weight is decoder_gan_weight
  # times |grad L_llike| / |grad L_gen| at the decoder's output (VQGAN, Esser et al. 2021).
  c.decoder_gan_balance = 'adaptive'
  # Weight of a pixel-wise term (pixel_likelihood, as the VAE's) added to L_llike in the
  # encoder's and decoder's losses; 0 in the paper (CVAE-GAN, VQGAN use one).
  c.pixel_llike_weight = 0.75
  # 'features': the weight above is per element, scaled by |Dis_l| / |x| (3 on grey
  # digits, 1 on 32x32 and 64x64 colour; objectives.pixel_weight); 'none': as given.
  c.pixel_llike_scale = 'features'
  c.gan_generator_loss = 'non_saturating'  # 'saturating' (paper) or 'non_saturating'.
  c.gan_include_recon = False  # Discriminate x_rec as fake too (paper True, authors False).
  c.gan_real_weight = 1.0  # Weight of -log D(x) in L_GAN (authors 0.5).
  c.gan_fake_weight = 1.0  # Weight of each -log(1 - D(.)) term in L_GAN (authors 0.5).
  c.use_equilibrium = False  # Authors' rule: skip the update of the side that is winning.
  c.equilibrium = 0.68
  c.margin = 0.35
  c.prior_scale = 1.0  # z_p ~ N(0, prior_scale^2 I) (1 for models with a KL term).
  # beta: weight of L_prior (the KL) in the encoder's loss (vaegan, vae); 1 in the paper
  # and the ELBO, > 1 as beta-VAE (Higgins et al., ICLR 2017).
  c.prior_weight = 1.0

  # Labels (vaegan_jax/labels.py; docs/models.md, "Labels"): classes become one-hot vectors y,
  # attributes (CelebA) +/-1 vectors. Both switches read the data set's labels.
  # vaegan, vae: y joins z and the encoder's and discriminator's dense inputs (paper 4.2).
  c.conditional = False
  c.attributes = ()  # Attribute labels: the names y holds, in order; () = all of them.
  c.aux_weight = 0.0  # vaegan: lambda of a discriminator head predicting y (+ lambda L_aux).
  c.labeled_fraction = 1.0  # Labels kept for this seeded fraction of the training set.
  c.label_kind = ''  # Set by train.py from the data: 'classes' or 'attributes'.
  c.label_names = ()  # Set by train.py: what each entry of y is (kept in config.json).

  # Other models (vae, dcgan, wgan, aae). Pixel likelihood of vae and aae reconstructions:
  c.pixel_likelihood = 'bernoulli'  # 'bernoulli' (BCE) or 'gaussian' (squared error).
  c.pixel_sigma = 1.0  # 'gaussian': standard deviation of the pixel noise.
  c.aae_adversarial_weight = 1.0  # aae: weight of the encoder's generator loss.
  c.critic_steps = 1  # Discriminator updates per step before the others; 0 = together.
  c.critic_loop = 'auto'  # 'fori' (lax.fori_loop), 'unrolled', 'auto' (unrolled on CPU).
  c.dis_weight_clip = 0.0  # Clip discriminator params to [-c, c] after updates (WGAN).
  # R1 (Mescheder et al. 2018): gamma / 2 * E ||grad_x logit(x)||^2 on real images added
  # to the discriminator's loss (dcgan and vaegan); 0 = off.
  c.dis_r1_weight = 0.0
  # DiffAugment (Zhao et al. 2020; vaegan_jax/augment.py): a comma-separated subset of
  # 'color,translation,cutout' applied to every image the discriminator sees, real and
  # generated, in every update (vaegan, dcgan); '' = off.
  c.dis_augment = ''
  # vaegan with dis_augment: the feature term compares Dis_l(T(x_rec)) with Dis_l(T(x))
  # ('augmented', the same T on both) or Dis_l of the images as they are ('clean': one
  # more discriminator pass over x and x_rec).
  c.dis_augment_features = 'augmented'

  # Optimisation (RMSProp in the paper): one optimizer per role.
  c.batch_size = 64  # Per update; a step with critic_steps = k >= 1 reads k batches.
  c.num_train_steps = 3000
  c.optimizer = 'adam'  # 'adam' (DCGAN) or 'rmsprop' (the paper's, WGAN).
  c.learning_rate = 2e-4
  c.rmsprop_decay = 0.9
  c.rmsprop_eps = 1e-8
  c.adam_b1 = 0.5
  c.adam_b2 = 0.999
  c.lr_schedule = 'constant'  # 'constant', 'linear' or 'cosine' decay over the run.
  c.lr_end_factor = 0.0  # Final lr / initial lr for 'linear' and 'cosine'.
  c.weight_decay = 0.0  # Decoupled weight decay (authors' code 1e-5).
  c.grad_clip_norm = 0.0  # Clip each role's gradient to this global norm; 0 = off.
  # Exponential moving average of the encoder's and decoder's parameters, kept in the
  # train state with the averaged networks' own BatchNorm statistics (one more forward
  # pass per step) and used for samples and reconstructions (sample.py --no_ema: the raw
  # ones); 0 = off. Decay min(ema_decay, (1 + t) / (10 + t)) at step t (TF's EMA warm-up).
  c.ema_decay = 0.0

  # Devices: data parallelism over every device of every process (docs/performance.md).
  # 'jit': one jit program over a device mesh, the batch sharded, the state replicated;
  # 'pmap': jax.pmap over the local devices (the same results).
  c.parallel = 'jit'
  c.distributed = False  # Call jax.distributed.initialize() (auto-detects pods, SLURM).

  # Logging, images, checkpoints.
  c.log_every = 100  # Steps between progress lines and TensorBoard scalars.
  c.image_every = 500  # Steps between sample / reconstruction grids (0 = only at the end).
  c.checkpoint_every = 1000  # Steps between checkpoints (the last step is always saved).
  c.max_to_keep = 3  # Checkpoints kept.
  c.num_images = 64  # Images per grid (a square number looks best).
  # What the VAE-GAN's samples come from in sample.py, evaluate and compare's "auto"
  # column: 'gmm' (the codes' mixture), 'prior', or 'channels': the mixture for grey
  # images (lower FD than the prior on real MNIST, 0.229 against 0.430, every seed;
  # docs/results.md), the prior for colour ones (lower than the mixture on 32x32 photograph
  # patches, 1.22 against 3.33, every seed; the mixture's are smooth blobs there;
  # docs/colour.md). The VAE and the AAE always use the mixture (sample_cli.auto_sampler).
  c.auto_sampler = 'channels'

  # Live evaluation (vaegan_jax/live_eval.py): FD/KID of eval_num prior samples against
  # eval_num held-out images every eval_every steps and at the end; 0 = off.
  c.eval_every = 0
  c.eval_num = 1000
  # 'classifier' (offline: compare's classifier of a colour folder's class folders, else
  # the digit classifier; grayscale) or 'inception' (pytorch-fid).
  c.eval_features = 'classifier'
  c.eval_inception_weights = ''  # pytorch-fid's .pth or .npz; '' = its cache.
  return c
