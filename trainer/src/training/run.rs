//! The training loop: batches and steps. What happens around them (progress, metrics,
//! grids, the best checkpoint) is told to [`Listener`]s; when to checkpoint and to
//! measure is the [`CheckpointPolicy`]'s.

use super::checkpoint::{self, Position};
use super::config::TrainingConfig;
use super::divergence::{DivergenceGuard, OnDivergence};
use super::ema;
use super::evaluator::Evaluator;
use super::events::{EpochDone, EpochStarted, EvaluationDone, Listeners, StepDone};
use super::listeners::{
    BestCheckpoint, EpochArtefacts, MetricsFile, Progress, TensorBoard, epoch_grid,
};
use super::metrics;
use super::parallel::Replicas;
use super::policy::CheckpointPolicy;
use super::step::{GanState, PendingStats, StepPlan, StepStats};
use crate::data::{Batcher, ImageDataset, Split};
use crate::inference::{config_path, load_run_config};
use crate::{fs_atomic, report};
use anyhow::{Context, bail};
use burn::tensor::Device;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A run stopped because it diverged (see [`super::divergence`]).
#[derive(Debug, thiserror::Error)]
#[error("training diverged at step {step}: {reason}; {advice}")]
pub struct Diverged {
    pub step: u64,
    pub reason: String,
    /// The newest checkpoint written before the figures went bad, if any.
    pub go_back_to: Option<PathBuf>,
    /// Where to go back to: a checkpoint that exists, and how.
    pub advice: String,
}

/// How a run is carried out (not part of what it computes).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The (main) device: it holds the optimisers, draws the grids and is checkpointed.
    pub device: Device,
    /// More devices that each train on a slice of every batch (data-parallel, see
    /// [`super::parallel`]); empty: `device` alone.
    pub replica_devices: Vec<Device>,
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
    // What the run will need is checked before its folder exists: a start refused for a
    // missing classifier must not leave a run behind that the next try is refused for.
    Evaluator::open(config, &options.device, &options.data_dir)?;
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("{}: cannot create", run_dir.display()))?;
    fs_atomic::write(&config_path(run_dir), &serde_json::to_vec_pretty(config)?)?;
    let state = GanState::init(config, &options.device.clone().autodiff());
    EpochArtefacts::new(run_dir, config, &options.device)?
        .before_training(&state.generator, &dataset)?;
    run_guarded(
        run_dir,
        config,
        &dataset,
        options,
        state,
        Position::default(),
    )
}

/// Continue the run in `run_dir` from its newest sound checkpoint, exactly where it
/// stopped (from step 0 when it was stopped before its first checkpoint). `epochs` extends
/// (or shortens) the planned number of epochs.
pub fn resume(
    run_dir: &Path,
    epochs: Option<usize>,
    options: &RunOptions,
) -> anyhow::Result<RunSummary> {
    resume_from(run_dir, None, epochs, options)
}

/// [`resume`] from the checkpoint `from` names (`step-00000120`) instead of the newest.
/// Newer checkpoints are set aside as `superseded-step-*`: the run goes on from `from`.
pub fn resume_from(
    run_dir: &Path,
    from: Option<&str>,
    epochs: Option<usize>,
    options: &RunOptions,
) -> anyhow::Result<RunSummary> {
    let mut config = load_run_config(run_dir)?;
    if let Some(epochs) = epochs {
        config.epochs = epochs;
    }
    config.check()?;
    for leftover in checkpoint::remove_leftovers(run_dir)? {
        eprintln!(
            "removed {}, left by an interrupted checkpoint",
            leftover.display()
        );
    }
    let everything = checkpoint::Need::Everything;
    let chosen = match from {
        Some(name) => Some(checkpoint::named(run_dir, name, everything)?),
        // Not even a damaged one: stopped before its first checkpoint.
        None if checkpoint::step_folders(run_dir)?.is_empty() => None,
        None => Some(checkpoint::choose(run_dir, everything)?),
    };
    let dataset = load_dataset(&config, &options.data_dir)?;
    let device = options.device.clone().autodiff();
    let Some(chosen) = chosen else {
        // Stopped before its first checkpoint: the same seed makes the same run from zero.
        eprintln!(
            "{}: no checkpoint yet; starting from step 0",
            run_dir.display()
        );
        let state = GanState::init(&config, &device);
        return run_guarded(
            run_dir,
            &config,
            &dataset,
            options,
            state,
            Position::default(),
        );
    };
    let checkpoint = chosen.path.clone();
    let (state, position) = checkpoint::load_verified(chosen, &config, &device)?;
    for aside in checkpoint::supersede_newer(run_dir, &checkpoint)? {
        eprintln!(
            "set aside {} (newer than the checkpoint resumed from)",
            aside.display()
        );
    }
    if options.show_progress {
        eprintln!(
            "resuming {} from {} (epoch {}, step {})",
            run_dir.display(),
            checkpoint.display(),
            position.epoch.saturating_add(1),
            position.step
        );
    }
    run_guarded(run_dir, &config, &dataset, options, state, position)
}

/// Run from `position`; when the run diverges and its config says `rollback`, go back to
/// its newest checkpoint from before the divergence with the learning rate lowered (and saved in `config.json`, so a
/// later `--resume` keeps it), at most `max_rollbacks` times.
fn run_guarded(
    run_dir: &Path,
    config: &TrainingConfig,
    dataset: &ImageDataset,
    options: &RunOptions,
    state: GanState,
    position: Position,
) -> anyhow::Result<RunSummary> {
    let mut config = config.clone();
    let (mut state, mut position) = (state, position);
    let policy = config.divergence;
    for rollback in 0.. {
        let error = match Run::new(run_dir, &config, dataset, options, position)?.run(state) {
            Ok(summary) => return Ok(summary),
            Err(error) => error,
        };
        let Some(diverged) = error.downcast_ref::<Diverged>() else {
            return Err(error);
        };
        let (OnDivergence::Rollback, Some(last), true) = (
            policy.action,
            diverged.go_back_to.clone(),
            rollback < policy.max_rollbacks,
        ) else {
            return Err(error);
        };
        // The saved config, not this process's (`--epochs` on a resume is not saved).
        let mut saved = load_run_config(run_dir)?;
        saved.scale_learning_rates(policy.lr_factor);
        (config.lr, config.lr_g, config.lr_d) = (saved.lr, saved.lr_g, saved.lr_d);
        fs_atomic::write(&config_path(run_dir), &serde_json::to_vec_pretty(&saved)?)?;
        eprintln!(
            "training diverged at step {}: {}; rolling back to {} with lr {:e} (rollback {} of {})",
            diverged.step,
            diverged.reason,
            last.display(),
            config.lr,
            rollback + 1,
            policy.max_rollbacks
        );
        (state, position) = checkpoint::load(&last, &config, &options.device.clone().autodiff())?;
        checkpoint::supersede_newer(run_dir, &last)?;
    }
    unreachable!("the loop returns")
}

fn load_dataset(config: &TrainingConfig, data_dir: &Path) -> anyhow::Result<ImageDataset> {
    let dataset = ImageDataset::load_fitted(
        config.dataset,
        &config.dataset_folder(data_dir),
        Split::Train,
        config.model.image_shape(),
        config.limit,
        config.image_fit,
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

/// One run of the loop, from `position` to the last epoch or a stop.
struct Run<'a> {
    run_dir: &'a Path,
    config: &'a TrainingConfig,
    dataset: &'a ImageDataset,
    options: &'a RunOptions,
    plan: StepPlan,
    batcher: Batcher,
    batches: usize,
    policy: CheckpointPolicy,
    evaluator: Option<Evaluator>,
    listeners: Listeners,
    guard: DivergenceGuard,
    device: Device,
    replicas: Replicas,
    position: Position,
    last_stats: Option<StepStats>,
    last_checkpoint: Option<PathBuf>,
    /// Steps done whose figures are still on the device, read back together by
    /// [`Run::read_back`].
    unread: Vec<UnreadStep>,
    /// When the oldest unread step started: images/s is measured over the steps read
    /// together, since a step's own wall time on a GPU is only the time to queue it.
    unread_since: Instant,
}

/// A step whose figures have not been read back yet.
struct UnreadStep {
    epoch: usize,
    /// 1-based batch within `epoch`.
    batch: usize,
    /// Steps done in total after it.
    step: u64,
    stats: PendingStats,
}

/// A resumed position must be one this run can reach: `step` batches in, `batch` inside an
/// epoch. Anything else means the dataset changed size since the checkpoint (or its
/// `state.json` was crafted), and training on would misread both.
fn check_position(position: Position, batches: usize) -> anyhow::Result<()> {
    let Position { epoch, batch, step } = position;
    let reached = (epoch as u64)
        .checked_mul(batches as u64)
        .and_then(|n| n.checked_add(batch as u64));
    if batch >= batches.max(1) || reached != Some(step) {
        bail!(
            "the checkpoint's position (step {step}, next batch {} of epoch {}) does not fit \
             this run, whose epochs have {batches} batches: the dataset changed size since it \
             was saved, or its state.json was edited",
            batch.saturating_add(1),
            epoch.saturating_add(1)
        );
    }
    Ok(())
}

impl<'a> Run<'a> {
    fn new(
        run_dir: &'a Path,
        config: &'a TrainingConfig,
        dataset: &'a ImageDataset,
        options: &'a RunOptions,
        position: Position,
    ) -> anyhow::Result<Self> {
        let devices = options.replica_devices.len() + 1;
        anyhow::ensure!(
            config.batch_size >= 2 * devices,
            "batch_size {} is too small for {devices} devices: each needs a slice of at least 2 \
             images (BatchNorm)",
            config.batch_size
        );
        let batcher = Batcher::new(config.batch_size, config.seed);
        let batches = batcher.batches_per_epoch(dataset);
        check_position(position, batches)?;
        let show = options.show_progress || options.log_lines;
        let mut listeners = Listeners::default();
        listeners.push(Progress::new(options.show_progress, options.log_lines));
        listeners.push(MetricsFile::open(run_dir, position.step)?);
        listeners.push(BestCheckpoint::open(run_dir, position.step, show)?);
        listeners.push(EpochArtefacts::new(run_dir, config, &options.device)?);
        // After EpochArtefacts: it shows the grid that one has just written.
        listeners.push(TensorBoard::open(run_dir, position.step)?);
        Ok(Self {
            run_dir,
            config,
            dataset,
            options,
            plan: StepPlan::new(config),
            batches,
            batcher,
            policy: CheckpointPolicy::new(config),
            evaluator: Evaluator::open(config, &options.device, &options.data_dir)?,
            listeners,
            guard: DivergenceGuard::new(config.divergence),
            device: options.device.clone().autodiff(),
            replicas: Replicas::new(
                std::iter::once(options.device.clone())
                    .chain(options.replica_devices.iter().cloned())
                    .collect(),
            )?,
            position,
            last_stats: None,
            last_checkpoint: None,
            unread: Vec::new(),
            unread_since: Instant::now(),
        })
    }

    /// Epochs until the last, or until a stop on purpose.
    fn run(mut self, mut state: GanState) -> anyhow::Result<RunSummary> {
        self.finish_interrupted_epoch_end(&state)?;
        while self.position.epoch < self.config.epochs {
            let (next, stopped) = self.epoch(state)?;
            state = next;
            if stopped {
                self.listeners.stopped(self.position);
                return Ok(self.summary(false));
            }
            self.epoch_end(&state)?;
        }
        report::save_progress_gif(&self.run_dir.join("samples"))?;
        if self.last_checkpoint.is_none() {
            // Nothing left to train (resumed a finished run): its newest checkpoint stands.
            self.last_checkpoint = Some(checkpoint::resolve(self.run_dir)?);
        }
        Ok(self.summary(true))
    }

    /// The rest of the current epoch; `true` with the state if the run stopped on purpose.
    fn epoch(&mut self, mut state: GanState) -> anyhow::Result<(GanState, bool)> {
        let epoch = self.position.epoch;
        let order = self.batcher.epoch_order(self.dataset, epoch);
        self.listeners.epoch_started(&EpochStarted {
            position: self.position,
            epochs: self.config.epochs,
            batches: self.batches,
        })?;
        while self.position.epoch == epoch {
            let indices = self.batcher.batch(&order, self.position.batch);
            state = self.step(state, indices)?;
            let stopping = self
                .options
                .stop_after_steps
                .is_some_and(|s| self.position.step >= s);
            let saving = self.policy.save_at(self.position, stopping);
            // Before a checkpoint, the guard must have seen every step it holds.
            if saving || stopping || self.position.epoch != epoch {
                self.read_back()?;
            } else if self.unread.len() >= self.config.log_every {
                self.read_back()?;
            }
            if saving {
                self.listeners.flush()?;
                let saved = checkpoint::save(self.run_dir, self.config, &state, self.position)?;
                self.last_checkpoint = Some(saved);
            }
            if stopping {
                return Ok((state, true));
            }
        }
        Ok((state, false))
    }

    /// One step on the batch `indices`; its figures stay on the device until
    /// [`Self::read_back`].
    fn step(&mut self, mut state: GanState, indices: &[usize]) -> anyhow::Result<GanState> {
        let epoch = self.position.epoch;
        if self.unread.is_empty() {
            self.unread_since = Instant::now();
        }
        let (real, labels) = self.batcher.augmented_images(
            self.dataset,
            indices,
            &self.config.augment,
            epoch,
            &self.device,
        );
        let labels = self.plan.spec.input.is_conditional().then_some(labels);
        // Layers that draw random numbers (dropout) draw them from a per-step seed, so a
        // resumed run draws what the uninterrupted one would have.
        let step = self.position.step;
        self.device
            .seed(self.config.seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let ema = state.generator_ema.take();
        let (mut state, stats) = self.replicas.step(state, &self.plan, real, labels, step)?;
        state.generator_ema = match (ema, self.config.ema_decay) {
            (Some(ema), Some(decay)) if self.plan.updates_generator(step) => {
                Some(ema::update(ema, &state.generator, decay))
            }
            (ema, _) => ema,
        };
        let batch = self.position.batch + 1;
        self.position = if batch == self.batches {
            Position {
                epoch: epoch + 1,
                batch: 0,
                step: step + 1,
            }
        } else {
            Position {
                epoch,
                batch,
                step: step + 1,
            }
        };
        self.unread.push(UnreadStep {
            epoch,
            batch,
            step: step + 1,
            stats,
        });
        Ok(state)
    }

    /// Read the unread steps' figures back in one sync, then, step by step in order, let
    /// the divergence guard judge them and tell the listeners.
    fn read_back(&mut self) -> anyhow::Result<()> {
        if self.unread.is_empty() {
            return Ok(());
        }
        let unread = std::mem::take(&mut self.unread);
        let (meta, pending): (Vec<_>, Vec<_>) = unread
            .into_iter()
            .map(|u| ((u.epoch, u.batch, u.step), u.stats))
            .unzip();
        let figures = PendingStats::read_all(pending);
        let images_per_sec = (self.config.batch_size * meta.len()) as f32
            / self.unread_since.elapsed().as_secs_f32();
        for ((epoch, batch, step), stats) in meta.into_iter().zip(figures) {
            if let Some(verdict) = self.guard.observe(step, &stats) {
                let go_back_to = verdict
                    .last_sound_step
                    .and_then(|n| checkpoint::newest_at_most(self.run_dir, n));
                return Err(Diverged {
                    step,
                    reason: verdict.reason,
                    advice: self.where_to_go_back(go_back_to.as_deref()),
                    go_back_to,
                }
                .into());
            }
            self.last_stats = Some(stats);
            self.listeners.step_done(&StepDone {
                epoch,
                batch,
                batches: self.batches,
                epochs: self.config.epochs,
                step,
                stats,
                images_per_sec,
            })?;
        }
        Ok(())
    }

    /// After an epoch: its evaluation if due, then the epoch's artefacts, both of the
    /// generator that `sample` and `export` will open (the moving average, if kept).
    fn epoch_end(&mut self, state: &GanState) -> anyhow::Result<()> {
        let epochs_done = self.position.epoch;
        let generator = state.generator_ema.as_ref().unwrap_or(&state.generator);
        if let (Some(evaluator), Some(checkpoint), Some(stats)) = (
            self.evaluator.as_mut(),
            self.last_checkpoint.as_deref(),
            self.last_stats,
        ) && self.policy.evaluate_after(epochs_done)
        {
            let report = evaluator.evaluate(generator, self.dataset, checkpoint)?;
            self.listeners.evaluation_done(&EvaluationDone {
                position: self.position,
                checkpoint,
                stats,
                report: &report,
            })?;
        }
        self.listeners.epoch_done(&EpochDone {
            epochs_done,
            generator,
            dataset: self.dataset,
        })
    }

    /// A kill after an epoch's last checkpoint but before its grid (and evaluation) leaves
    /// that epoch without them, and resuming would go straight on to the next: do them now,
    /// from the very checkpoint the epoch ended with.
    fn finish_interrupted_epoch_end(&mut self, state: &GanState) -> anyhow::Result<()> {
        let Position { epoch, batch, step } = self.position;
        if batch != 0 || epoch == 0 || epoch_grid(self.run_dir, epoch).exists() {
            return Ok(());
        }
        self.last_checkpoint = checkpoint::newest_at_most(self.run_dir, step);
        let path = metrics::metrics_path(self.run_dir);
        self.last_stats = metrics::read(&path)?
            .iter()
            .rfind(|r| r.step == step && r.quality.is_none())
            .map(|r| StepStats {
                loss_d: r.loss_d,
                loss_g: r.loss_g,
                d_real: r.d_real,
                d_fake: r.d_fake,
                saturated: r.saturated,
            });
        self.epoch_end(state)
    }

    /// What a user can do about a divergence: go back to `last` (a checkpoint from before
    /// it, which exists), or start again.
    fn where_to_go_back(&self, last: Option<&Path>) -> String {
        match last {
            Some(last) => format!(
                "the last checkpoint before it is {}: lower `lr` in {}, then `gantry train --resume {} --from-checkpoint {}`",
                last.display(),
                config_path(self.run_dir).display(),
                self.run_dir.display(),
                last.file_name().unwrap_or_default().to_string_lossy()
            ),
            None => format!(
                "no checkpoint from before it was written: start a new run with a lower lr than {}'s",
                config_path(self.run_dir).display()
            ),
        }
    }

    fn summary(&self, finished: bool) -> RunSummary {
        RunSummary {
            run_dir: self.run_dir.to_path_buf(),
            steps: self.position.step,
            last_checkpoint: self.last_checkpoint.clone().unwrap_or_default(),
            last_stats: self.last_stats,
            finished,
        }
    }
}
