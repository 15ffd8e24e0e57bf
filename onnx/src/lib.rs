//! The part of the ONNX schema (`onnx.proto`, IR version 8+) that gantry writes and reads,
//! and the contract every exported generator keeps.
//!
//! Hand-declared `prost` messages with the official field numbers: no `protoc` or build
//! script, and the same types compile for the exporter (native) and the browser runtime
//! (wasm32). Fields gantry does not model are skipped when decoding, so files written by
//! other tools (PyTorch's `torch.onnx.export`) decode too.
//!
//! - [`proto`]: the messages.
//! - [`build`]: small constructors for tensors, attributes, nodes and typed values.
//! - [`external`]: weights kept in files beside the `.onnx` (external data), read in.
//! - [`contract`]: what a generator takes and makes, its `gantry.*` metadata, the layout
//!   of a sample grid and an upscaler's pictures — the one description the trainer, the
//!   exporter, the browser runtime and (through it) the page share.

pub mod build;
pub mod contract;
pub mod external;
pub mod proto;

pub use proto::*;

/// The IR version gantry writes (ONNX 1.13+).
pub const IR_VERSION: i64 = 8;
/// The default-domain opset gantry writes.
pub const OPSET_VERSION: i64 = 17;
