//! End-to-end checks that cross gantry's crates.
//!
//! - [`fixtures`]: the small exported generator the tests share, reproducible from a seed.
//! - [`imported`]: that file turned into Rust by burn's own ONNX importer at build time.

pub mod fixtures;

/// `fixtures/dcgan28-tiny.onnx` as burn-onnx imports it (generated in `build.rs`).
pub mod imported {
    include!(concat!(env!("OUT_DIR"), "/imported/dcgan28-tiny.rs"));

    /// The imported model with its weights on `device`. (`Model::default()` would load them
    /// onto burn's default device, which is a GPU backend's whenever one is compiled in, as
    /// the tests' build does for `tests/gpu.rs`.)
    pub fn model_on(device: &Device) -> Model {
        Model::from_file(
            concat!(env!("OUT_DIR"), "/imported/dcgan28-tiny.bpk"),
            device,
        )
    }
}
