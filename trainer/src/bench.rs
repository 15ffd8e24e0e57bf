//! Training-speed figures: ms per step and images/s, on synthetic data.
//!
//! Used by `gantry bench` and `cargo bench`. Synthetic batches keep data loading out of the
//! figure: it measures the networks and the optimiser, which is what a backend changes.

use crate::device::DeviceChoice;
use crate::latent::{self, Stream};
use crate::training::{GanState, PendingStats, StepPlan, TrainingConfig};
use burn::tensor::{Int, Tensor, TensorData};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct BenchFigures {
    pub model: String,
    pub device: String,
    pub batch_size: usize,
    pub steps: usize,
    /// Steps between read-backs of the figures (a device sync each): the run's `log_every`.
    pub read_every: usize,
    /// Wall time per step of each window of `read_every` steps ending in a read-back,
    /// milliseconds (on a GPU a step's own wall time is only the time to queue it).
    pub step_ms: Vec<f64>,
}

impl BenchFigures {
    pub fn mean_ms(&self) -> f64 {
        self.step_ms.iter().sum::<f64>() / self.step_ms.len() as f64
    }

    pub fn median_ms(&self) -> f64 {
        let mut sorted = self.step_ms.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    }

    pub fn images_per_sec(&self) -> f64 {
        self.batch_size as f64 / (self.median_ms() / 1000.0)
    }
}

impl std::fmt::Display for BenchFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let min = self.step_ms.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.step_ms.iter().copied().fold(0.0, f64::max);
        write!(
            f,
            "{} train step, batch {}, {} ({} steps, figures read every {}): median {:.1} ms/step (mean {:.1}, min {:.1}, max {:.1}), {:.0} images/s",
            self.model,
            self.batch_size,
            self.device,
            self.steps,
            if self.read_every == 1 {
                "step".to_string()
            } else {
                format!("{} steps", self.read_every)
            },
            self.median_ms(),
            self.mean_ms(),
            min,
            max,
            self.images_per_sec()
        )
    }
}

/// Time `steps` training steps of `config`'s model at `batch_size` on `choice` after
/// `warmup` untimed ones, reading the step's figures back every `read_every` steps as a run
/// with `log_every = read_every` does (1: after every step).
pub fn train_step(
    config: &TrainingConfig,
    choice: DeviceChoice,
    batch_size: usize,
    warmup: usize,
    steps: usize,
    read_every: usize,
) -> anyhow::Result<BenchFigures> {
    anyhow::ensure!(steps >= 1, "need at least one timed step");
    anyhow::ensure!(read_every >= 1, "read_every must be at least 1");
    let config = config.clone().with_batch_size(batch_size);
    config.check()?;
    let device = choice.device()?.autodiff();
    let [c, h, w] = config.model.image_shape();
    let mut state = GanState::init(&config, &device);
    let plan = StepPlan::new(&config);
    let mut step_ms = Vec::with_capacity(steps);
    let mut unread = Vec::with_capacity(read_every);
    let mut window_started = Instant::now();
    for step in 0..warmup + steps {
        // Stand-in real images: values squashed into [-1, 1] as normalised data is.
        let mut real = latent::normal_batch(
            config.seed,
            Stream::Sample,
            step as u64,
            batch_size,
            c * h * w,
        );
        real.iter_mut().for_each(|v| *v = v.tanh());
        if step == warmup || unread.is_empty() {
            window_started = Instant::now();
        }
        let real = Tensor::<4>::from_data(TensorData::new(real, [batch_size, c, h, w]), &device);
        let labels = config.model.classes().map(|classes| {
            let labels = (0..batch_size as i64).map(|i| i % classes as i64).collect();
            Tensor::<1, Int>::from_data(TensorData::new(labels, [batch_size]), &device)
        });
        let (next, stats) = state.step(&plan, real, labels, step as u64)?;
        state = next;
        unread.push(stats);
        let last = step + 1 == warmup + steps;
        if step + 1 == warmup || unread.len() == read_every || last {
            let window = unread.len();
            PendingStats::read_all(std::mem::take(&mut unread));
            if step >= warmup {
                let ms = window_started.elapsed().as_secs_f64() * 1000.0 / window as f64;
                step_ms.extend(std::iter::repeat_n(ms, window));
            }
        }
    }
    Ok(BenchFigures {
        model: config.model.name().to_string(),
        device: choice.describe(&device),
        batch_size,
        steps,
        read_every,
        step_ms,
    })
}

/// What a twin in another framework needs to build the same networks and step as
/// `config`'s (`scripts/bench-train`'s PyTorch twin reads it): both layer lists, the
/// generator's input, the objective and the optimiser, as JSON.
pub fn describe(config: &TrainingConfig, batch_size: usize) -> serde_json::Value {
    let spec = config.model.spec();
    serde_json::json!({
        "model": config.model.name(),
        "input": spec.input,
        "label_embedding": spec.label_embedding,
        "image_shape": spec.image_shape,
        "generator": spec.generator,
        "discriminator": spec.discriminator,
        "objective": config.objective(),
        "lr": config.lr,
        "lr_g": config.lr_generator(),
        "lr_d": config.lr_discriminator(),
        "beta1": config.beta1,
        "beta2": config.beta2,
        "eps": config.eps,
        "batch_size": batch_size,
        "seed": config.seed,
    })
}
