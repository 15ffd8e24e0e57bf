//! gantry's generator runtime: load an ONNX generator from bytes at run time and run it on
//! burn's CPU backend — natively (tests, tools) or compiled to wasm32 for the web page.
//!
//! - [`value`]: tensors of any rank (burn is rank-typed, ONNX is not) and host-side integers
//!   for the shape arithmetic exporters emit.
//! - [`budget`]: the memory budget every size a file decides is checked against.
//! - [`graph`]: parsing and checking a `ModelProto` into nodes this runtime can run.
//! - [`ops`]: the operators: a registry of typed ops built from each node's attributes.
//! - [`plan`]: the graph compiled at load into steps (constants and BatchNorms folded).
//! - [`runtime`]: [`runtime::Generator`]: load, describe, generate.
//! - [`js`]: the wasm-bindgen API (`Generator.fromBytes`, `metadata()`, `generate()`,
//!   `draw(canvas, …)`, `sampleLatent()`), with its TypeScript declarations.

pub mod budget;
pub mod graph;
pub mod js;
pub mod ops;
pub mod plan;
pub mod runtime;
pub mod value;

pub use runtime::{Generator, RuntimeError};
