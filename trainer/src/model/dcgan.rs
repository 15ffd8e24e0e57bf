//! DCGAN for 28×28 images, as the MNIST seed describes it.
//!
//! Generator, four layers: transposed convolutions that upsample 1 → 7 → 14 → 28, each
//! followed by BatchNorm and ReLU, the last by Tanh alone. Discriminator, three layers:
//! strided convolutions 28 → 14 → 7 with BatchNorm and LeakyReLU(0.2), then one convolution
//! that gives a single logit (the sigmoid lives in the loss, for numerical stability).

use super::gan::{GanSpec, GeneratorInput};
use super::spec::{BatchNormSettings, LayerSpec};
use burn::prelude::*;

#[derive(Config, Debug)]
pub struct DcganConfig {
    /// Size of the latent vector `z`.
    #[config(default = 100)]
    pub latent_dim: usize,
    /// Image channels (1 for MNIST and Fashion-MNIST).
    #[config(default = 1)]
    pub channels: usize,
    /// Feature maps of the generator's last hidden layer (doubled per layer towards `z`).
    /// 32 keeps a CPU epoch of MNIST in minutes; 64 is the DCGAN paper's width.
    #[config(default = 32)]
    pub generator_features: usize,
    /// Feature maps of the discriminator's first layer (doubled per layer).
    #[config(default = 64)]
    pub discriminator_features: usize,
    /// Momentum and ε of every BatchNorm layer (`[model.batch_norm]`; PyTorch's defaults).
    #[config(default = "BatchNormSettings::default()")]
    pub batch_norm: BatchNormSettings,
}

impl DcganConfig {
    pub fn image_shape(&self) -> [usize; 3] {
        [self.channels, 28, 28]
    }

    pub fn generator_spec(&self) -> Vec<LayerSpec> {
        let f = self.generator_features;
        let up = LayerSpec::conv_transpose;
        vec![
            up(self.latent_dim, 4 * f, 7, 1, 0), // 1 → 7
            LayerSpec::batch_norm(4 * f),
            LayerSpec::Relu,
            up(4 * f, 2 * f, 4, 2, 1), // 7 → 14
            LayerSpec::batch_norm(2 * f),
            LayerSpec::Relu,
            up(2 * f, f, 4, 2, 1), // 14 → 28
            LayerSpec::batch_norm(f),
            LayerSpec::Relu,
            up(f, self.channels, 3, 1, 1), // 28 → 28, to image channels
            LayerSpec::Tanh,
        ]
    }

    pub fn discriminator_spec(&self) -> Vec<LayerSpec> {
        let f = self.discriminator_features;
        let down = LayerSpec::conv;
        vec![
            down(self.channels, f, 4, 2, 1), // 28 → 14
            LayerSpec::batch_norm(f),
            LayerSpec::LeakyRelu { slope: 0.2 },
            down(f, 2 * f, 4, 2, 1), // 14 → 7
            LayerSpec::batch_norm(2 * f),
            LayerSpec::LeakyRelu { slope: 0.2 },
            LayerSpec::Conv2d {
                input: 2 * f,
                output: 1,
                kernel: 7,
                stride: 1,
                padding: 0,
                bias: true,
            }, // 7 → 1
        ]
    }

    /// The whole GAN: both networks and their inputs.
    pub fn spec(&self) -> GanSpec {
        GanSpec {
            input: GeneratorInput::Latent {
                dim: self.latent_dim,
                classes: None,
            },
            label_embedding: 0,
            image_shape: self.image_shape(),
            generator: self.generator_spec(),
            discriminator: self.discriminator_spec(),
        }
        .with_batch_norm(self.batch_norm)
    }
}
