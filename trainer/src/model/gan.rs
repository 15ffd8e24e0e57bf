//! Generator and discriminator: a [`Network`] with the input and output conventions of a GAN.

use super::network::Network;
use super::spec::{LayerSpec, SpecError, infer_shapes};
use burn::prelude::*;

/// Maps latent vectors `z: [n, latent]` to images `[n, c, h, w]` in [-1, 1].
#[derive(Module, Debug)]
pub struct Generator {
    pub network: Network,
}

impl Generator {
    pub fn init(layers: &[LayerSpec], device: &Device) -> Self {
        Self {
            network: Network::init(layers, device),
        }
    }

    pub fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let [n, latent] = z.dims();
        self.network.forward(z.reshape([n, latent, 1, 1]))
    }
}

/// Maps images `[n, c, h, w]` to one logit each, `[n, 1]` (probability = sigmoid(logit)).
#[derive(Module, Debug)]
pub struct Discriminator {
    pub network: Network,
}

impl Discriminator {
    pub fn init(layers: &[LayerSpec], device: &Device) -> Self {
        Self {
            network: Network::init(layers, device),
        }
    }

    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let [n, ..] = images.dims();
        self.network.forward(images).reshape([n, 1])
    }
}

/// Check that a generator spec maps `[latent, 1, 1]` to `image` and a discriminator spec
/// maps `image` to `[1, 1, 1]`.
pub fn check_pair(
    generator: &[LayerSpec],
    discriminator: &[LayerSpec],
    latent_dim: usize,
    image: [usize; 3],
) -> Result<(), SpecError> {
    let end = |layers: &[LayerSpec], input, expected: [usize; 3], what: &str| {
        let shapes = infer_shapes(layers, input)?;
        let out = *shapes.last().expect("input shape");
        if out != expected {
            return Err(SpecError {
                index: layers.len().saturating_sub(1),
                layer: what.to_string(),
                reason: format!("network ends in {out:?}, expected {expected:?}"),
            });
        }
        Ok(())
    };
    end(generator, [latent_dim, 1, 1], image, "generator output")?;
    end(discriminator, image, [1, 1, 1], "discriminator output")
}
