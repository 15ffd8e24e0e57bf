//! `gantry export`: a checkpoint in, a verified `.onnx` file out.

use crate::graph::generator_model;
use crate::metadata::ModelMetadata;
use crate::runtime::OrtGenerator;
use anyhow::{Context, bail};
use burn::module::Module;
use burn::tensor::Device;
use gantry_trainer::eval::report::load_quality;
use gantry_trainer::latent::{self, Stream};
use gantry_trainer::training::checkpoint;
use gantry_trainer::training::run::{generate, load_run_config, translate};
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
        let input = match self.metadata.source_shape {
            Some(shape) => format!("image_lr {shape:?}"),
            None => format!("latent {}", self.metadata.latent_dim),
        };
        write!(
            f,
            "{} ({} KiB) from {}: {} on {}, {input}, image {:?}",
            self.path.display(),
            self.bytes / 1024,
            self.checkpoint.display(),
            self.metadata.model_kind,
            self.metadata.dataset,
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
    let checkpoint = checkpoint::resolve(checkpoint)?;
    let run_dir = checkpoint::run_dir_of(&checkpoint)
        .filter(|dir| dir.join("config.json").exists())
        .with_context(|| {
            format!(
                "{}: not inside a run directory (no config.json two levels up)",
                checkpoint.display()
            )
        })?;
    let config = load_run_config(&run_dir)?;
    let device = Device::flex();
    let (state, position) = checkpoint::load(&checkpoint, &config, &device.clone().autodiff())?;
    let generator = state.generator.valid();
    let metadata = ModelMetadata {
        model_kind: config.model.name().into(),
        dataset: config.dataset.to_string(),
        class_names: config.dataset.class_names(),
        conditional: config.model.classes().is_some(),
        latent_dim: config.model.latent_dim(),
        image_shape: config.model.image_shape(),
        source_shape: config.model.source_shape(),
        value_range: [-1.0, 1.0],
        epochs: position.epoch,
        steps: position.step,
        // Figures `gantry eval` (or training's periodic evaluation) saved beside the weights.
        quality: load_quality(&checkpoint)?
            .map(|report| report.figures())
            .unwrap_or_default(),
    };
    let model = generator_model(&config.model.spec(), &generator, &metadata)?;
    let bytes = model.encode_to_vec();

    let tmp = temp_path(out);
    write_new(&tmp, &bytes)?;
    let result = (|| {
        let mut parity = Vec::new();
        if options.verify {
            let mut ort = OrtGenerator::open(&tmp)?;
            for &n in &options.batches {
                let ((expected, expected_shape), (actual, actual_shape)) = if let Some([c, h, w]) =
                    metadata.source_shape
                {
                    // Any image in [-1, 1] is a source: squashed normal values.
                    let mut sources =
                        latent::normal_batch(1, Stream::Sample, n as u64, n, c * h * w);
                    sources.iter_mut().for_each(|v| *v = v.tanh());
                    let shape = [n, c, h, w];
                    (
                        translate(&generator, sources.clone(), shape, &device),
                        ort.translate(&sources, shape)?,
                    )
                } else {
                    let z =
                        latent::normal_batch(1, Stream::Sample, n as u64, n, metadata.latent_dim);
                    // Every class in turn, so each row of the embedding table is checked.
                    let labels = config
                        .model
                        .classes()
                        .map(|k| (0..n as i64).map(|i| i % k as i64).collect::<Vec<_>>());
                    (
                        generate(
                            &generator,
                            z.clone(),
                            labels.clone(),
                            metadata.latent_dim,
                            &device,
                        ),
                        ort.generate(&z, n, labels.as_deref())?,
                    )
                };
                if actual_shape != expected_shape {
                    bail!("ONNX Runtime gives shape {actual_shape:?}, burn {expected_shape:?}");
                }
                let diff = max_abs_diff(&expected, &actual);
                if diff.is_nan() || diff > options.tolerance {
                    bail!(
                        "ONNX Runtime and burn differ by {diff:e} at batch {n} (tolerance {:e})",
                        options.tolerance
                    );
                }
                parity.push((n, diff));
            }
        }
        std::fs::rename(&tmp, out).with_context(|| format!("{}: cannot write", out.display()))?;
        Ok(parity)
    })();
    match result {
        Ok(parity) => Ok(ExportReport {
            path: out.to_path_buf(),
            checkpoint,
            bytes: bytes.len(),
            metadata,
            parity,
        }),
        Err(e) => {
            std::fs::remove_file(&tmp).ok();
            Err(e)
        }
    }
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

fn temp_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model.onnx".into());
    out.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            bail!("{}: the output folder does not exist", parent.display());
        }
    }
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
