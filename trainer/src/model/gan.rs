//! Generator and discriminator: [`Network`]s with the input and output conventions of a
//! GAN, optionally conditioned on a class label.
//!
//! Conditioning follows the cGAN seed (label embeddings in both networks) in the layout
//! PyTorch cGANs use: the generator concatenates a learned embedding of the label to `z`;
//! the discriminator embeds the label as one extra image-sized channel. Both are plain
//! Gather + Concat in ONNX, so the exported generator stays a standard graph.

use super::input_gradient::InputGradientError;
use super::network::Network;
use super::spec::{LayerSpec, SpecError, infer_shapes};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;
use burn::tensor::Int;
use serde::{Deserialize, Serialize};

/// Class conditioning of a GAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditioning {
    /// Number of classes; labels are `0..classes`.
    pub classes: usize,
    /// Width of the generator's label embedding, concatenated to `z`.
    pub embedding_dim: usize,
}

/// Everything that defines a GAN's two networks: the single description both the burn
/// modules and the exported ONNX graph are built from.
#[derive(Debug, Clone, PartialEq)]
pub struct GanSpec {
    pub latent_dim: usize,
    /// `[channels, height, width]` of the images.
    pub image_shape: [usize; 3],
    pub conditioning: Option<Conditioning>,
    pub generator: Vec<LayerSpec>,
    pub discriminator: Vec<LayerSpec>,
}

impl GanSpec {
    /// What the generator's layers see: `[latent (+ embedding), 1, 1]`.
    pub fn generator_input(&self) -> [usize; 3] {
        let embedding = self.conditioning.map_or(0, |c| c.embedding_dim);
        [self.latent_dim + embedding, 1, 1]
    }

    /// What the discriminator's layers see: the image, plus one label channel if conditional.
    pub fn discriminator_input(&self) -> [usize; 3] {
        let [c, h, w] = self.image_shape;
        [c + usize::from(self.conditioning.is_some()), h, w]
    }

    /// Both networks fit their inputs and outputs, or the first layer that does not.
    pub fn check(&self) -> Result<(), SpecError> {
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
        if let Some(c) = self.conditioning
            && (c.classes < 2 || c.embedding_dim == 0)
        {
            return Err(SpecError {
                index: 0,
                layer: "label embedding".into(),
                reason: format!(
                    "needs at least 2 classes and a non-zero width, got {} and {}",
                    c.classes, c.embedding_dim
                ),
            });
        }
        end(
            &self.generator,
            self.generator_input(),
            self.image_shape,
            "generator output",
        )?;
        end(
            &self.discriminator,
            self.discriminator_input(),
            [1, 1, 1],
            "discriminator output",
        )
    }

    pub fn init(&self, device: &Device) -> (Generator, Discriminator) {
        let [_, h, w] = self.image_shape;
        let embedding = |width| {
            self.conditioning
                .map(|c| EmbeddingConfig::new(c.classes, width).init(device))
        };
        let generator = Generator {
            network: Network::init(&self.generator, device),
            label_embedding: embedding(self.conditioning.map_or(0, |c| c.embedding_dim)),
        };
        let discriminator = Discriminator {
            network: Network::init(&self.discriminator, device),
            label_embedding: embedding(h * w),
        };
        (generator, discriminator)
    }
}

/// Embed labels `[n]` to `[n, width]`.
fn embed(embedding: &Embedding, labels: Tensor<1, Int>) -> Tensor<2> {
    let [n] = labels.dims();
    let [_, width] = embedding.weight.dims();
    embedding
        .forward(labels.reshape([n, 1]))
        .reshape([n, width])
}

/// Maps latent vectors `z: [n, latent]` (and labels `[n]` if conditional) to images
/// `[n, c, h, w]` in [-1, 1].
#[derive(Module, Debug)]
pub struct Generator {
    pub network: Network,
    pub label_embedding: Option<Embedding>,
}

impl Generator {
    pub fn is_conditional(&self) -> bool {
        self.label_embedding.is_some()
    }

    /// `labels` is required by a conditional generator and ignored by the others.
    pub fn forward(&self, z: Tensor<2>, labels: Option<Tensor<1, Int>>) -> Tensor<4> {
        let z = match (&self.label_embedding, labels) {
            (Some(embedding), Some(labels)) => Tensor::cat(vec![z, embed(embedding, labels)], 1),
            (Some(_), None) => panic!("a conditional generator needs labels"),
            (None, _) => z,
        };
        let [n, width] = z.dims();
        self.network.forward(z.reshape([n, width, 1, 1]))
    }
}

/// Maps images `[n, c, h, w]` (and labels `[n]` if conditional) to one logit each, `[n, 1]`
/// (probability = sigmoid(logit)).
#[derive(Module, Debug)]
pub struct Discriminator {
    pub network: Network,
    pub label_embedding: Option<Embedding>,
}

impl Discriminator {
    /// The input the network's layers see: images, with the label channel if conditional.
    pub fn network_input(&self, images: Tensor<4>, labels: Option<Tensor<1, Int>>) -> Tensor<4> {
        match (&self.label_embedding, labels) {
            (Some(embedding), Some(labels)) => {
                let [n, _, h, w] = images.dims();
                let channel = embed(embedding, labels).reshape([n, 1, h, w]);
                Tensor::cat(vec![images, channel], 1)
            }
            (Some(_), None) => panic!("a conditional discriminator needs labels"),
            (None, _) => images,
        }
    }

    pub fn forward(&self, images: Tensor<4>, labels: Option<Tensor<1, Int>>) -> Tensor<2> {
        let [n, ..] = images.dims();
        self.network
            .forward(self.network_input(images, labels))
            .reshape([n, 1])
    }

    /// Scores `[n, 1]` and each image's score gradient `∇ₓ D(x)` `[n, c, h, w]`, built from
    /// tracked ops (see [`super::input_gradient`]): a penalty on it trains the critic.
    pub fn forward_with_input_gradient(
        &self,
        images: Tensor<4>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<(Tensor<2>, Tensor<4>), InputGradientError> {
        let [n, c, h, w] = images.dims();
        let (scores, grad) = self
            .network
            .forward_with_input_gradient(self.network_input(images, labels))?;
        // The label channel is not the image: its gradient is dropped.
        Ok((scores.reshape([n, 1]), grad.slice([0..n, 0..c, 0..h, 0..w])))
    }
}
