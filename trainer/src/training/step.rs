//! One training iteration: a discriminator (critic) update, then a generator update —
//! every iteration for BCE and Pix2Pix, every `critic_steps`-th for WGAN-GP. The
//! [`Objective`] is dispatched in one place, [`GanState::step`].
//!
//! The same step code runs on one device and on each data-parallel replica
//! ([`super::parallel`]): a replica trains on its slice of the batch ([`BatchSlice`]) and
//! hands its gradients to an [`Updater`] instead of an optimiser.

use super::config::{Objective, TermsCombined, TrainingConfig};
use crate::latent::{self, Stream};
use crate::model::init::initialize;
use crate::model::{
    Discriminator, FeedError, GanSpec, Generator, GeneratorFeed, GeneratorInput, downsample_mean,
};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::{Int, TensorData};

/// What one iteration measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    pub loss_d: f32,
    pub loss_g: f32,
    /// Mean D(x): the discriminator's probability that real images are real (WGAN-GP: the
    /// critic's mean score).
    pub d_real: f32,
    /// Mean D(G(z)): its probability that generated images are real, before its update
    /// (WGAN-GP: the mean score; D(x) − D(G(z)) estimates the Wasserstein distance).
    pub d_fake: f32,
    /// The fraction of the generated batch's values at ±1 (|v| ≥ 0.999): near 1 when the
    /// generator has collapsed onto its output activation's limits.
    pub saturated: f32,
}

/// A step's five figures still on the device: reading them back is a device sync (on a GPU
/// it waits for every queued kernel), so the loop gathers a few dozen steps' worth and reads
/// them in one go ([`PendingStats::read_all`], every `log_every` steps and before every
/// checkpoint).
#[derive(Debug, Clone)]
pub struct PendingStats(Tensor<1>);

impl PendingStats {
    /// This step's figures alone (one sync).
    pub fn read(self) -> StepStats {
        Self::read_all(vec![self])
            .pop()
            .expect("one step, one set of figures")
    }

    /// The sum of two replicas' (weighted) figures, on `device`: the whole batch's figures.
    pub fn plus(self, other: Self, device: &Device) -> Self {
        Self(self.0.to_device(device) + other.0.to_device(device))
    }

    /// Several steps' figures, in order, with one read back.
    pub fn read_all(pending: Vec<Self>) -> Vec<StepStats> {
        if pending.is_empty() {
            return Vec::new();
        }
        let values = Tensor::cat(pending.into_iter().map(|p| p.0).collect(), 0)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 figures");
        values
            .chunks_exact(5)
            .map(|v| StepStats {
                loss_d: v[0],
                loss_g: v[1],
                d_real: v[2],
                d_fake: v[3],
                saturated: v[4],
            })
            .collect()
    }
}

impl StepStats {
    pub fn is_finite(&self) -> bool {
        [
            self.loss_d,
            self.loss_g,
            self.d_real,
            self.d_fake,
            self.saturated,
        ]
        .iter()
        .all(|v| v.is_finite())
    }
}

/// Everything that changes during training: both networks and both optimisers.
pub struct GanState {
    pub generator: Generator,
    pub discriminator: Discriminator,
    pub optim_g: ModuleOptimizer,
    pub optim_d: ModuleOptimizer,
    /// The generator's moving average (`ema_decay`), without autodiff; `None` without one.
    pub generator_ema: Option<Generator>,
}

/// Binary cross-entropy against "real" (1) on logits: mean(-log σ(x)).
fn bce_real(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits).neg().mean()
}

/// Binary cross-entropy against "fake" (0) on logits: mean(-log(1 - σ(x))) = mean(x - log σ(x)).
fn bce_fake(logits: Tensor<2>) -> Tensor<1> {
    (logits.clone() - log_sigmoid(logits)).mean()
}

/// The learning rates of the two networks' optimisers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub generator: f64,
    pub discriminator: f64,
}

/// What every step of a run shares, built once per run rather than once per step.
#[derive(Debug, Clone)]
pub struct StepPlan {
    pub spec: GanSpec,
    pub objective: Objective,
    pub rates: Rates,
    pub seed: u64,
}

impl StepPlan {
    /// Whether global step `step` updates the generator: every step, but for WGAN-GP only
    /// after every `critic_steps`-th critic update.
    pub fn updates_generator(&self, step: u64) -> bool {
        match self.objective {
            Objective::WganGp { critic_steps, .. } => (step + 1) % critic_steps.max(1) as u64 == 0,
            _ => true,
        }
    }

    pub fn new(config: &TrainingConfig) -> Self {
        Self {
            spec: config.model.spec(),
            objective: config.objective(),
            rates: Rates {
                generator: config.lr_generator(),
                discriminator: config.lr_discriminator(),
            },
            seed: config.seed,
        }
    }

    /// WGAN-GP's interpolation weights ε of global step `step`, `[rows, 1, 1, 1]`: this
    /// slice's rows of the batch's, drawn from the run's own stream (not the device's
    /// generator), so replicas and resumed runs draw what one uninterrupted device would.
    fn penalty_weights(&self, step: u64, slice: &BatchSlice, device: &Device) -> Tensor<4> {
        let all = latent::uniform_batch(self.seed, Stream::Penalty, step, slice.total);
        let rows = all[slice.rows.clone()].to_vec();
        Tensor::from_data(TensorData::new(rows, [slice.len(), 1, 1, 1]), device)
    }

    /// The latent batch of global step `step`: `[batch, latent]` from the run's noise
    /// stream, so a resumed run draws what the uninterrupted one would have.
    pub fn noise(&self, step: u64, batch: usize, device: &Device) -> Result<Tensor<2>, FeedError> {
        let GeneratorInput::Latent { dim, .. } = self.spec.input else {
            return Err(FeedError::new("an upscaler takes images, not z"));
        };
        let z = latent::normal_batch(self.seed, Stream::Noise, step, batch, dim);
        Ok(Tensor::from_data(TensorData::new(z, [batch, dim]), device))
    }
}

/// D's BCE loss: real logits against `real_label` (one-sided label smoothing, Salimans et
/// al. 2016: BCE against t is -log σ(x) + (1 - t)·x) and fake logits against 0, the two
/// terms averaged or summed.
fn discriminator_bce(
    logits_real: Tensor<2>,
    logits_fake: Tensor<2>,
    real_label: f32,
    combined: TermsCombined,
) -> Tensor<1> {
    let smoothing = logits_real.clone().mean() * (1.0 - real_label);
    let terms = bce_real(logits_real) + smoothing + bce_fake(logits_fake);
    match combined {
        TermsCombined::Mean => terms * 0.5,
        TermsCombined::Sum => terms,
    }
}

/// A BCE step's figures: both losses, and D's mean probabilities on real and fake.
/// (`loss_d` and `loss_g` come weighted by the slice already.)
fn bce_stats(
    loss_d: Tensor<1>,
    loss_g: Tensor<1>,
    logits_real: Tensor<2>,
    logits_fake: Tensor<2>,
    saturated: Tensor<1>,
    slice: &BatchSlice,
) -> PendingStats {
    gather_stats([
        loss_d,
        loss_g,
        slice.weigh(sigmoid(logits_real.detach()).mean()),
        slice.weigh(sigmoid(logits_fake.detach()).mean()),
        slice.weigh(saturated),
    ])
}

/// The fraction of `images`' values at the ±1 limits of a tanh output.
fn saturation(images: &Tensor<4>) -> Tensor<1> {
    images
        .clone()
        .detach()
        .abs()
        .greater_equal_elem(0.999)
        .float()
        .mean()
}

impl GanState {
    /// Fresh networks and optimisers on `device` (which must have autodiff).
    pub fn init(config: &TrainingConfig, device: &Device) -> Self {
        device.seed(config.seed);
        let (generator, discriminator) = config.model.init(device);
        let generator = initialize(generator, config.init, config.seed, 0);
        let discriminator = initialize(discriminator, config.init, config.seed, 1);
        let generator_ema = config.ema_decay.map(|_| generator.valid());
        let adam = AdamConfig::new()
            .with_beta_1(config.beta1)
            .with_beta_2(config.beta2)
            .with_epsilon(config.eps);
        Self {
            generator,
            discriminator,
            optim_g: adam.init(),
            optim_d: adam.init(),
            generator_ema,
        }
    }

    /// One iteration of the plan's objective on a real batch (and its labels, for a
    /// conditional model); `step` is the global step, which picks the latent batch and,
    /// for WGAN-GP, whether the generator updates (after every `critic_steps`-th critic
    /// update). An upscaler's sources are the real batch made `scale`× smaller.
    pub fn step(
        self,
        plan: &StepPlan,
        real: Tensor<4>,
        labels: Option<Tensor<1, Int>>,
        step: u64,
    ) -> Result<(Self, PendingStats), FeedError> {
        let [n, ..] = real.dims();
        let (networks, mut optim_g, mut optim_d) = self.into_parts();
        let mut optimisers = Optimisers {
            generator: &mut optim_g,
            discriminator: &mut optim_d,
        };
        let slice = BatchSlice::whole(n);
        let (networks, stats) = networks.step(plan, real, labels, step, &slice, &mut optimisers)?;
        Ok((Self::from_parts(networks, optim_g, optim_d), stats))
    }

    /// The networks, and the generator's and the discriminator's optimisers.
    pub(crate) fn into_parts(self) -> (Networks, ModuleOptimizer, ModuleOptimizer) {
        let networks = Networks {
            generator: self.generator,
            discriminator: self.discriminator,
        };
        (networks, self.optim_g, self.optim_d)
    }

    /// A state from its parts, without a moving average: whoever steps the networks keeps
    /// the average aside and updates it ([`crate::training::ema`]).
    pub(crate) fn from_parts(
        networks: Networks,
        optim_g: ModuleOptimizer,
        optim_d: ModuleOptimizer,
    ) -> Self {
        Self {
            generator: networks.generator,
            discriminator: networks.discriminator,
            optim_g,
            optim_d,
            generator_ema: None,
        }
    }
}

/// Which rows of a step's batch a replica trains on. Every loss and figure is a mean over
/// the batch, so a replica weighs its own by `rows / total`: the replicas' gradients then
/// sum to the whole batch's, and their figures to its figures.
#[derive(Debug, Clone)]
pub struct BatchSlice {
    pub rows: std::ops::Range<usize>,
    pub total: usize,
}

impl BatchSlice {
    /// The whole batch of `n`: one device.
    pub fn whole(n: usize) -> Self {
        Self {
            rows: 0..n,
            total: n,
        }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    /// A mean over this slice, weighted to be its share of the mean over the batch.
    fn weigh(&self, mean: Tensor<1>) -> Tensor<1> {
        if self.len() == self.total {
            mean
        } else {
            mean.mul_scalar(self.len() as f64 / self.total as f64)
        }
    }

    /// This slice's rows of a `[total, dim]` latent batch.
    fn latents(&self, plan: &StepPlan, step: u64, device: &Device) -> Result<Tensor<2>, FeedError> {
        let z = plan.noise(step, self.total, device)?;
        Ok(if self.len() == self.total {
            z
        } else {
            z.narrow(0, self.rows.start, self.len())
        })
    }
}

/// Where a step's gradients go. On one device, to the optimisers; on a data-parallel
/// replica, to the main device, where they are summed with the other replicas' and the
/// network is updated once (burn-train's multi-device strategy), and the updated network
/// comes back.
pub trait Updater {
    fn update_discriminator(
        &mut self,
        lr: f64,
        discriminator: Discriminator,
        grads: GradientsParams,
    ) -> Discriminator;
    fn update_generator(
        &mut self,
        lr: f64,
        generator: Generator,
        grads: GradientsParams,
    ) -> Generator;
}

/// One device: Adam on each network.
pub struct Optimisers<'a> {
    pub generator: &'a mut ModuleOptimizer,
    pub discriminator: &'a mut ModuleOptimizer,
}

impl Updater for Optimisers<'_> {
    fn update_discriminator(
        &mut self,
        lr: f64,
        discriminator: Discriminator,
        grads: GradientsParams,
    ) -> Discriminator {
        self.discriminator.step(lr, discriminator, grads)
    }

    fn update_generator(
        &mut self,
        lr: f64,
        generator: Generator,
        grads: GradientsParams,
    ) -> Generator {
        self.generator.step(lr, generator, grads)
    }
}

/// Both networks, without their optimisers: what a step trains.
pub struct Networks {
    pub generator: Generator,
    pub discriminator: Discriminator,
}

impl Networks {
    /// [`GanState::step`] on `slice` of the batch (`real` and `labels` are that slice's
    /// rows), the updates made by `updater`.
    pub fn step(
        self,
        plan: &StepPlan,
        real: Tensor<4>,
        labels: Option<Tensor<1, Int>>,
        step: u64,
        slice: &BatchSlice,
        updater: &mut dyn Updater,
    ) -> Result<(Self, PendingStats), FeedError> {
        let rates = plan.rates;
        let device = real.device();
        match plan.objective {
            Objective::Bce {
                real_label,
                discriminator_loss,
            } => {
                let z = slice.latents(plan, step, &device)?;
                let loss = (real_label, discriminator_loss);
                self.bce_step(real, labels, z, rates, loss, slice, updater)
            }
            Objective::WganGp { lambda, .. } => {
                let z = slice.latents(plan, step, &device)?;
                let update_generator = plan.updates_generator(step);
                let epsilon = plan.penalty_weights(step, slice, &device);
                let settings = WganGpStep {
                    rates,
                    lambda,
                    update_generator,
                };
                self.wgan_gp_step(real, labels, z, epsilon, settings, slice, updater)
            }
            Objective::Pix2Pix {
                l1_lambda,
                real_label,
            } => self.pix2pix_step(
                real,
                plan.spec.input.scale(),
                rates,
                (l1_lambda, real_label),
                slice,
                updater,
            ),
        }
    }

    /// The DCGAN iteration (Goodfellow et al. 2014, non-saturating generator loss):
    /// D minimises the mean of its BCE on real (label 1) and generated (label 0) images;
    /// then G minimises BCE of D(G(z)) against label 1, with the updated D.
    ///
    /// A conditional GAN gets the real batch's `labels`, and generates the same labels:
    /// both halves of D's batch then have the same class balance.
    #[allow(clippy::too_many_arguments)]
    fn bce_step(
        self,
        real: Tensor<4>,
        labels: Option<Tensor<1, Int>>,
        z: Tensor<2>,
        rates: Rates,
        (real_label, combined): (f32, TermsCombined),
        slice: &BatchSlice,
        updater: &mut dyn Updater,
    ) -> Result<(Self, PendingStats), FeedError> {
        let Self {
            generator,
            discriminator,
        } = self;

        let fake = generator.forward(GeneratorFeed::Latent {
            z,
            labels: labels.clone(),
        })?;
        let logits_real = discriminator.forward(real, labels.clone());
        let logits_fake = discriminator.forward(fake.clone().detach(), labels.clone());
        let loss_d = slice.weigh(discriminator_bce(
            logits_real.clone(),
            logits_fake.clone(),
            real_label,
            combined,
        ));
        let grads = GradientsParams::from_grads(loss_d.backward(), &discriminator);
        let discriminator = updater.update_discriminator(rates.discriminator, discriminator, grads);

        // `fake` still carries the generator's graph: no second generator forward needed.
        let saturated = saturation(&fake);
        let loss_g = slice.weigh(bce_real(discriminator.forward(fake, labels)));
        let grads = GradientsParams::from_grads(loss_g.backward(), &generator);
        let generator = updater.update_generator(rates.generator, generator, grads);

        let stats = bce_stats(loss_d, loss_g, logits_real, logits_fake, saturated, slice);
        let networks = Self {
            generator,
            discriminator,
        };
        Ok((networks, stats))
    }

    /// The Pix2Pix iteration (Isola et al. 2017) for super-resolution: the source is the
    /// target image averaged over `scale × scale` blocks. D (a PatchGAN, logits per patch)
    /// minimises BCE on (target, source) pairs as real and (G(source), source) as fake; then
    /// G minimises BCE of D's verdict against "real" plus λ·mean |G(source) − target|.
    fn pix2pix_step(
        self,
        target: Tensor<4>,
        scale: usize,
        rates: Rates,
        (l1_lambda, real_label): (f64, f32),
        slice: &BatchSlice,
        updater: &mut dyn Updater,
    ) -> Result<(Self, PendingStats), FeedError> {
        let Self {
            generator,
            discriminator,
        } = self;
        let source = downsample_mean(target.clone(), scale);
        let fake = generator.forward(GeneratorFeed::Source(source.clone()))?;
        let logits_real = discriminator.forward_paired(target.clone(), source.clone());
        let logits_fake = discriminator.forward_paired(fake.clone().detach(), source.clone());
        let loss_d = slice.weigh(discriminator_bce(
            logits_real.clone(),
            logits_fake.clone(),
            real_label,
            TermsCombined::Mean,
        ));
        let grads = GradientsParams::from_grads(loss_d.backward(), &discriminator);
        let discriminator = updater.update_discriminator(rates.discriminator, discriminator, grads);

        let saturated = saturation(&fake);
        let adversarial = bce_real(discriminator.forward_paired(fake.clone(), source));
        let l1 = (fake - target).abs().mean();
        let loss_g = slice.weigh(adversarial + l1 * l1_lambda);
        let grads = GradientsParams::from_grads(loss_g.backward(), &generator);
        let generator = updater.update_generator(rates.generator, generator, grads);

        let stats = bce_stats(loss_d, loss_g, logits_real, logits_fake, saturated, slice);
        let networks = Self {
            generator,
            discriminator,
        };
        Ok((networks, stats))
    }

    /// The WGAN-GP iteration (Gulrajani et al. 2017). The critic minimises
    /// `mean D(G(z)) − mean D(x) + λ·mean (‖∇D(x̂)‖₂ − 1)²` with `x̂ = εx + (1 − ε)G(z)`,
    /// `ε ~ U[0, 1]` per sample. `∇D(x̂)` comes from
    /// [`Discriminator::forward_with_input_gradient`], tracked ops all the way, so the
    /// penalty's gradient reaches the critic's weights (burn's own `grad` would be detached
    /// and the penalty would silently do nothing). Then, if `update_generator`, the
    /// generator minimises `−mean D(G(z))` against the updated critic.
    #[allow(clippy::too_many_arguments)]
    fn wgan_gp_step(
        self,
        real: Tensor<4>,
        labels: Option<Tensor<1, Int>>,
        z: Tensor<2>,
        epsilon: Tensor<4>,
        settings: WganGpStep,
        slice: &BatchSlice,
        updater: &mut dyn Updater,
    ) -> Result<(Self, PendingStats), FeedError> {
        let Self {
            mut generator,
            discriminator,
        } = self;
        let WganGpStep {
            rates,
            lambda,
            update_generator,
        } = settings;

        let fake = generator.forward(GeneratorFeed::Latent {
            z,
            labels: labels.clone(),
        })?;
        let fake_detached = fake.clone().detach();
        let saturated = saturation(&fake_detached);
        let scores_real = discriminator.forward(real.clone(), labels.clone());
        let scores_fake = discriminator.forward(fake_detached.clone(), labels.clone());
        let mixed = real * epsilon.clone() + fake_detached * epsilon.neg().add_scalar(1.0);
        let (_, grad) = discriminator
            .forward_with_input_gradient(mixed, labels.clone())
            .map_err(|_| {
                FeedError::new("the critic has no input-gradient (BatchNorm or Dropout)")
            })?;
        let penalty = gradient_penalty(grad) * lambda;
        let loss_d = slice.weigh(scores_fake.clone().mean() - scores_real.clone().mean() + penalty);
        let grads = GradientsParams::from_grads(loss_d.backward(), &discriminator);
        let discriminator = updater.update_discriminator(rates.discriminator, discriminator, grads);

        let loss_g = if update_generator {
            let loss_g = slice.weigh(discriminator.forward(fake, labels).mean().neg());
            let grads = GradientsParams::from_grads(loss_g.backward(), &generator);
            generator = updater.update_generator(rates.generator, generator, grads);
            loss_g
        } else {
            // No generator update this step: its loss against the critic before the update.
            slice.weigh(scores_fake.clone().detach().mean().neg())
        };
        let stats = gather_stats([
            loss_d,
            loss_g,
            slice.weigh(scores_real.detach().mean()),
            slice.weigh(scores_fake.detach().mean()),
            slice.weigh(saturated),
        ]);
        let networks = Self {
            generator,
            discriminator,
        };
        Ok((networks, stats))
    }
}

/// A WGAN-GP iteration's settings.
struct WganGpStep {
    rates: Rates,
    lambda: f64,
    update_generator: bool,
}

/// `mean over samples of (‖gᵢ‖₂ − 1)²` for per-sample gradients `g` `[n, c, h, w]`.
pub fn gradient_penalty(grad: Tensor<4>) -> Tensor<1> {
    let [n, c, h, w] = grad.dims();
    // The tiny constant keeps sqrt differentiable where a gradient is exactly zero.
    let norm = grad
        .reshape([n, c * h * w])
        .square()
        .sum_dim(1)
        .add_scalar(1e-12)
        .sqrt();
    norm.sub_scalar(1.0).square().mean()
}

/// The five figures of a step, gathered on the device and not read back yet.
fn gather_stats(figures: [Tensor<1>; 5]) -> PendingStats {
    PendingStats(Tensor::cat(
        figures.into_iter().map(|t| t.detach()).collect(),
        0,
    ))
}
