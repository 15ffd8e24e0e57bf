//! Networks, each described once as a list of [`LayerSpec`]s.
//!
//! The spec is the single source of truth: [`Network`] builds the burn module from it, and
//! `gantry-exporter` builds the ONNX graph from the same spec and the module's weights, so
//! the two cannot drift.
//!
//! - [`spec`]: the layer vocabulary and shape inference.
//! - [`network`]: the burn module built from a spec.
//! - [`dcgan`]: the DCGAN generator and discriminator for 28×28 images.
//! - [`dcgan_tf`]: the Fashion-MNIST seed's TensorFlow-tutorial DCGAN (dense start, k5 'same').
//! - [`dcgan64`]: 64×64 DCGAN (the CIFAR-10 seed) and WGAN-GP (the CelebA seed).
//! - [`cgan`]: conditional GANs for 28×28 images (conv and MLP), the cGAN seed's.
//! - [`pix2pix`]: U-Net + PatchGAN super-resolution, the high-resolution seed's.
//! - [`gan`]: generator, discriminator and [`GanSpec`], the one description of a GAN: what
//!   its generator takes ([`GeneratorInput`]: z, z and a label, or a source image).
//! - [`init`]: reproducible weight initialisation from gantry's own seeded streams.
//! - [`input_gradient`]: a network's input-gradient as tracked ops, for WGAN-GP.

pub mod cgan;
pub mod dcgan;
pub mod dcgan64;
pub mod dcgan_tf;
pub mod gan;
pub mod init;
pub mod input_gradient;
pub mod network;
pub mod pix2pix;
pub mod spec;

pub use cgan::{CganActivation, CganConvConfig, CganDiscriminator, CganMlpConfig};
pub use dcgan::DcganConfig;
pub use dcgan_tf::DcganTfConfig;
pub use dcgan64::{Dcgan64Config, WganGp64Config};
pub use gan::{Discriminator, FeedError, GanSpec, Generator, GeneratorFeed, GeneratorInput};
pub use init::WeightInit;
pub use input_gradient::InputGradientError;
pub use network::{Layer, Network, downsample_mean, upsample_nearest};
pub use pix2pix::Pix2PixConfig;
pub use spec::{BatchNormSettings, LayerSpec, SpecError};
