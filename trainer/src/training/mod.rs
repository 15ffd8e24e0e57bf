//! Adversarial training: config, the step, the loop, checkpoints and metrics.
//!
//! - [`config`]: everything a run needs, saved as `config.json` in the run directory.
//! - [`step`]: one discriminator + generator update, shared by the loop and the benchmark.
//! - [`checkpoint`]: atomic, checksummed checkpoints that resume a run exactly.
//! - [`ema`]: the generator's exponential moving average (`ema_decay`).
//! - [`metrics`]: the per-step metrics file (`metrics.jsonl`).
//! - [`presets`]: the seeds' experiments as named configs (`configs/*.toml`).
//! - [`run`]: the loop itself: batches and steps, nothing else.
//! - [`events`]: what the loop tells its listeners (step, evaluation and epoch done).
//! - [`listeners`]: progress bar and log lines, metrics file, epoch grid and loss plot,
//!   best checkpoint.
//! - [`policy`]: when to write a checkpoint and when to measure one.
//! - [`evaluator`]: quality measured during training (`eval_every`).
//! - [`parallel`]: data-parallel steps over several devices (`--devices`).
//! - [`divergence`]: when a run has diverged (bounds on losses and saturation), and what
//!   it does then.

pub mod checkpoint;
pub mod config;
pub mod divergence;
pub mod ema;
pub mod evaluator;
pub mod events;
pub mod listeners;
pub mod metrics;
pub mod parallel;
pub mod policy;
pub mod presets;
pub mod run;
pub mod step;

pub use config::{ModelConfig, Objective, TermsCombined, TrainingConfig};
pub use run::{RunOptions, RunSummary, resume, resume_from, train};
pub use step::{GanState, PendingStats, Rates, StepPlan, StepStats};
