//! `gantry export`: a checkpoint in, a verified `.onnx` file out.

use crate::graph::generator_model;
use crate::runtime::OrtGenerator;
use anyhow::bail;
use burn::tensor::Device;
use gantry_onnx::contract::{GeneratorInput, ModelMetadata};
use gantry_trainer::eval::report::load_quality;
use gantry_trainer::fs_atomic;
use gantry_trainer::inference::{TrainedRun, generate, translate};
use gantry_trainer::latent::{self, Stream};
use prost::Message;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Run the file in ONNX Runtime and compare with burn before keeping it.
    pub verify: bool,
    /// Largest |Δ| accepted between ONNX Runtime and burn.
    pub tolerance: f32,
    /// Batch sizes the parity check runs.
    pub batches: Vec<usize>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            verify: true,
            tolerance: 1e-5,
            batches: vec![1, 64],
        }
    }
}

/// What an export wrote and measured.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub path: PathBuf,
    pub checkpoint: PathBuf,
    pub bytes: usize,
    pub metadata: ModelMetadata,
    /// `(batch size, max |Δ| between ONNX Runtime and burn)` per parity run.
    pub parity: Vec<(usize, f32)>,
}

impl std::fmt::Display for ExportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} KiB) from {}: {} on {}, {}, image {:?}",
            self.path.display(),
            self.bytes / 1024,
            self.checkpoint.display(),
            self.metadata.model_kind,
            self.metadata.dataset,
            self.metadata.input,
            self.metadata.image_shape
        )?;
        for (batch, diff) in &self.parity {
            write!(
                f,
                "\n  ONNX Runtime vs burn, batch {batch}: max |Δ| = {diff:.2e}"
            )?;
        }
        Ok(())
    }
}

/// Export the generator of `checkpoint` (a run directory or one checkpoint) to `out`.
/// Nothing is written at `out` unless the whole file is written (and verified).
pub fn export_checkpoint(
    checkpoint: &Path,
    out: &Path,
    options: &ExportOptions,
) -> anyhow::Result<ExportReport> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!("{}: the output folder does not exist", parent.display());
    }
    let run = TrainedRun::open(checkpoint, &Device::flex())?;
    let config = &run.config;
    let metadata = ModelMetadata {
        model_kind: config.model.name().into(),
        dataset: config.dataset.to_string(),
        class_names: config.dataset.class_names(),
        input: run.input(),
        image_shape: config.model.image_shape(),
        value_range: [-1.0, 1.0],
        epochs: run.position.epoch,
        steps: run.position.step,
        // Figures `gantry eval` (or training's periodic evaluation) saved beside the weights.
        quality: load_quality(&run.checkpoint)?
            .map(|report| report.figures())
            .unwrap_or_default(),
    };
    let bytes = generator_model(&config.model.spec(), &run.generator, &metadata)?.encode_to_vec();
    let mut parity = Vec::new();
    fs_atomic::write_with(out, |tmp| {
        fs_atomic::write_plain(tmp, &bytes)?;
        if options.verify {
            let mut ort = OrtGenerator::open(tmp)?;
            for &n in &options.batches {
                parity.push((n, parity_at(&run, &mut ort, n, options.tolerance)?));
            }
        }
        Ok(())
    })?;
    Ok(ExportReport {
        path: out.to_path_buf(),
        checkpoint: run.checkpoint,
        bytes: bytes.len(),
        metadata,
        parity,
    })
}

/// The largest |Δ| between burn and ONNX Runtime at batch `n`; an error past `tolerance`.
fn parity_at(
    run: &TrainedRun,
    ort: &mut OrtGenerator,
    n: usize,
    tolerance: f32,
) -> anyhow::Result<f32> {
    let ((expected, expected_shape), (actual, actual_shape)) = match run.input() {
        GeneratorInput::Source {
            shape: [c, h, w], ..
        } => {
            // Any image in [-1, 1] is a source: squashed normal values.
            let mut sources = latent::normal_batch(1, Stream::Sample, n as u64, n, c * h * w);
            sources.iter_mut().for_each(|v| *v = v.tanh());
            let shape = [n, c, h, w];
            (
                translate(&run.generator, sources.clone(), shape, &run.device)?,
                ort.translate(&sources, shape)?,
            )
        }
        GeneratorInput::Latent { dim, classes } => {
            let z = latent::normal_batch(1, Stream::Sample, n as u64, n, dim);
            // Every class in turn, so each row of the embedding table is checked.
            let labels = classes.map(|k| (0..n as i64).map(|i| i % k as i64).collect::<Vec<_>>());
            (
                generate(&run.generator, z.clone(), labels.clone(), dim, &run.device)?,
                ort.generate(&z, n, labels.as_deref())?,
            )
        }
    };
    if actual_shape != expected_shape {
        bail!("ONNX Runtime gives shape {actual_shape:?}, burn {expected_shape:?}");
    }
    let diff = max_abs_diff(&expected, &actual);
    if diff.is_nan() || diff > tolerance {
        bail!("ONNX Runtime and burn differ by {diff:e} at batch {n} (tolerance {tolerance:e})");
    }
    Ok(diff)
}

/// The largest |a - b| (NaN if any difference is NaN).
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let mut worst = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs();
        if d.is_nan() {
            return f32::NAN;
        }
        worst = worst.max(d);
    }
    worst
}
