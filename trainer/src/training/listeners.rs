//! The listeners every run has: the progress bar and log lines, the metrics file, the
//! epoch artefacts (sample grid, loss plot) and the best checkpoint.

use super::checkpoint::{self, Position};
use super::config::TrainingConfig;
use super::events::{EpochDone, EpochStarted, EvaluationDone, Listener, StepDone};
use super::metrics::{self, MetricsRecord, MetricsWriter};
use super::step::StepStats;
use crate::data::ImageDataset;
use crate::inference::{self, Grid};
use crate::latent::{self, Stream};
use crate::model::{Generator, GeneratorInput};
use crate::report;
use crate::report::tensorboard::EventWriter;
use anyhow::Context;
use burn::tensor::Device;
use gantry_onnx::contract::GridLayout;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// The progress bar on a terminal; without one (logs, CI), a plain line every tenth of an
/// epoch if `log_lines`.
pub struct Progress {
    show: bool,
    log_lines: bool,
    bar: ProgressBar,
}

impl Progress {
    pub fn new(show: bool, log_lines: bool) -> Self {
        Self {
            show,
            log_lines,
            bar: ProgressBar::hidden(),
        }
    }
}

fn describe(stats: &StepStats, images_per_sec: f32) -> String {
    format!(
        "loss D {:.3} G {:.3}  D(x) {:.2} D(G(z)) {:.2}  {images_per_sec:.0} img/s",
        stats.loss_d, stats.loss_g, stats.d_real, stats.d_fake
    )
}

impl Listener for Progress {
    fn epoch_started(&mut self, event: &EpochStarted) -> anyhow::Result<()> {
        if !self.show {
            return Ok(());
        }
        let bar = ProgressBar::new(event.batches as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:25}] {pos}/{len} {msg}  ETA {eta}")?
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{}", event.position.epoch + 1, event.epochs));
        bar.set_position(event.position.batch as u64);
        bar.reset_eta();
        self.bar = bar;
        Ok(())
    }

    fn step_done(&mut self, e: &StepDone) -> anyhow::Result<()> {
        let figures = describe(&e.stats, e.images_per_sec);
        if self.log_lines && !self.show && e.batch % e.batches.div_ceil(10) == 0 {
            eprintln!(
                "epoch {}/{} batch {}/{}: {figures}",
                e.epoch + 1,
                e.epochs,
                e.batch,
                e.batches
            );
        }
        self.bar.set_message(figures);
        self.bar.inc(1);
        if e.batch == e.batches {
            self.bar.finish();
        }
        Ok(())
    }

    fn stopped(&mut self, position: Position) {
        self.bar.abandon_with_message(format!(
            "stopped after step {} (resume with --resume)",
            position.step
        ));
    }
}

/// `metrics.jsonl`: a record per step and one per evaluation.
pub struct MetricsFile {
    writer: MetricsWriter,
}

impl MetricsFile {
    /// Open the run's metrics file, dropping records past `step` (see [`MetricsWriter::open`]).
    pub fn open(run_dir: &Path, step: u64) -> anyhow::Result<Self> {
        Ok(Self {
            writer: MetricsWriter::open(run_dir, step)?,
        })
    }
}

fn record(step: u64, epoch: usize, stats: &StepStats, images_per_sec: f32) -> MetricsRecord {
    MetricsRecord {
        step,
        epoch,
        loss_d: stats.loss_d,
        loss_g: stats.loss_g,
        d_real: stats.d_real,
        d_fake: stats.d_fake,
        saturated: stats.saturated,
        images_per_sec,
        quality: None,
    }
}

impl Listener for MetricsFile {
    fn step_done(&mut self, e: &StepDone) -> anyhow::Result<()> {
        self.writer
            .append(&record(e.step, e.epoch + 1, &e.stats, e.images_per_sec))
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.writer.flush()
    }

    fn evaluation_done(&mut self, e: &EvaluationDone) -> anyhow::Result<()> {
        let mut quality = record(e.position.step, e.position.epoch, &e.stats, 0.0);
        quality.quality = Some(e.report.figures().into_iter().collect());
        self.writer.append(&quality)?;
        self.writer.flush()
    }

    fn epoch_done(&mut self, _event: &EpochDone) -> anyhow::Result<()> {
        // The loss plot, drawn next, reads the file.
        self.writer.flush()
    }
}

/// The end-of-epoch artefacts: `samples/epoch-NNN.png` (the fixed-noise grid; an
/// upscaler's: its first training images, upscaled) and `losses.png`; and, before a new
/// run's first step, `samples/real.png` and `samples/epoch-000.png`.
pub struct EpochArtefacts {
    run_dir: PathBuf,
    grid: EpochGrid,
    device: Device,
}

/// What the epoch grid is made of.
enum EpochGrid {
    /// A generator of z: the same latents (and labels) every epoch.
    Latent {
        input: GeneratorInput,
        layout: GridLayout,
        fixed_z: Vec<f32>,
    },
    /// An upscaler: its first `count` training images.
    Source { count: usize, scale: usize },
}

/// The grid of the fixed noise after `epochs_done` epochs: `samples/epoch-NNN.png`.
pub fn epoch_grid(run_dir: &Path, epochs_done: usize) -> PathBuf {
    run_dir
        .join("samples")
        .join(format!("epoch-{epochs_done:03}.png"))
}

impl EpochArtefacts {
    pub fn new(run_dir: &Path, config: &TrainingConfig, device: &Device) -> anyhow::Result<Self> {
        let input = config.model.input();
        let grid = match input {
            GeneratorInput::Source { scale, .. } => EpochGrid::Source {
                count: config.sample_count.min(32),
                scale,
            },
            GeneratorInput::Latent { dim, classes } => {
                let layout = GridLayout::samples(config.sample_count, classes, None)
                    .map_err(anyhow::Error::msg)?;
                let fixed_z =
                    latent::normal_batch(config.seed, Stream::FixedNoise, 0, layout.count, dim);
                EpochGrid::Latent {
                    input,
                    layout,
                    fixed_z,
                }
            }
        };
        Ok(Self {
            run_dir: run_dir.to_path_buf(),
            grid,
            device: device.clone(),
        })
    }
}

impl EpochArtefacts {
    /// Before the first step of a new run: `samples/real.png` (the first training images)
    /// and `samples/epoch-000.png` (the fixed noise through the untrained generator), so a
    /// run's grids start where the Fashion-MNIST seed's progression does and sit beside
    /// real images as the CIFAR-10 and CelebA seeds show them.
    pub fn before_training(
        &self,
        generator: &Generator,
        dataset: &ImageDataset,
    ) -> anyhow::Result<()> {
        let count = match &self.grid {
            EpochGrid::Source { count, .. } => *count,
            EpochGrid::Latent { layout, .. } => layout.count,
        };
        let Grid {
            values,
            shape,
            layout,
        } = inference::real_grid(dataset, count, &self.device)?;
        report::save_grid(
            &values,
            shape,
            Some(layout.columns),
            &self.run_dir.join("samples").join("real.png"),
        )?;
        self.save_grid(generator, dataset, 0)
    }

    /// `samples/epoch-NNN.png` after `epochs_done` epochs.
    fn save_grid(
        &self,
        generator: &Generator,
        dataset: &ImageDataset,
        epochs_done: usize,
    ) -> anyhow::Result<()> {
        let Grid {
            values,
            shape,
            layout,
        } = match &self.grid {
            EpochGrid::Source { count, scale } => {
                inference::translation_grid(generator, dataset, *count, *scale, &self.device)?
            }
            EpochGrid::Latent {
                input,
                layout,
                fixed_z,
            } => inference::latent_grid(
                generator,
                *input,
                layout.clone(),
                fixed_z.clone(),
                &self.device,
            )?,
        };
        let grid = epoch_grid(&self.run_dir, epochs_done);
        report::save_grid(&values, shape, Some(layout.columns), &grid)
    }
}

impl Listener for EpochArtefacts {
    fn epoch_done(&mut self, e: &EpochDone) -> anyhow::Result<()> {
        self.save_grid(e.generator, e.dataset, e.epochs_done)?;
        let records = metrics::read(&metrics::metrics_path(&self.run_dir))?;
        report::save_loss_plot(&records, &self.run_dir.join("losses.png"))
    }
}

/// TensorBoard event files in `tb/` ([`report::tensorboard`]): each step's losses, D
/// outputs and images/s, each evaluation's figures, each epoch's grid. A resumed run adds a
/// file; steps it repeats after its checkpoint appear twice, as in any restarted logger.
pub struct TensorBoard {
    run_dir: PathBuf,
    writer: EventWriter,
    /// The last step heard, where the epoch's grid is shown.
    step: u64,
}

impl TensorBoard {
    pub fn open(run_dir: &Path, step: u64) -> anyhow::Result<Self> {
        Ok(Self {
            run_dir: run_dir.to_path_buf(),
            writer: EventWriter::create(&run_dir.join("tb"))?,
            step,
        })
    }
}

impl Listener for TensorBoard {
    fn step_done(&mut self, e: &StepDone) -> anyhow::Result<()> {
        self.step = e.step;
        let s = &e.stats;
        self.writer.scalars(
            e.step,
            &[
                ("loss/discriminator", s.loss_d),
                ("loss/generator", s.loss_g),
                ("D/real", s.d_real),
                ("D/fake", s.d_fake),
                ("generator/saturated", s.saturated),
                ("speed/images_per_sec", e.images_per_sec),
            ],
        )
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.writer.flush()
    }

    fn evaluation_done(&mut self, e: &EvaluationDone) -> anyhow::Result<()> {
        let figures: Vec<(String, f32)> = e
            .report
            .figures()
            .into_iter()
            .map(|(name, value)| (format!("quality/{name}"), value as f32))
            .collect();
        let named: Vec<(&str, f32)> = figures.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        self.writer.scalars(e.position.step, &named)?;
        self.writer.flush()
    }

    fn epoch_done(&mut self, e: &EpochDone) -> anyhow::Result<()> {
        let grid = epoch_grid(&self.run_dir, e.epochs_done);
        let png =
            std::fs::read(&grid).with_context(|| format!("{}: cannot read", grid.display()))?;
        self.writer.png(self.step, "samples", &png)?;
        self.writer.flush()
    }
}

/// `checkpoints/best`: a copy of the checkpoint with the lowest Fréchet distance so far
/// (also from before a resume).
pub struct BestCheckpoint {
    run_dir: PathBuf,
    best: Option<f64>,
    show: bool,
}

impl BestCheckpoint {
    /// The best so far among the run's evaluation records up to `step`.
    pub fn open(run_dir: &Path, step: u64, show: bool) -> anyhow::Result<Self> {
        let path = metrics::metrics_path(run_dir);
        let best = if path.exists() {
            metrics::read(&path)?
                .iter()
                .filter(|r| r.step <= step)
                .filter_map(|r| r.frechet_distance())
                .reduce(f64::min)
        } else {
            None
        };
        Ok(Self {
            run_dir: run_dir.to_path_buf(),
            best,
            show,
        })
    }
}

impl Listener for BestCheckpoint {
    fn evaluation_done(&mut self, e: &EvaluationDone) -> anyhow::Result<()> {
        let report = e.report;
        let improved = self.best.is_none_or(|best| report.frechet_distance < best);
        if improved {
            self.best = Some(report.frechet_distance);
            checkpoint::copy_as_best(&self.run_dir, e.checkpoint)?;
        }
        if self.show {
            eprintln!(
                "quality after {}: Fréchet distance {:.3} (real {:.3}){}{}",
                e.checkpoint
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy(),
                report.frechet_distance,
                report.baseline_frechet_distance,
                report
                    .class_accuracy
                    .map(|a| format!(", class accuracy {:.1}%", a * 100.0))
                    .unwrap_or_default(),
                if improved { "  (best so far)" } else { "" }
            );
        }
        Ok(())
    }
}
