//! Training-speed figures: ms per step and images/s, on synthetic data.
//!
//! Used by `gantry bench` and `cargo bench`. Synthetic batches keep data loading out of the
//! figure: it measures the networks and the optimiser, which is what a backend changes.

use crate::latent::{self, Stream};
use crate::training::{GanState, StepPlan, TrainingConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct BenchFigures {
    pub model: String,
    pub device: String,
    pub batch_size: usize,
    pub steps: usize,
    /// Per-step wall times, milliseconds.
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
            "{} train step, batch {}, {} ({} steps): median {:.1} ms/step (mean {:.1}, min {:.1}, max {:.1}), {:.0} images/s",
            self.model,
            self.batch_size,
            self.device,
            self.steps,
            self.median_ms(),
            self.mean_ms(),
            min,
            max,
            self.images_per_sec()
        )
    }
}

/// Time `steps` training steps of `config`'s model at `batch_size` after `warmup` untimed
/// ones.
pub fn train_step(
    config: &TrainingConfig,
    device: &Device,
    batch_size: usize,
    warmup: usize,
    steps: usize,
) -> anyhow::Result<BenchFigures> {
    anyhow::ensure!(steps >= 1, "need at least one timed step");
    let config = config.clone().with_batch_size(batch_size);
    config.check()?;
    let device = device.clone().autodiff();
    let [c, h, w] = config.model.image_shape();
    let mut state = GanState::init(&config, &device);
    let plan = StepPlan::new(&config);
    let mut step_ms = Vec::with_capacity(steps);
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
        let started = Instant::now();
        let real = Tensor::<4>::from_data(TensorData::new(real, [batch_size, c, h, w]), &device);
        let labels = config.model.classes().map(|classes| {
            let labels = (0..batch_size as i64).map(|i| i % classes as i64).collect();
            Tensor::<1, Int>::from_data(TensorData::new(labels, [batch_size]), &device)
        });
        let (next, _stats) = state.step(&plan, real, labels, step as u64)?;
        state = next;
        if step >= warmup {
            step_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(BenchFigures {
        model: config.model.name().to_string(),
        device: crate::device::describe(&device),
        batch_size,
        steps,
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
        "beta1": config.beta1,
        "beta2": config.beta2,
        "batch_size": batch_size,
        "seed": config.seed,
    })
}
