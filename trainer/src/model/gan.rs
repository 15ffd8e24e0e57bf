//! Generator and discriminator: [`Network`]s with the input and output conventions of a
//! GAN, optionally conditioned on a class label.
//!
//! A translation GAN (Pix2Pix) has a `source` image instead of `z`: the generator maps the
//! source (a low-resolution image) to the target image, and the discriminator judges the
//! target beside the source, upsampled to its size.
//!
//! Conditioning follows the cGAN seed (label embeddings in both networks) in the layout
//! PyTorch cGANs use: the generator concatenates a learned embedding of the label to `z`;
//! the discriminator embeds the label as one extra image-sized channel. Both are plain
//! Gather + Concat in ONNX, so the exported generator stays a standard graph.

use super::input_gradient::InputGradientError;
use super::network::{Network, upsample_nearest};
use super::spec::{BatchNormSettings, LayerSpec, SpecError, infer_shapes};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;
use burn::tensor::Int;
pub use gantry_onnx::contract::GeneratorInput;

/// Everything that defines a GAN's two networks: the single description both the burn
/// modules and the exported ONNX graph are built from.
#[derive(Debug, Clone, PartialEq)]
pub struct GanSpec {
    /// What the generator takes: a latent vector (and a label), or a source image. The same
    /// type describes the exported file (`gantry_onnx::contract`).
    pub input: GeneratorInput,
    /// Width of a conditional generator's label embedding, concatenated to `z` (0 otherwise).
    pub label_embedding: usize,
    /// `[channels, height, width]` of the images.
    pub image_shape: [usize; 3],
    pub generator: Vec<LayerSpec>,
    pub discriminator: Vec<LayerSpec>,
}

impl GanSpec {
    /// Every BatchNorm layer of both networks with `settings`.
    pub fn with_batch_norm(self, settings: BatchNormSettings) -> Self {
        let apply = |layers: Vec<LayerSpec>| {
            layers
                .into_iter()
                .map(|layer| layer.with_batch_norm(settings))
                .collect()
        };
        Self {
            generator: apply(self.generator),
            discriminator: apply(self.discriminator),
            ..self
        }
    }

    /// What the generator's layers see: `[latent (+ embedding), 1, 1]`, or the source image.
    pub fn generator_input(&self) -> [usize; 3] {
        match self.input {
            GeneratorInput::Latent { dim, classes } => {
                let embedding = if classes.is_some() {
                    self.label_embedding
                } else {
                    0
                };
                [dim + embedding, 1, 1]
            }
            GeneratorInput::Source { shape, .. } => shape,
        }
    }

    /// What the discriminator's layers see: the image, plus one label channel if
    /// conditional, plus the upsampled source's channels if a translation model.
    pub fn discriminator_input(&self) -> [usize; 3] {
        let [c, h, w] = self.image_shape;
        let extra = match self.input {
            GeneratorInput::Latent { classes, .. } => usize::from(classes.is_some()),
            GeneratorInput::Source {
                shape: [sc, ..], ..
            } => sc,
        };
        [c + extra, h, w]
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
        self.input
            .check(self.image_shape)
            .map_err(|reason| SpecError {
                index: 0,
                layer: "generator input".into(),
                reason,
            })?;
        if self.input.is_conditional() && self.label_embedding == 0 {
            return Err(SpecError {
                index: 0,
                layer: "label embedding".into(),
                reason: "a conditional generator needs a label embedding wider than 0".into(),
            });
        }
        end(
            &self.generator,
            self.generator_input(),
            self.image_shape,
            "generator output",
        )?;
        if let GeneratorInput::Source { .. } = self.input {
            // A PatchGAN: one logit per patch, any number of patches.
            let shapes = infer_shapes(&self.discriminator, self.discriminator_input())?;
            return match shapes.last() {
                Some([1, ..]) => Ok(()),
                other => Err(SpecError {
                    index: self.discriminator.len().saturating_sub(1),
                    layer: "discriminator output".into(),
                    reason: format!("network ends in {other:?}, expected one channel of logits"),
                }),
            };
        }
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
            self.input
                .classes()
                .map(|classes| EmbeddingConfig::new(classes, width).init(device))
        };
        let generator = Generator {
            network: Network::init(&self.generator, device),
            label_embedding: embedding(self.label_embedding),
        };
        let discriminator = Discriminator {
            network: Network::init(&self.discriminator, device),
            label_embedding: embedding(h * w),
        };
        (generator, discriminator)
    }
}

/// What a generator runs on: the tensors of a [`GeneratorInput`].
#[derive(Debug, Clone)]
pub enum GeneratorFeed {
    /// Latent vectors `[n, latent]`, and labels `[n]` for a conditional generator.
    Latent {
        z: Tensor<2>,
        labels: Option<Tensor<1, Int>>,
    },
    /// Source images `[n, c, h, w]` of an upscaler.
    Source(Tensor<4>),
}

/// A feed of the wrong kind for the generator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FeedError(&'static str);

impl FeedError {
    pub const fn new(reason: &'static str) -> Self {
        Self(reason)
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
/// `[n, c, h, w]` in [-1, 1]; an upscaler maps source images to larger ones.
#[derive(Module, Debug)]
pub struct Generator {
    pub network: Network,
    pub label_embedding: Option<Embedding>,
}

impl Generator {
    pub fn is_conditional(&self) -> bool {
        self.label_embedding.is_some()
    }

    /// Images `[n, c, h, w]` for `feed`; an error when the feed is not of this generator's
    /// kind (labels for an unconditional one, none for a conditional one).
    pub fn forward(&self, feed: GeneratorFeed) -> Result<Tensor<4>, FeedError> {
        let z = match (feed, &self.label_embedding) {
            (GeneratorFeed::Source(source), _) => return Ok(self.network.forward(source)),
            (GeneratorFeed::Latent { z, labels: None }, None) => z,
            (
                GeneratorFeed::Latent {
                    z,
                    labels: Some(labels),
                },
                Some(embedding),
            ) => Tensor::cat(vec![z, embed(embedding, labels)], 1),
            (GeneratorFeed::Latent { labels: None, .. }, Some(_)) => {
                return Err(FeedError("a conditional generator needs labels"));
            }
            (
                GeneratorFeed::Latent {
                    labels: Some(_), ..
                },
                None,
            ) => {
                return Err(FeedError("an unconditional generator takes no labels"));
            }
        };
        let [n, width] = z.dims();
        Ok(self.network.forward(z.reshape([n, width, 1, 1])))
    }
}

/// Maps images `[n, c, h, w]` (and labels `[n]` if conditional) to one logit each, `[n, 1]`
/// (probability = sigmoid(logit)); a PatchGAN judging a translation gives one logit per
/// patch, `[n, patches]`.
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

    /// Patch logits `[n, patches]` for target images beside their sources (Pix2Pix): the
    /// network sees `[image, source upsampled to the image's size]`.
    pub fn forward_paired(&self, images: Tensor<4>, source: Tensor<4>) -> Tensor<2> {
        let [n, _, h, _] = images.dims();
        let [.., sh, _] = source.dims();
        let input = Tensor::cat(vec![images, upsample_nearest(source, h / sh)], 1);
        let logits = self.network.forward(input);
        let [_, c, ph, pw] = logits.dims();
        logits.reshape([n, c * ph * pw])
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
