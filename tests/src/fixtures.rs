//! The exported generator the cross-crate tests share, and how to make it again.
//!
//! `fixtures/dcgan28-tiny.onnx` is committed because burn-onnx imports it at build time.
//! It is a narrow DCGAN trained for 40 steps (5 epochs of the first 256 MNIST images) with
//! seed 42: enough for BatchNorm's running statistics to settle, so the images it makes in
//! inference mode have real contrast. Every step is deterministic, and a test checks that
//! the committed file is exactly what the exporter writes today.

use gantry_exporter::{ExportOptions, export_checkpoint};
use gantry_trainer::data::DatasetName;
use gantry_trainer::model::DcganConfig;
use gantry_trainer::training::{ModelConfig, RunOptions, TrainingConfig, train};
use std::path::{Path, PathBuf};

pub const TINY: &str = "dcgan28-tiny.onnx";

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn data_dir() -> PathBuf {
    std::env::var_os("GANTRY_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"))
}

pub fn tiny_config() -> TrainingConfig {
    TrainingConfig::new()
        .with_dataset(DatasetName::Mnist)
        .with_limit(Some(256))
        .with_batch_size(32)
        .with_epochs(5)
        .with_sample_count(4)
        .with_model(ModelConfig::Dcgan28(
            DcganConfig::new()
                .with_generator_features(8)
                .with_discriminator_features(8),
        ))
}

/// Train the tiny run in `work` and export it to `out` (verified against ONNX Runtime).
pub fn make_tiny(work: &Path, out: &Path) -> anyhow::Result<()> {
    let run = work.join("run");
    let options = RunOptions {
        device: burn::tensor::Device::flex(),
        data_dir: data_dir(),
        show_progress: false,
        log_lines: false,
        stop_after_steps: None,
    };
    train(&run, &tiny_config(), &options)?;
    export_checkpoint(&run, out, &ExportOptions::default())?;
    Ok(())
}
