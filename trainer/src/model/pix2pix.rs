//! Pix2Pix (Isola et al. 2017) for super-resolution, the high-resolution seed's model: a
//! U-Net generator from a `scale`× smaller image to the full-size one, and a PatchGAN
//! discriminator that judges each patch of the image beside its (upsampled) source.
//!
//! The U-Net is one flat [`LayerSpec`] list: the source is first upsampled to the target
//! size (nearest neighbour, so the network learns all of the detail), then each level's
//! downsampling output is remembered with `SaveSkip` and concatenated back with
//! `ConcatSkip` on the way up, so the burn module and the exported ONNX graph come from the
//! same description as every other network.

use super::gan::{GanSpec, GeneratorInput};
use super::spec::{BatchNormSettings, LayerSpec};
use burn::prelude::*;

#[derive(Config, Debug)]
pub struct Pix2PixConfig {
    /// Image channels (1 for the LFW crops, 3 for CelebA).
    #[config(default = 1)]
    pub channels: usize,
    /// Height and width of the full-size (target) image.
    #[config(default = 32)]
    pub image_size: usize,
    /// How many times smaller the source is: 4 makes 8×8 → 32×32 (and 16×16 → 64×64).
    #[config(default = 4)]
    pub scale: usize,
    /// U-Net levels: stride-2 convolutions from the image down to the bottleneck, which is
    /// `image_size / 2^depth` wide (pix2pix's 256×256 U-Net has 8, down to 1×1).
    #[config(default = 4)]
    pub depth: usize,
    /// Width of the U-Net's first level (doubled per level, at most 8×).
    #[config(default = 32)]
    pub generator_features: usize,
    /// Width of the PatchGAN's first convolution (doubled per layer, at most 8×).
    #[config(default = 32)]
    pub discriminator_features: usize,
    /// Stride-2 convolutions in the PatchGAN: with 3 (pix2pix's 70×70 PatchGAN) each logit
    /// sees a 70-pixel patch, with 2 a 34-pixel one.
    #[config(default = 2)]
    pub discriminator_layers: usize,
    /// Dropout in the three up blocks below the bottleneck, pix2pix's source of noise
    /// (0 for none). Training only; the exported generator is deterministic.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Momentum and ε of every BatchNorm layer (`[model.batch_norm]`; PyTorch's defaults).
    #[config(default = "BatchNormSettings::default()")]
    pub batch_norm: BatchNormSettings,
}

/// Width of U-Net level `i` (or PatchGAN layer `i`): `f · 2^i`, capped at `8 f`.
fn width(f: usize, i: usize) -> usize {
    f * (1 << i.min(3))
}

impl Pix2PixConfig {
    pub fn source_shape(&self) -> [usize; 3] {
        let size = self.image_size / self.scale.max(1);
        [self.channels, size, size]
    }

    /// The U-Net: upsample, `depth` downsampling levels, then back up with skip connections.
    pub fn generator_spec(&self) -> Vec<LayerSpec> {
        let (f, depth, c) = (self.generator_features, self.depth.max(2), self.channels);
        let leaky = || LayerSpec::LeakyRelu { slope: 0.2 };
        let mut layers = Vec::new();
        if self.scale > 1 {
            layers.push(LayerSpec::Upsample { scale: self.scale });
        }
        // Down: the outermost level has no activation before and no norm after its
        // convolution, the innermost (the bottleneck) no norm.
        layers.push(LayerSpec::conv(c, f, 4, 2, 1));
        for level in 1..depth {
            layers.extend([
                LayerSpec::SaveSkip,
                leaky(),
                LayerSpec::conv(width(f, level - 1), width(f, level), 4, 2, 1),
            ]);
            if level < depth - 1 {
                layers.push(LayerSpec::batch_norm(width(f, level)));
            }
        }
        // Up, innermost first: each block's output is concatenated with the matching down
        // level's, so the next block sees twice the channels.
        for level in (1..depth).rev() {
            let input = if level == depth - 1 {
                width(f, level)
            } else {
                2 * width(f, level)
            };
            let output = width(f, level - 1);
            layers.extend([
                LayerSpec::Relu,
                LayerSpec::conv_transpose(input, output, 4, 2, 1),
                LayerSpec::batch_norm(output),
            ]);
            let below_bottleneck = depth - 1 - level;
            if self.dropout > 0.0 && (1..=3).contains(&below_bottleneck) {
                layers.push(LayerSpec::Dropout { prob: self.dropout });
            }
            layers.push(LayerSpec::ConcatSkip);
        }
        layers.extend([
            LayerSpec::Relu,
            LayerSpec::ConvTranspose2d {
                input: 2 * f,
                output: c,
                kernel: 4,
                stride: 2,
                padding: 1,
                output_padding: 0,
                bias: true,
            },
            LayerSpec::Tanh,
        ]);
        layers
    }

    /// The PatchGAN on `[image, upsampled source]` (2·channels): stride-2 convolutions, one
    /// stride-1 convolution, then one logit per patch.
    pub fn discriminator_spec(&self) -> Vec<LayerSpec> {
        let f = self.discriminator_features;
        let n = self.discriminator_layers.max(1);
        let leaky = || LayerSpec::LeakyRelu { slope: 0.2 };
        let mut layers = vec![
            LayerSpec::Conv2d {
                input: 2 * self.channels,
                output: f,
                kernel: 4,
                stride: 2,
                padding: 1,
                bias: true,
            },
            leaky(),
        ];
        for i in 1..=n {
            let stride = if i < n { 2 } else { 1 };
            layers.extend([
                LayerSpec::conv(width(f, i - 1), width(f, i), 4, stride, 1),
                LayerSpec::batch_norm(width(f, i)),
                leaky(),
            ]);
        }
        layers.push(LayerSpec::Conv2d {
            input: width(f, n),
            output: 1,
            kernel: 4,
            stride: 1,
            padding: 1,
            bias: true,
        });
        layers
    }

    pub fn spec(&self) -> GanSpec {
        GanSpec {
            input: GeneratorInput::Source {
                shape: self.source_shape(),
                scale: self.scale,
            },
            label_embedding: 0,
            image_shape: [self.channels, self.image_size, self.image_size],
            generator: self.generator_spec(),
            discriminator: self.discriminator_spec(),
        }
        .with_batch_norm(self.batch_norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::infer_shapes;

    #[test]
    fn the_unet_goes_down_to_its_bottleneck_and_back_with_skips() {
        let config = Pix2PixConfig::new();
        let spec = config.spec();
        spec.check().unwrap();
        let shapes = infer_shapes(&spec.generator, [1, 8, 8]).unwrap();
        let sizes: Vec<usize> = shapes.iter().map(|[_, h, _]| *h).collect();
        assert_eq!(sizes.iter().min(), Some(&2), "32 / 2^4");
        assert_eq!(shapes.last(), Some(&[1, 32, 32]));
        let saves = spec
            .generator
            .iter()
            .filter(|l| **l == LayerSpec::SaveSkip)
            .count();
        assert_eq!(saves, 3, "one skip per level but the bottleneck");

        // The seed's GPU setting: 16×16 → 64×64 RGB, down to 1×1 as pix2pix does.
        let celeba = Pix2PixConfig::new()
            .with_channels(3)
            .with_image_size(64)
            .with_depth(6)
            .with_discriminator_layers(3);
        celeba.spec().check().unwrap();
        let patches = infer_shapes(&celeba.discriminator_spec(), [6, 64, 64]).unwrap();
        assert_eq!(patches.last(), Some(&[1, 6, 6]));
    }

    #[test]
    fn a_depth_the_image_size_cannot_halve_to_is_refused() {
        let err = Pix2PixConfig::new()
            .with_image_size(28)
            .with_depth(3)
            .spec()
            .check()
            .unwrap_err();
        assert_eq!(err.layer, "concat_skip", "{err}");
    }
}
