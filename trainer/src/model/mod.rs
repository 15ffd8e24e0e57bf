//! Networks, each described once as a list of [`LayerSpec`]s.
//!
//! The spec is the single source of truth: [`Network`] builds the burn module from it, and
//! `gantry-exporter` builds the ONNX graph from the same spec and the module's weights, so
//! the two cannot drift.
//!
//! - [`spec`]: the layer vocabulary and shape inference.
//! - [`network`]: the burn module built from a spec.
//! - [`dcgan`]: the DCGAN generator and discriminator for 28×28 images.
//! - [`cgan`]: conditional GANs for 28×28 images (conv and MLP), the cGAN seed's.
//! - [`gan`]: generator, discriminator and [`GanSpec`], the one description of a GAN,
//!   with optional label conditioning.
//! - [`init`]: reproducible weight initialisation from gantry's own seeded streams.

pub mod cgan;
pub mod dcgan;
pub mod gan;
pub mod init;
pub mod network;
pub mod spec;

pub use cgan::{CganConvConfig, CganMlpConfig};
pub use dcgan::DcganConfig;
pub use gan::{Conditioning, Discriminator, GanSpec, Generator};
pub use network::{Layer, Network};
pub use spec::{LayerSpec, SpecError};
