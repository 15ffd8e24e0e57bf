//! End-to-end checks that cross gantry's crates.
//!
//! - [`fixtures`]: the small exported generator the tests share, reproducible from a seed.
//! - [`imported`]: that file turned into Rust by burn's own ONNX importer at build time.

pub mod fixtures;

/// `fixtures/dcgan28-tiny.onnx` as burn-onnx imports it (generated in `build.rs`).
pub mod imported {
    include!(concat!(env!("OUT_DIR"), "/imported/dcgan28-tiny.rs"));
}
