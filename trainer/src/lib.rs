//! gantry's trainer: everything needed to train a GAN with burn and keep what it learned.
//!
//! - [`data`]: datasets in their standard files (IDX for MNIST / Fashion-MNIST), their
//!   download, and batching with a reproducible shuffle.
//! - [`model`]: networks described once as a list of [`model::LayerSpec`]s, from which the
//!   burn module (here) and the ONNX graph (in `gantry-exporter`) are both built.
//! - [`training`]: the adversarial training loop, its config, checkpoints that resume
//!   exactly, and the metrics it records.
//! - [`inference`]: a trained run opened ([`inference::TrainedRun`]), images for latents
//!   or sources, and the grids people look at.
//! - [`eval`]: sample quality in numbers: a classifier per dataset, Fréchet distance,
//!   Inception-style score, precision/recall, conditional accuracy.
//! - [`report`]: what a person looks at: sample grids and loss plots.
//! - [`latent`]: the seeded latent sampler, the same on every platform.
//! - [`bench`]: training-speed figures (`gantry bench`, `cargo bench`).
//! - [`device`]: picking the burn device (`cpu`, `cuda:N`) at run time.
//! - [`fs_atomic`]: files written whole or not at all (temp file, then rename).

pub mod bench;
pub mod data;
pub mod device;
pub mod eval;
pub mod fs_atomic;
pub mod inference;
pub mod kernels;
pub mod latent;
pub mod model;
pub mod report;
pub mod training;
