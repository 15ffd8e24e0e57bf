//! The exported generator the cross-crate tests share, and how to make it again.
//!
//! `fixtures/dcgan28-tiny.onnx` is committed because burn-onnx imports it at build time.
//! It is a narrow DCGAN trained for 40 steps (5 epochs of the first 256 MNIST images) with
//! seed 42: enough for BatchNorm's running statistics to settle, so the images it makes in
//! inference mode have real contrast. The run it was exported from is committed beside it
//! (`fixtures/dcgan28-tiny-run/`: its config and final checkpoint), and a test checks that
//! exporting that checkpoint today gives exactly the committed file. Training itself is
//! not part of that check: its float results depend on which matrix kernels the CPU gets
//! (AVX2 or AVX-512, picked at run time), while exporting a checkpoint does not.

use anyhow::Context;
use gantry_exporter::{ExportOptions, export_checkpoint};
use gantry_trainer::data::DatasetName;
use gantry_trainer::inference::config_path;
use gantry_trainer::model::DcganConfig;
use gantry_trainer::training::checkpoint;
use gantry_trainer::training::{ModelConfig, RunOptions, TrainingConfig, train};
use std::path::{Path, PathBuf};

pub const TINY: &str = "dcgan28-tiny.onnx";

/// The run [`TINY`] is exported from: `config.json` and `checkpoints/<final>/`.
pub const TINY_RUN: &str = "dcgan28-tiny-run";

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

/// Train the tiny run in `work`, keep its config and final checkpoint in `run_out`, and
/// export that checkpoint to `onnx_out` (verified against ONNX Runtime).
pub fn make_tiny(work: &Path, run_out: &Path, onnx_out: &Path) -> anyhow::Result<()> {
    let run = work.join("run");
    let options = RunOptions {
        device: burn::tensor::Device::flex(),
        replica_devices: Vec::new(),
        data_dir: data_dir(),
        show_progress: false,
        log_lines: false,
        stop_after_steps: None,
    };
    train(&run, &tiny_config(), &options)?;
    let checkpoint = checkpoint::resolve(&run)?;
    let name = checkpoint.file_name().context("a checkpoint has a name")?;
    let kept = run_out.join("checkpoints").join(name);
    if run_out.exists() {
        std::fs::remove_dir_all(run_out)?;
    }
    std::fs::create_dir_all(&kept)?;
    std::fs::copy(config_path(&run), config_path(run_out))?;
    for entry in std::fs::read_dir(&checkpoint)? {
        let entry = entry?;
        std::fs::copy(entry.path(), kept.join(entry.file_name()))?;
    }
    export_tiny(run_out, onnx_out)
}

/// Export the committed tiny run (or `run`) to `out`, as the fixture was made.
pub fn export_tiny(run: &Path, out: &Path) -> anyhow::Result<()> {
    export_checkpoint(run, out, &ExportOptions::default())?;
    Ok(())
}
