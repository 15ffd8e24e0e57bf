//! One training iteration: a discriminator update, then a generator update.

use super::config::TrainingConfig;
use crate::model::init::dcgan_init;
use crate::model::{Discriminator, Generator};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Int;
use burn::tensor::activation::{log_sigmoid, sigmoid};

/// What one iteration measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    pub loss_d: f32,
    pub loss_g: f32,
    /// Mean D(x): the discriminator's probability that real images are real.
    pub d_real: f32,
    /// Mean D(G(z)): its probability that generated images are real, before its update.
    pub d_fake: f32,
}

impl StepStats {
    pub fn is_finite(&self) -> bool {
        [self.loss_d, self.loss_g, self.d_real, self.d_fake]
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
}

/// Binary cross-entropy against "real" (1) on logits: mean(-log σ(x)).
fn bce_real(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits).neg().mean()
}

/// Binary cross-entropy against "fake" (0) on logits: mean(-log(1 - σ(x))) = mean(x - log σ(x)).
fn bce_fake(logits: Tensor<2>) -> Tensor<1> {
    (logits.clone() - log_sigmoid(logits)).mean()
}

impl GanState {
    /// Fresh networks and optimisers on `device` (which must have autodiff).
    pub fn init(config: &TrainingConfig, device: &Device) -> Self {
        device.seed(config.seed);
        let (generator, discriminator) = config.model.init(device);
        let generator = dcgan_init(generator, config.seed, 0);
        let discriminator = dcgan_init(discriminator, config.seed, 1);
        let adam = AdamConfig::new()
            .with_beta_1(config.beta1)
            .with_beta_2(config.beta2);
        Self {
            generator,
            discriminator,
            optim_g: adam.init(),
            optim_d: adam.init(),
        }
    }

    /// The DCGAN iteration (Goodfellow et al. 2014, non-saturating generator loss):
    /// D minimises the mean of its BCE on real (label 1) and generated (label 0) images;
    /// then G minimises BCE of D(G(z)) against label 1, with the updated D.
    ///
    /// A conditional GAN gets the real batch's `labels`, and generates the same labels:
    /// both halves of D's batch then have the same class balance.
    pub fn step(
        self,
        real: Tensor<4>,
        labels: Option<Tensor<1, Int>>,
        z: Tensor<2>,
        lr: f64,
        real_label: f32,
    ) -> (Self, StepStats) {
        let Self {
            generator,
            discriminator,
            mut optim_g,
            mut optim_d,
        } = self;

        let fake = generator.forward(z, labels.clone());
        let logits_real = discriminator.forward(real, labels.clone());
        let logits_fake = discriminator.forward(fake.clone().detach(), labels.clone());
        // One-sided label smoothing (Salimans et al. 2016): D's target for real images is
        // `real_label`; BCE against t is -log σ(x) + (1 - t)·x.
        let smoothing = logits_real.clone().mean() * (1.0 - real_label);
        let loss_d =
            (bce_real(logits_real.clone()) + smoothing + bce_fake(logits_fake.clone())) * 0.5;
        let grads = GradientsParams::from_grads(loss_d.backward(), &discriminator);
        let discriminator = optim_d.step(lr, discriminator, grads);

        // `fake` still carries the generator's graph: no second generator forward needed.
        let loss_g = bce_real(discriminator.forward(fake, labels));
        let grads = GradientsParams::from_grads(loss_g.backward(), &generator);
        let generator = optim_g.step(lr, generator, grads);

        // One read back for all four figures: each read is a device sync.
        let figures = Tensor::cat(
            vec![
                loss_d.detach(),
                loss_g.detach(),
                sigmoid(logits_real.detach()).mean(),
                sigmoid(logits_fake.detach()).mean(),
            ],
            0,
        )
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 figures");
        let stats = StepStats {
            loss_d: figures[0],
            loss_g: figures[1],
            d_real: figures[2],
            d_fake: figures[3],
        };
        let state = Self {
            generator,
            discriminator,
            optim_g,
            optim_d,
        };
        (state, stats)
    }
}
