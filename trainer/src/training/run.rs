//! The training loop: batches, steps, progress, sample grids, metrics, checkpoints.

use super::checkpoint::{self, Position};
use super::config::TrainingConfig;
use super::metrics::{self, MetricsRecord, MetricsWriter};
use super::step::{GanState, StepStats, noise};
use crate::data::{Batcher, ImageDataset, Split};
use crate::latent::{self, Stream};
use crate::model::{Generator, downsample_mean, upsample_nearest};
use crate::{fs_atomic, report};
use anyhow::{Context, bail};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How a run is carried out (not part of what it computes).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub device: Device,
    pub data_dir: PathBuf,
    pub show_progress: bool,
    /// Without a progress bar (logs, CI), print a plain line every tenth of an epoch.
    pub log_lines: bool,
    /// Stop (with a checkpoint) once this many steps in total are done: a run cut short on
    /// purpose, to be continued with `--resume`.
    pub stop_after_steps: Option<u64>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    pub steps: u64,
    pub last_checkpoint: PathBuf,
    pub last_stats: Option<StepStats>,
    pub finished: bool,
}

pub fn config_path(run_dir: &Path) -> PathBuf {
    run_dir.join("config.json")
}

/// Start a new run in `run_dir`, which must not hold a run already.
pub fn train(
    run_dir: &Path,
    config: &TrainingConfig,
    options: &RunOptions,
) -> anyhow::Result<RunSummary> {
    config.check()?;
    if config_path(run_dir).exists() {
        bail!(
            "{} already holds a run: continue it with `gantry train --resume {0}` or choose another --out",
            run_dir.display()
        );
    }
    let dataset = load_dataset(config, &options.data_dir)?;
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("{}: cannot create", run_dir.display()))?;
    fs_atomic::write(&config_path(run_dir), &serde_json::to_vec_pretty(config)?)?;

    let device = options.device.clone().autodiff();
    let state = GanState::init(config, &device);
    run_loop(
        run_dir,
        config,
        &dataset,
        state,
        Position::default(),
        options,
    )
}

/// Continue the run in `run_dir` from its newest checkpoint, exactly where it stopped.
/// `epochs` extends (or shortens) the planned number of epochs.
pub fn resume(
    run_dir: &Path,
    epochs: Option<usize>,
    options: &RunOptions,
) -> anyhow::Result<RunSummary> {
    let mut config = load_run_config(run_dir)?;
    if let Some(epochs) = epochs {
        config.epochs = epochs;
    }
    config.check()?;
    let checkpoint = checkpoint::resolve(run_dir)?;
    let dataset = load_dataset(&config, &options.data_dir)?;
    let device = options.device.clone().autodiff();
    let (state, position) = checkpoint::load(&checkpoint, &config, &device)?;
    if options.show_progress {
        eprintln!(
            "resuming {} from {} (epoch {}, step {})",
            run_dir.display(),
            checkpoint.display(),
            position.epoch + 1,
            position.step
        );
    }
    run_loop(run_dir, &config, &dataset, state, position, options)
}

/// The config a run was started with.
pub fn load_run_config(run_dir: &Path) -> anyhow::Result<TrainingConfig> {
    let path = config_path(run_dir);
    if !path.exists() {
        bail!("{}: no run here (no config.json)", run_dir.display());
    }
    TrainingConfig::from_file(&path)
}

fn load_dataset(config: &TrainingConfig, data_dir: &Path) -> anyhow::Result<ImageDataset> {
    let dataset = ImageDataset::load(
        config.dataset,
        &config.dataset_folder(data_dir),
        Split::Train,
        config.model.image_shape(),
        config.limit,
    )?;
    if let Some(classes) = config.model.classes() {
        anyhow::ensure!(
            classes == dataset.class_names.len(),
            "model {} is conditioned on {classes} classes but {} has {} ({:?})",
            config.model.name(),
            config.dataset,
            dataset.class_names.len(),
            dataset.class_names
        );
    }
    if dataset.len() < config.batch_size {
        bail!(
            "{} has {} training images, fewer than one batch of {}",
            config.dataset,
            dataset.len(),
            config.batch_size
        );
    }
    Ok(dataset)
}

/// Generate images for `z` (`[n, latent]` values, and `n` labels for a conditional
/// generator) in inference mode; `[n, c, h, w]` values.
pub fn generate(
    generator: &Generator,
    z: Vec<f32>,
    labels: Option<Vec<i64>>,
    latent_dim: usize,
    device: &Device,
) -> (Vec<f32>, [usize; 4]) {
    let n = z.len() / latent_dim;
    let generator = generator.valid();
    let device = device.clone().without_autodiff();
    let z = Tensor::<2>::from_data(TensorData::new(z, [n, latent_dim]), &device);
    let labels = labels.map(|l| Tensor::<1, Int>::from_data(TensorData::new(l, [n]), &device));
    let images = generator.forward(z, labels);
    let shape = images.dims();
    (
        images.into_data().try_to_vec::<f32>().expect("f32 images"),
        shape,
    )
}

/// Translate `sources` (`[n, c, h, w]` values of a Pix2Pix generator's source shape) in
/// inference mode; the images' values and shape.
pub fn translate(
    generator: &Generator,
    sources: Vec<f32>,
    shape: [usize; 4],
    device: &Device,
) -> (Vec<f32>, [usize; 4]) {
    let generator = generator.valid();
    let device = device.clone().without_autodiff();
    let sources = Tensor::<4>::from_data(TensorData::new(sources, shape), &device);
    let images = generator.translate(sources);
    let shape = images.dims();
    (
        images.into_data().try_to_vec::<f32>().expect("f32 images"),
        shape,
    )
}

/// A translation model's sample grid: for the first `count` images of `dataset`, the
/// source (`scale`× smaller, shown enlarged), the generator's image and the real image,
/// side by side, four triples per row.
pub fn translation_grid(
    generator: &Generator,
    dataset: &ImageDataset,
    count: usize,
    scale: usize,
    device: &Device,
) -> (Vec<f32>, [usize; 4], usize) {
    let device = device.clone().without_autodiff();
    let indices: Vec<usize> = (0..count.min(dataset.len())).collect();
    let (targets, _) = Batcher::images(dataset, &indices, &device);
    let sources = downsample_mean(targets.clone(), scale);
    let made = generator.valid().translate(sources.clone());
    let shown_sources = upsample_nearest(sources, scale);
    let [n, c, h, w] = targets.dims();
    // [n, 3, c, h, w] → 3n images, each triple together.
    let triples =
        Tensor::stack::<5>(vec![shown_sources, made, targets], 1).reshape([3 * n, c, h, w]);
    let shape = triples.dims();
    let values = triples.into_data().try_to_vec::<f32>().expect("f32 images");
    (values, shape, 3 * n.min(4))
}

/// What a sample grid shows: `count` images, or for a conditional model one row per class
/// (row `k` generated with label `k`). Returns the labels (if any) and the column count.
pub fn grid_layout(classes: Option<usize>, count: usize) -> (Option<Vec<i64>>, Option<usize>) {
    match classes {
        None => (None, None),
        Some(classes) => {
            let columns = (count as f64).sqrt().ceil() as usize;
            let labels = (0..classes as i64)
                .flat_map(|k| std::iter::repeat_n(k, columns))
                .collect();
            (Some(labels), Some(columns))
        }
    }
}

fn run_loop(
    run_dir: &Path,
    config: &TrainingConfig,
    dataset: &ImageDataset,
    mut state: GanState,
    start: Position,
    options: &RunOptions,
) -> anyhow::Result<RunSummary> {
    let device = options.device.clone().autodiff();
    let batcher = Batcher::new(config.batch_size, config.seed);
    let per_epoch = batcher.batches_per_epoch(dataset);
    let conditional = config.model.classes().is_some();
    let (grid_labels, _) = grid_layout(config.model.classes(), config.sample_count);
    let grid_count = grid_labels.as_ref().map_or(config.sample_count, Vec::len);
    let fixed_z = latent::normal_batch(
        config.seed,
        Stream::FixedNoise,
        0,
        grid_count,
        config.model.latent_dim(),
    );
    let mut evaluator = Evaluator::open(run_dir, config, options, start.step)?;
    let mut writer = MetricsWriter::open(run_dir, start.step)?;
    let mut position = start;
    let mut last_stats = None;
    let mut last_checkpoint = None;

    while position.epoch < config.epochs {
        let epoch = position.epoch;
        let order = batcher.epoch_order(dataset, epoch);
        let bar = epoch_bar(
            options.show_progress,
            epoch,
            config.epochs,
            per_epoch,
            position.batch,
        );
        while position.batch < per_epoch {
            let started = Instant::now();
            let (real, labels) = batcher.augmented_images(
                dataset,
                batcher.batch(&order, position.batch),
                &config.augment,
                epoch,
                &device,
            );
            let labels = conditional.then_some(labels);
            let z = noise(config, position.step, config.batch_size, &device);
            // Layers that draw random numbers (dropout) draw them from a per-step seed, so a
            // resumed run draws what the uninterrupted one would have.
            device.seed(config.seed ^ position.step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (next, stats) = state.step(real, labels, z, config, position.step);
            state = next;
            if !stats.is_finite() {
                bail!(
                    "training diverged at step {}: {stats:?}; the last good checkpoint is in {}",
                    position.step + 1,
                    checkpoint::checkpoints_dir(run_dir).display()
                );
            }
            let images_per_sec = config.batch_size as f32 / started.elapsed().as_secs_f32();
            position.step += 1;
            position.batch += 1;
            writer.append(&MetricsRecord {
                step: position.step,
                epoch: epoch + 1,
                loss_d: stats.loss_d,
                loss_g: stats.loss_g,
                d_real: stats.d_real,
                d_fake: stats.d_fake,
                images_per_sec,
                quality: None,
            })?;
            bar.set_message(format!(
                "loss D {:.3} G {:.3}  D(x) {:.2} D(G(z)) {:.2}  {:.0} img/s",
                stats.loss_d, stats.loss_g, stats.d_real, stats.d_fake, images_per_sec
            ));
            bar.inc(1);
            if options.log_lines
                && !options.show_progress
                && position.batch % per_epoch.div_ceil(10) == 0
            {
                eprintln!(
                    "epoch {}/{} batch {}/{per_epoch}: loss D {:.3} G {:.3}  D(x) {:.2} D(G(z)) {:.2}  {:.0} img/s",
                    epoch + 1,
                    config.epochs,
                    position.batch,
                    stats.loss_d,
                    stats.loss_g,
                    stats.d_real,
                    stats.d_fake,
                    images_per_sec
                );
            }
            last_stats = Some(stats);

            let stop_now = options.stop_after_steps.is_some_and(|s| position.step >= s);
            let periodic =
                config.checkpoint_every > 0 && position.step % config.checkpoint_every as u64 == 0;
            if position.batch == per_epoch {
                position = Position {
                    epoch: epoch + 1,
                    batch: 0,
                    step: position.step,
                };
            }
            let epoch_end = position.batch == 0;
            let epoch_checkpoint = epoch_end
                && (position.epoch % config.checkpoint_every_epochs == 0
                    || position.epoch == config.epochs
                    || (config.eval_every > 0 && position.epoch % config.eval_every == 0));
            if stop_now || periodic || epoch_checkpoint {
                writer.flush()?;
                last_checkpoint = Some(checkpoint::save(run_dir, config, &state, position)?);
            }
            if stop_now {
                bar.abandon_with_message(format!(
                    "stopped after step {} (resume with --resume)",
                    position.step
                ));
                return Ok(RunSummary {
                    run_dir: run_dir.to_path_buf(),
                    steps: position.step,
                    last_checkpoint: last_checkpoint.expect("just saved"),
                    last_stats,
                    finished: false,
                });
            }
            if position.batch == 0 {
                break;
            }
        }
        bar.finish();
        if let (Some(evaluator), Some(checkpoint), Some(stats)) =
            (evaluator.as_mut(), &last_checkpoint, last_stats)
            && (position.epoch % config.eval_every == 0 || position.epoch == config.epochs)
        {
            let report = evaluator.evaluate(&state.generator, dataset, checkpoint)?;
            writer.append(&MetricsRecord {
                step: position.step,
                epoch: position.epoch,
                loss_d: stats.loss_d,
                loss_g: stats.loss_g,
                d_real: stats.d_real,
                d_fake: stats.d_fake,
                images_per_sec: 0.0,
                quality: Some(report.figures().into_iter().collect()),
            })?;
            writer.flush()?;
        }
        epoch_report(
            run_dir,
            config,
            &state.generator,
            &fixed_z,
            dataset,
            position.epoch,
            &device,
        )?;
    }

    report::save_progress_gif(&run_dir.join("samples"))?;
    let last_checkpoint = match last_checkpoint {
        Some(path) => path,
        // Nothing left to train (resumed a finished run): its newest checkpoint stands.
        None => checkpoint::resolve(run_dir)?,
    };
    Ok(RunSummary {
        run_dir: run_dir.to_path_buf(),
        steps: position.step,
        last_checkpoint,
        last_stats,
        finished: true,
    })
}

/// Periodic quality measurement during training, and the best checkpoint it finds.
struct Evaluator {
    classifier: crate::eval::TrainedClassifier,
    test: ImageDataset,
    options: crate::eval::EvalOptions,
    config: TrainingConfig,
    run_dir: PathBuf,
    device: Device,
    /// Lowest Fréchet distance so far (also from before a resume).
    best: Option<f64>,
    show: bool,
}

impl Evaluator {
    /// `None` when the run does not evaluate. A missing classifier is an error now, not
    /// after the first epoch.
    fn open(
        run_dir: &Path,
        config: &TrainingConfig,
        options: &RunOptions,
        step: u64,
    ) -> anyhow::Result<Option<Self>> {
        if config.eval_every == 0 {
            return Ok(None);
        }
        let dir = config.classifier_dir();
        let classifier = crate::eval::classifier::load(&dir, &options.device).with_context(|| {
            format!(
                "eval_every = {} needs the {} classifier: `gantry classifier train --dataset {}`",
                config.eval_every, config.dataset, config.dataset
            )
        })?;
        let test = ImageDataset::load(
            config.dataset,
            &config.dataset_folder(&options.data_dir),
            Split::Test,
            classifier.image_shape(),
            None,
        )?;
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
        Ok(Some(Self {
            classifier,
            test,
            options: crate::eval::EvalOptions {
                samples: config.eval_samples,
                seed: config.seed,
                ..Default::default()
            },
            config: config.clone(),
            run_dir: run_dir.to_path_buf(),
            device: options.device.clone(),
            best,
            show: options.show_progress || options.log_lines,
        }))
    }

    /// Measure, save the figures beside `checkpoint`, and copy it to `checkpoints/best`
    /// if it is the best so far.
    fn evaluate(
        &mut self,
        generator: &Generator,
        train: &ImageDataset,
        checkpoint: &Path,
    ) -> anyhow::Result<crate::eval::QualityReport> {
        let mut source =
            crate::eval::report::BurnGenerator::new(generator, &self.config.model, &self.device);
        let report = crate::eval::evaluate(
            &mut source,
            &mut self.classifier,
            None,
            train,
            &self.test,
            &self.options,
        )?;
        crate::eval::report::save_quality(checkpoint, &report)?;
        let improved = self.best.is_none_or(|best| report.frechet_distance < best);
        if improved {
            self.best = Some(report.frechet_distance);
            checkpoint::copy_as_best(&self.run_dir, checkpoint)?;
        }
        if self.show {
            eprintln!(
                "quality after {}: Fréchet distance {:.3} (real {:.3}){}{}",
                checkpoint.file_name().unwrap_or_default().to_string_lossy(),
                report.frechet_distance,
                report.baseline_frechet_distance,
                report
                    .class_accuracy
                    .map(|a| format!(", class accuracy {:.1}%", a * 100.0))
                    .unwrap_or_default(),
                if improved { "  (best so far)" } else { "" }
            );
        }
        Ok(report)
    }
}

/// The end-of-epoch artefacts: the fixed-noise sample grid (a translation model's: its
/// first training images, translated) and the loss plot.
fn epoch_report(
    run_dir: &Path,
    config: &TrainingConfig,
    generator: &Generator,
    fixed_z: &[f32],
    dataset: &ImageDataset,
    epochs_done: usize,
    device: &Device,
) -> anyhow::Result<()> {
    let (values, shape, columns) = if config.model.source_shape().is_some() {
        let scale = config.model.spec().source_scale();
        let (values, shape, columns) = translation_grid(
            generator,
            dataset,
            config.sample_count.min(32),
            scale,
            device,
        );
        (values, shape, Some(columns))
    } else {
        let (labels, columns) = grid_layout(config.model.classes(), config.sample_count);
        let (values, shape) = generate(
            generator,
            fixed_z.to_vec(),
            labels,
            config.model.latent_dim(),
            device,
        );
        (values, shape, columns)
    };
    let grid = run_dir
        .join("samples")
        .join(format!("epoch-{epochs_done:03}.png"));
    report::save_grid(&values, shape, columns, &grid)?;
    let records = metrics::read(&metrics::metrics_path(run_dir))?;
    report::save_loss_plot(&records, &run_dir.join("losses.png"))?;
    Ok(())
}

fn epoch_bar(show: bool, epoch: usize, epochs: usize, len: usize, done: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("epoch {prefix} [{bar:25}] {pos}/{len} {msg}  ETA {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{}/{}", epoch + 1, epochs));
    bar.set_position(done as u64);
    bar.reset_eta();
    bar
}
