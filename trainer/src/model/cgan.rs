//! Conditional GANs for 28×28 images, the cGAN seed's experiments: a label embedding in
//! both networks (see [`super::gan`]), latent 100, one row per class in the sample grids.
//!
//! - [`CganConvConfig`], experiment 2: a dense layer to 128·7·7, reshaped to 2D, then
//!   transposed convolutions up to 28×28 with BatchNorm and LeakyReLU, Tanh at the end.
//!   With `generator_activation = "relu"` and `init = "glorot-uniform"`, experiment 1
//!   (ReLU generator, LeakyReLU discriminator, Keras's default initialisation).
//!   Its discriminator is the seed's "dense layers and LeakyReLU activations, ending with a
//!   sigmoid" ([`CganDiscriminator::Dense`]), or two strided convolutions and a dense output
//!   ([`CganDiscriminator::Conv`], gantry's earlier one, which collapsed to nearly one
//!   image per class on MNIST and Fashion-MNIST).
//! - [`CganMlpConfig`], experiment 3: dense layers 256 / 512 / 1024 in the generator,
//!   512 / 512 in the discriminator.

use super::gan::{GanSpec, GeneratorInput};
use super::spec::{BatchNormSettings, LayerSpec};
use burn::prelude::*;

const LEAKY: LayerSpec = LayerSpec::LeakyRelu { slope: 0.2 };

fn linear(input: usize, output: usize) -> LayerSpec {
    LayerSpec::Linear {
        input,
        output,
        bias: true,
    }
}

/// The discriminator of [`CganConvConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CganDiscriminator {
    /// The seed's: the image and its label channel flattened, dense 512 → 512 with
    /// LeakyReLU, dropout, one logit (the sigmoid is in the BCE loss). Its widths are not
    /// in the seed; these are experiment 3's.
    Dense,
    /// Two strided convolutions (`discriminator_features`, doubled) with BatchNorm and
    /// LeakyReLU, dropout, one logit.
    Conv,
}

/// The generator's hidden activation in [`CganConvConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CganActivation {
    /// LeakyReLU (slope 0.2): the seed's experiment 2.
    LeakyRelu,
    /// ReLU: the seed's experiment 1 ("ReLU activations were utilized in the generator").
    Relu,
}

impl CganActivation {
    fn layer(self) -> LayerSpec {
        match self {
            Self::LeakyRelu => LEAKY,
            Self::Relu => LayerSpec::Relu,
        }
    }
}

#[derive(Config, Debug)]
pub struct CganConvConfig {
    #[config(default = 100)]
    pub latent_dim: usize,
    /// Image channels (1 for MNIST and Fashion-MNIST).
    #[config(default = 1)]
    pub channels: usize,
    #[config(default = 10)]
    pub classes: usize,
    /// Width of the generator's label embedding.
    #[config(default = 50)]
    pub embedding_dim: usize,
    /// Channels of the 7×7 map the dense layer makes (the seed's 128); halved per upsampling.
    #[config(default = 128)]
    pub generator_features: usize,
    /// Dense (the seed's) or convolutional.
    /// The generator's hidden activation: `leaky-relu` (experiment 2) or `relu` (1).
    #[config(default = "CganActivation::LeakyRelu")]
    pub generator_activation: CganActivation,
    #[config(default = "CganDiscriminator::Dense")]
    pub discriminator: CganDiscriminator,
    /// Channels of the convolutional discriminator's first convolution (doubled once).
    #[config(default = 64)]
    pub discriminator_features: usize,
    /// Dropout before the discriminator's output layer.
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Momentum and ε of every BatchNorm layer (`[model.batch_norm]`; PyTorch's defaults).
    #[config(default = "BatchNormSettings::default()")]
    pub batch_norm: BatchNormSettings,
}

impl CganConvConfig {
    pub fn spec(&self) -> GanSpec {
        let (g, d, c) = (
            self.generator_features,
            self.discriminator_features,
            self.channels,
        );
        let up = LayerSpec::conv_transpose;
        let act = self.generator_activation.layer();
        let generator = vec![
            linear(self.latent_dim + self.embedding_dim, g * 7 * 7),
            LayerSpec::Reshape { shape: [g, 7, 7] },
            LayerSpec::batch_norm(g),
            act.clone(),
            up(g, g / 2, 4, 2, 1), // 7 → 14
            LayerSpec::batch_norm(g / 2),
            act.clone(),
            up(g / 2, g / 4, 4, 2, 1), // 14 → 28
            LayerSpec::batch_norm(g / 4),
            act,
            LayerSpec::ConvTranspose2d {
                input: g / 4,
                output: c,
                kernel: 3,
                stride: 1,
                padding: 1,
                output_padding: 0,
                bias: true,
            }, // 28 → 28, to image channels
            LayerSpec::Tanh,
        ];
        let down = |input, output| LayerSpec::Conv2d {
            input,
            output,
            kernel: 4,
            stride: 2,
            padding: 1,
            bias: true,
        };
        let discriminator = match self.discriminator {
            CganDiscriminator::Dense => dense_discriminator(c, self.dropout),
            CganDiscriminator::Conv => vec![
                down(c + 1, d), // image + label channel, 28 → 14
                LEAKY,
                down(d, 2 * d), // 14 → 7
                LayerSpec::batch_norm(2 * d),
                LEAKY,
                LayerSpec::Flatten,
                LayerSpec::Dropout { prob: self.dropout },
                linear(2 * d * 7 * 7, 1),
            ],
        };
        GanSpec {
            input: GeneratorInput::Latent {
                dim: self.latent_dim,
                classes: Some(self.classes),
            },
            label_embedding: self.embedding_dim,
            image_shape: [c, 28, 28],
            generator,
            discriminator,
        }
        .with_batch_norm(self.batch_norm)
    }
}

/// The cGAN seed's dense discriminator over `channels` 28×28 image channels and the label
/// channel: 512 → 512 with LeakyReLU, `dropout`, one logit.
fn dense_discriminator(channels: usize, dropout: f64) -> Vec<LayerSpec> {
    vec![
        LayerSpec::Flatten, // image + label channel
        linear((channels + 1) * 28 * 28, 512),
        LEAKY,
        linear(512, 512),
        LEAKY,
        LayerSpec::Dropout { prob: dropout },
        linear(512, 1),
    ]
}

#[derive(Config, Debug)]
pub struct CganMlpConfig {
    #[config(default = 100)]
    pub latent_dim: usize,
    #[config(default = 1)]
    pub channels: usize,
    #[config(default = 10)]
    pub classes: usize,
    #[config(default = 50)]
    pub embedding_dim: usize,
    /// Dropout after the discriminator's hidden layers.
    #[config(default = 0.4)]
    pub dropout: f64,
    /// Momentum and ε of every BatchNorm layer (`[model.batch_norm]`; PyTorch's defaults).
    #[config(default = "BatchNormSettings::default()")]
    pub batch_norm: BatchNormSettings,
}

impl CganMlpConfig {
    pub fn spec(&self) -> GanSpec {
        let c = self.channels;
        let pixels = c * 28 * 28;
        let mut generator = Vec::new();
        let mut width = self.latent_dim + self.embedding_dim;
        for hidden in [256, 512, 1024] {
            // Keras order, as in the seed: Dense → LeakyReLU → BatchNorm.
            generator.extend([linear(width, hidden), LEAKY, LayerSpec::batch_norm(hidden)]);
            width = hidden;
        }
        generator.extend([
            linear(width, pixels),
            LayerSpec::Tanh,
            LayerSpec::Reshape { shape: [c, 28, 28] },
        ]);
        let discriminator = dense_discriminator(c, self.dropout);
        GanSpec {
            input: GeneratorInput::Latent {
                dim: self.latent_dim,
                classes: Some(self.classes),
            },
            label_embedding: self.embedding_dim,
            image_shape: [c, 28, 28],
            generator,
            discriminator,
        }
        .with_batch_norm(self.batch_norm)
    }
}
