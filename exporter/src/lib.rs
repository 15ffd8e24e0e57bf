//! gantry's exporter: a trained generator to a standard ONNX file, and the proof that it is
//! the same network.
//!
//! - [`graph`]: the ONNX graph of a network, built from the same [`LayerSpec`]s as the burn
//!   module, with the module's weights (BatchNorm in inference form).
//! - [`ModelMetadata`]: what a consumer needs to present a model (`metadata_props`),
//!   from the contract in `gantry_onnx::contract`, which the browser runtime reads by.
//! - [`export`]: checkpoint in, verified `.onnx` out, written atomically.
//! - [`fidelity`]: the same generator as torch-fidelity's ONNX input reads one (uint8 RGB).
//! - [`onnx_eval`]: ONNX files in `gantry eval`: an exported generator as the image
//!   source, a user's Inception network as the feature extractor.
//! - [`runtime`]: running a file in ONNX Runtime (`ort`, loaded dynamically) for the parity check.
//!
//! [`LayerSpec`]: gantry_trainer::model::LayerSpec

pub mod export;
pub mod fidelity;
pub mod graph;
pub mod onnx_eval;
pub mod runtime;

pub use export::{ExportOptions, ExportReport, ExportTarget, export_checkpoint};
pub use gantry_onnx::contract::{GeneratorInput, ModelMetadata};
pub use graph::{ExportError, generator_model, network_model};
