//! `gantry export`: a checkpoint in, a verified `.onnx` file out.

use crate::fidelity::for_torch_fidelity;
use crate::graph::generator_model;
use crate::runtime::OrtGenerator;
use anyhow::bail;
use burn::tensor::Device;
use gantry_onnx::contract::{GeneratorInput, ModelMetadata, grid};
use gantry_trainer::eval::report::load_quality;
use gantry_trainer::fs_atomic;
use gantry_trainer::inference::{TrainedRun, generate, translate};
use gantry_trainer::latent::{self, Stream};
use gantry_trainer::training::checkpoint::GeneratorWeights;
use prost::Message;
use std::path::{Path, PathBuf};

/// Who reads the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportTarget {
    /// gantry's contract: float images in the value range, named inputs, metadata; what the
    /// page, `gantry eval --generator` and any ONNX runtime read.
    #[default]
    Gantry,
    /// torch-fidelity's ONNX generator input: uint8 RGB `[N, 3, H, W]` ([`crate::fidelity`]).
    TorchFidelity,
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The file's consumer.
    pub target: ExportTarget,
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
            target: ExportTarget::Gantry,
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
    /// `(batch size, max |Δ| between ONNX Runtime and burn)` per parity run: in values, or
    /// for a torch-fidelity file in byte levels.
    pub parity: Vec<(usize, f32)>,
    pub target: ExportTarget,
    /// The generator's moving average (`ema_decay`) rather than the trained weights.
    pub moving_average: bool,
    /// Set when the generator's outputs look dead (NaN, saturated, constant): `dead_model`.
    pub warning: Option<String>,
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
        if self.moving_average {
            write!(f, "\n  weights: the generator's moving average (ema_decay)")?;
        }
        for (batch, diff) in &self.parity {
            match self.target {
                ExportTarget::Gantry => write!(
                    f,
                    "\n  ONNX Runtime vs burn, batch {batch}: max |Δ| = {diff:.2e}"
                )?,
                ExportTarget::TorchFidelity => write!(
                    f,
                    "\n  ONNX Runtime's uint8 images vs burn's as PNG bytes, batch {batch}: max |Δ| = {diff} level(s)"
                )?,
            }
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
    let model = generator_model(&config.model.spec(), &run.generator, &metadata)?;
    let bytes = match options.target {
        ExportTarget::Gantry => model,
        ExportTarget::TorchFidelity => for_torch_fidelity(model, &metadata)?,
    }
    .encode_to_vec();
    let warning = {
        let (values, shape) = burn_draws(&run, &inputs(&run, 16))?;
        dead_model(&values, shape)
            .map(|why| format!("this generator may be dead: {why}; the file is written anyway"))
    };
    let mut parity = Vec::new();
    fs_atomic::write_with(out, |tmp| {
        fs_atomic::write_plain(tmp, &bytes)?;
        if options.verify {
            let mut ort = OrtGenerator::open(tmp)?;
            for &n in &options.batches {
                parity.push((
                    n,
                    match options.target {
                        ExportTarget::Gantry => parity_at(&run, &mut ort, n, options.tolerance)?,
                        ExportTarget::TorchFidelity => {
                            byte_parity_at(&run, &mut ort, n, metadata.value_range)?
                        }
                    },
                ));
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
        target: options.target,
        moving_average: run.weights == GeneratorWeights::MovingAverage,
        warning,
    })
}

/// What both runtimes are given at batch `n`: fixed inputs, so burn and ONNX Runtime see
/// the same ones.
enum Inputs {
    /// An upscaler's sources: any image in [-1, 1] is one, so squashed normal values.
    Sources(Vec<f32>, [usize; 4]),
    /// z, and every class in turn so each row of the embedding table is checked.
    Latents {
        z: Vec<f32>,
        labels: Option<Vec<i64>>,
        dim: usize,
        n: usize,
    },
}

fn inputs(run: &TrainedRun, n: usize) -> Inputs {
    match run.input() {
        GeneratorInput::Source {
            shape: [c, h, w], ..
        } => {
            let mut sources = latent::normal_batch(1, Stream::Sample, n as u64, n, c * h * w);
            sources.iter_mut().for_each(|v| *v = v.tanh());
            Inputs::Sources(sources, [n, c, h, w])
        }
        GeneratorInput::Latent { dim, classes } => Inputs::Latents {
            z: latent::normal_batch(1, Stream::Sample, n as u64, n, dim),
            labels: classes.map(|k| (0..n as i64).map(|i| i % k as i64).collect()),
            dim,
            n,
        },
    }
}

type Images = (Vec<f32>, [usize; 4]);

fn burn_draws(run: &TrainedRun, inputs: &Inputs) -> anyhow::Result<Images> {
    match inputs {
        Inputs::Sources(sources, shape) => {
            translate(&run.generator, sources.clone(), *shape, &run.device)
        }
        Inputs::Latents { z, labels, dim, .. } => {
            generate(&run.generator, z.clone(), labels.clone(), *dim, &run.device)
        }
    }
}

fn ort_draws(ort: &mut OrtGenerator, inputs: &Inputs) -> anyhow::Result<(Vec<f32>, Vec<usize>)> {
    match inputs {
        Inputs::Sources(sources, shape) => ort.translate(sources, *shape),
        Inputs::Latents { z, labels, n, .. } => ort.generate(z, *n, labels.as_deref()),
    }
}

/// The largest |Δ| between burn and ONNX Runtime at batch `n`; an error past `tolerance`.
fn parity_at(
    run: &TrainedRun,
    ort: &mut OrtGenerator,
    n: usize,
    tolerance: f32,
) -> anyhow::Result<f32> {
    let inputs = inputs(run, n);
    let (expected, expected_shape) = burn_draws(run, &inputs)?;
    let (actual, actual_shape) = ort_draws(ort, &inputs)?;
    if actual_shape != expected_shape {
        bail!("ONNX Runtime gives shape {actual_shape:?}, burn {expected_shape:?}");
    }
    let diff = max_abs_diff(&expected, &actual);
    if diff.is_nan() || diff > tolerance {
        bail!("ONNX Runtime and burn differ by {diff:e} at batch {n} (tolerance {tolerance:e})");
    }
    Ok(diff)
}

/// The torch-fidelity file's bytes against burn's images made bytes as gantry's PNGs are
/// (grey repeated to RGB): the largest difference in levels. burn and ONNX Runtime agree to
/// ~1e-6, so a value that close to a rounding boundary may land one level apart; more is
/// an error.
fn byte_parity_at(
    run: &TrainedRun,
    ort: &mut OrtGenerator,
    n: usize,
    range: [f32; 2],
) -> anyhow::Result<f32> {
    let inputs = inputs(run, n);
    let Inputs::Latents { z, labels, .. } = &inputs else {
        bail!("torch-fidelity files are for generators that draw from noise");
    };
    let (expected, [_, c, h, w]) = burn_draws(run, &inputs)?;
    let (actual, shape) = ort.generate_bytes(z, n, labels.as_deref())?;
    if shape != [n, 3, h, w] {
        bail!("ONNX Runtime gives shape {shape:?}, not [{n}, 3, {h}, {w}]");
    }
    let mut worst = 0u8;
    for (i, &got) in actual.iter().enumerate() {
        let (image, rest) = (i / (3 * h * w), i % (3 * h * w));
        let channel = if c == 1 { 0 } else { rest / (h * w) };
        let want = grid::byte(
            expected[(image * c + channel) * h * w + rest % (h * w)],
            range,
        );
        worst = worst.max(got.abs_diff(want));
    }
    if worst > 1 {
        bail!("ONNX Runtime's bytes differ from burn's by {worst} levels at batch {n}");
    }
    Ok(worst as f32)
}

/// Why a batch of generated images looks like a dead model, if it does: NaN, nearly every
/// value pinned at ±1 (a diverged run), or the same image whatever the input (collapse).
pub fn dead_model(values: &[f32], [n, ..]: [usize; 4]) -> Option<String> {
    if values.iter().any(|v| !v.is_finite()) {
        return Some("it outputs NaN or infinite values".into());
    }
    let saturated = values.iter().filter(|v| v.abs() >= 0.999).count() as f64;
    let fraction = saturated / values.len().max(1) as f64;
    if fraction >= 0.99 {
        return Some(format!(
            "{:.1}% of its output values are at ±1 (a diverged run looks like this)",
            100.0 * fraction
        ));
    }
    let per_image = values.len() / n.max(1);
    if n >= 2 && per_image > 0 {
        let first = &values[..per_image];
        let spread = values
            .chunks_exact(per_image)
            .flat_map(|image| image.iter().zip(first).map(|(a, b)| (a - b).abs()))
            .fold(0.0f32, f32::max);
        if spread < 1e-3 {
            return Some(format!(
                "all {n} inputs give the same image (largest difference {spread:.1e})"
            ));
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::dead_model;

    #[test]
    fn dead_generators_are_recognised_and_live_ones_are_not() {
        let shape = [4, 1, 2, 2];
        let live: Vec<f32> = (0..16)
            .map(|i| ((i * 7) % 11) as f32 / 11.0 - 0.5)
            .collect();
        assert_eq!(dead_model(&live, shape), None);
        // Mostly background at -1, as a trained MNIST generator draws, is alive.
        let mut digits = vec![-1.0f32; 16];
        digits[3] = 0.4;
        digits[9] = 0.9;
        assert_eq!(dead_model(&digits, shape), None);

        let mut nan = live.clone();
        nan[5] = f32::NAN;
        assert!(dead_model(&nan, shape).unwrap().contains("NaN"));
        let saturated = vec![1.0f32; 16];
        assert!(
            dead_model(&saturated, shape)
                .unwrap()
                .contains("100.0% of its output values are at ±1")
        );
        let same: Vec<f32> = (0..16).map(|i| (i % 4) as f32 * 0.1).collect();
        assert!(
            dead_model(&same, shape)
                .unwrap()
                .contains("all 4 inputs give the same image")
        );
    }
}
