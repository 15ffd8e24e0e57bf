//! The Fashion-MNIST seed's DCGAN, TensorFlow-tutorial style.
//!
//! Generator: Dense(z → 7·7·256, no bias) → BatchNorm → LeakyReLU → reshape → ConvT(128, k5,
//! s1, same) → BatchNorm → LeakyReLU → ConvT(64, k5, s2, same) → BatchNorm → LeakyReLU →
//! ConvT(1, k5, s2, same) → Tanh. Discriminator: Conv(64, k5, s2, same) → LeakyReLU →
//! Dropout(0.3) → Conv(128, k5, s2, same) → LeakyReLU → Dropout(0.3) → Flatten → Dense(1).
//! Keras' `padding="same"` with stride 2 doubles the size; in PyTorch terms that is
//! padding 2 plus output_padding 1 for k5. Keras' LeakyReLU slope is 0.3.

use super::gan::{GanSpec, GeneratorInput};
use super::spec::{BatchNormSettings, LayerSpec};
use burn::prelude::*;

#[derive(Config, Debug)]
pub struct DcganTfConfig {
    #[config(default = 100)]
    pub latent_dim: usize,
    #[config(default = 1)]
    pub channels: usize,
    /// Keras' default LeakyReLU slope.
    #[config(default = 0.3)]
    pub slope: f64,
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Momentum and ε of every BatchNorm layer (`[model.batch_norm]`; PyTorch's defaults).
    #[config(default = "BatchNormSettings::default()")]
    pub batch_norm: BatchNormSettings,
}

impl DcganTfConfig {
    pub fn spec(&self) -> GanSpec {
        let leaky = LayerSpec::LeakyRelu { slope: self.slope };
        let same_up = |input, output, stride| LayerSpec::ConvTranspose2d {
            input,
            output,
            kernel: 5,
            stride,
            padding: 2,
            output_padding: stride - 1,
            bias: false,
        };
        let same_down = |input, output| LayerSpec::Conv2d {
            input,
            output,
            kernel: 5,
            stride: 2,
            padding: 2,
            bias: true,
        };
        let generator = vec![
            LayerSpec::Linear {
                input: self.latent_dim,
                output: 7 * 7 * 256,
                bias: false,
            },
            LayerSpec::batch_norm(7 * 7 * 256),
            leaky.clone(),
            LayerSpec::Reshape { shape: [256, 7, 7] },
            same_up(256, 128, 1), // 7 → 7
            LayerSpec::batch_norm(128),
            leaky.clone(),
            same_up(128, 64, 2), // 7 → 14
            LayerSpec::batch_norm(64),
            leaky.clone(),
            same_up(64, self.channels, 2), // 14 → 28
            LayerSpec::Tanh,
        ];
        let discriminator = vec![
            same_down(self.channels, 64), // 28 → 14
            leaky.clone(),
            LayerSpec::Dropout { prob: self.dropout },
            same_down(64, 128), // 14 → 7
            leaky,
            LayerSpec::Dropout { prob: self.dropout },
            LayerSpec::Flatten,
            LayerSpec::Linear {
                input: 128 * 7 * 7,
                output: 1,
                bias: true,
            },
        ];
        GanSpec {
            input: GeneratorInput::Latent {
                dim: self.latent_dim,
                classes: None,
            },
            label_embedding: 0,
            image_shape: [self.channels, 28, 28],
            generator,
            discriminator,
        }
        .with_batch_norm(self.batch_norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::infer_shapes;

    #[test]
    fn same_padding_doubles_7_to_14_to_28() {
        let spec = DcganTfConfig::new().spec();
        spec.check().unwrap();
        let g = infer_shapes(&spec.generator, [100, 1, 1]).unwrap();
        assert_eq!(g[4], [256, 7, 7]);
        assert_eq!(g[5], [128, 7, 7]);
        assert_eq!(g[8], [64, 14, 14]);
        assert_eq!(*g.last().unwrap(), [1, 28, 28]);
    }
}
