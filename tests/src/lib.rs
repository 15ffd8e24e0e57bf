//! End-to-end checks that cross gantry's crates.
//!
//! - [`fixtures`]: the small exported generator the tests share, reproducible from a seed.
//! - [`imported`]: that file as burn's own ONNX importer turns it into Rust (committed,
//!   checked against a fresh import by `tests/burn_import.rs`).

pub mod fixtures;

/// `fixtures/dcgan28-tiny.onnx` as burn-onnx imports it (`fixtures/imported/`, written by
/// `cargo run -p gantry-tests --bin make-fixtures`).
pub mod imported {
    include!("../fixtures/imported/dcgan28-tiny.rs");

    /// The imported model with its weights on `device`. (Loaded explicitly: burn's default
    /// device is a GPU backend's whenever one is compiled in, as the tests' build does for
    /// `tests/gpu.rs`.)
    pub fn model_on(device: &Device) -> Model {
        let weights = include_bytes!("../fixtures/imported/dcgan28-tiny.bpk");
        Model::from_bytes(Bytes::from_bytes_vec(weights.to_vec()), device)
    }
}
