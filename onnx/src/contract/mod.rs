//! The contract of an exported generator, described once.
//!
//! The trainer writes runs and grids by it, the exporter writes `.onnx` files by it, the
//! browser runtime reads files by it and the page (through the wasm API) draws by it, so
//! none of them can disagree with another:
//!
//! - [`io`]: what a generator takes ([`GeneratorInput`]) and the names of its inputs and
//!   output.
//! - [`metadata`]: the `gantry.*` `metadata_props` ([`ModelMetadata`]), their keys and their
//!   conversion to and from the file.
//! - [`grid`]: which images a sample grid shows and how they are laid out and drawn.
//! - [`pictures`]: an upscaler's sources (block means of the target) and the
//!   source / upscale / original triples it is shown as.

pub mod grid;
pub mod io;
pub mod metadata;
pub mod pictures;

pub use grid::{GridLayout, Picture};
pub use io::{GeneratorInput, IMAGE_OUTPUT, LABEL_INPUT, LATENT_INPUT, SOURCE_INPUT};
pub use metadata::ModelMetadata;
