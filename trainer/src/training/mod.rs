//! Adversarial training: config, the step, the loop, checkpoints and metrics.
//!
//! - [`config`]: everything a run needs, saved as `config.json` in the run directory.
//! - [`step`]: one discriminator + generator update, shared by the loop and the benchmark.
//! - [`checkpoint`]: atomic, checksummed checkpoints that resume a run exactly.
//! - [`metrics`]: the per-step metrics file (`metrics.jsonl`).
//! - [`presets`]: the seeds' experiments as named configs (`configs/*.toml`).
//! - [`run`]: the loop itself, with progress bars, sample grids and the loss plot.

pub mod checkpoint;
pub mod config;
pub mod metrics;
pub mod presets;
pub mod run;
pub mod step;

pub use config::{Loss, ModelConfig, TrainingConfig};
pub use run::{RunOptions, RunSummary, resume, train};
pub use step::{GanState, StepStats, noise};
