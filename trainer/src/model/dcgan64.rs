//! 64×64 networks: DCGAN exactly as the CIFAR-10 seed prints it, and WGAN-GP's generator
//! and critic as the CelebA seed describes them.

use super::gan::{GanSpec, GeneratorInput};
use super::spec::{BatchNormSettings, LayerSpec};
use burn::prelude::*;

/// Upsampling block of both generators: transposed conv, BatchNorm, ReLU.
fn up(input: usize, output: usize, stride: usize, padding: usize) -> [LayerSpec; 3] {
    [
        LayerSpec::conv_transpose(input, output, 4, stride, padding),
        LayerSpec::batch_norm(output),
        LayerSpec::Relu,
    ]
}

/// The generator both seeds share: z as a 1×1 map, 1 → 4 → 8 → 16 → 32 → 64.
fn generator(latent_dim: usize, channels: usize, f: usize) -> Vec<LayerSpec> {
    let mut layers = Vec::new();
    layers.extend(up(latent_dim, 8 * f, 1, 0)); // 1 → 4
    layers.extend(up(8 * f, 4 * f, 2, 1)); // 4 → 8
    layers.extend(up(4 * f, 2 * f, 2, 1)); // 8 → 16
    layers.extend(up(2 * f, f, 2, 1)); // 16 → 32
    layers.push(LayerSpec::conv_transpose(f, channels, 4, 2, 1)); // 32 → 64
    layers.push(LayerSpec::Tanh);
    layers
}

/// Downsampling stack 64 → 32 → 16 → 8 → 4, then one logit; `norm` after all but the first
/// convolution (BatchNorm for DCGAN, InstanceNorm for a WGAN-GP critic).
fn downsampler(
    channels: usize,
    f: usize,
    norm: fn(usize) -> LayerSpec,
    last: LayerSpec,
) -> Vec<LayerSpec> {
    let leaky = || LayerSpec::LeakyRelu { slope: 0.2 };
    let mut layers = vec![LayerSpec::conv(channels, f, 4, 2, 1), leaky()]; // 64 → 32
    for (input, output) in [(f, 2 * f), (2 * f, 4 * f), (4 * f, 8 * f)] {
        layers.extend([
            LayerSpec::conv(input, output, 4, 2, 1),
            norm(output),
            leaky(),
        ]);
    }
    layers.push(last); // 4 → 1
    layers
}

/// DCGAN at 64×64 (the CIFAR-10 seed): G = ConvT(100→512, k4 s1) → 256 → 128 → 64 → 3
/// (k4 s2 p1, BatchNorm + ReLU, Tanh, no bias); D = Conv(3→64) LeakyReLU → 128 → 256 → 512
/// (BatchNorm + LeakyReLU 0.2) → Conv(512→1, k4). The seed's final Sigmoid lives in the loss.
#[derive(Config, Debug)]
pub struct Dcgan64Config {
    #[config(default = 100)]
    pub latent_dim: usize,
    #[config(default = 3)]
    pub channels: usize,
    /// The generator's last hidden width (×8 at the first layer): 64 gives the seed's 512.
    #[config(default = 64)]
    pub generator_features: usize,
    /// The discriminator's first width (×8 at the last hidden layer).
    #[config(default = 64)]
    pub discriminator_features: usize,
    /// Momentum and ε of every BatchNorm layer (`[model.batch_norm]`; PyTorch's defaults).
    #[config(default = "BatchNormSettings::default()")]
    pub batch_norm: BatchNormSettings,
}

impl Dcgan64Config {
    pub fn spec(&self) -> GanSpec {
        GanSpec {
            input: GeneratorInput::Latent {
                dim: self.latent_dim,
                classes: None,
            },
            label_embedding: 0,
            image_shape: [self.channels, 64, 64],
            generator: generator(self.latent_dim, self.channels, self.generator_features),
            discriminator: downsampler(
                self.channels,
                self.discriminator_features,
                LayerSpec::batch_norm,
                LayerSpec::conv(8 * self.discriminator_features, 1, 4, 1, 0),
            ),
        }
        .with_batch_norm(self.batch_norm)
    }
}

/// WGAN-GP at 64×64 (the CelebA seed): the same generator shape with the seed's widths
/// (`features_g · 16` first), and a critic of Conv + InstanceNorm + LeakyReLU blocks with
/// no BatchNorm (the gradient penalty is per sample) and a linear score out.
#[derive(Config, Debug)]
pub struct WganGp64Config {
    #[config(default = 100)]
    pub latent_dim: usize,
    #[config(default = 3)]
    pub channels: usize,
    /// The seed's `features_g` (16): widths 256 → 128 → 64 → 32.
    #[config(default = 16)]
    pub generator_features: usize,
    /// The seed's `features_d` (16): widths 16 → 32 → 64 → 128.
    #[config(default = 16)]
    pub critic_features: usize,
    /// Momentum and ε of every BatchNorm layer (`[model.batch_norm]`; PyTorch's defaults).
    #[config(default = "BatchNormSettings::default()")]
    pub batch_norm: BatchNormSettings,
}

impl WganGp64Config {
    pub fn spec(&self) -> GanSpec {
        let f = self.critic_features;
        GanSpec {
            input: GeneratorInput::Latent {
                dim: self.latent_dim,
                classes: None,
            },
            label_embedding: 0,
            image_shape: [self.channels, 64, 64],
            generator: generator(self.latent_dim, self.channels, 2 * self.generator_features),
            discriminator: downsampler(
                self.channels,
                f,
                |features| LayerSpec::InstanceNorm { features },
                LayerSpec::Conv2d {
                    input: 8 * f,
                    output: 1,
                    kernel: 4,
                    stride: 2,
                    padding: 0,
                    bias: true,
                },
            ),
        }
        .with_batch_norm(self.batch_norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::infer_shapes;

    #[test]
    fn the_cifar10_seed_networks_have_its_printed_shapes() {
        let spec = Dcgan64Config::new().spec();
        spec.check().unwrap();
        let g = infer_shapes(&spec.generator, [100, 1, 1]).unwrap();
        let sizes: Vec<[usize; 3]> = g.iter().step_by(3).copied().collect();
        assert_eq!(
            sizes,
            vec![
                [100, 1, 1],
                [512, 4, 4],
                [256, 8, 8],
                [128, 16, 16],
                [64, 32, 32]
            ]
        );
        assert_eq!(*g.last().unwrap(), [3, 64, 64]);
        let d = infer_shapes(&spec.discriminator, [3, 64, 64]).unwrap();
        assert_eq!(d[d.len() - 2], [512, 4, 4]);
        assert_eq!(*d.last().unwrap(), [1, 1, 1]);
    }

    #[test]
    fn the_wgan_gp_critic_has_no_batch_norm() {
        let spec = WganGp64Config::new().spec();
        spec.check().unwrap();
        assert!(
            !spec
                .discriminator
                .iter()
                .any(|l| matches!(l, LayerSpec::BatchNorm { .. }))
        );
        let g = infer_shapes(&spec.generator, [100, 1, 1]).unwrap();
        assert_eq!(g[1], [256, 4, 4], "features_g · 16 with features_g = 16");
        let d = infer_shapes(&spec.discriminator, [3, 64, 64]).unwrap();
        assert_eq!(*d.last().unwrap(), [1, 1, 1]);
    }
}
