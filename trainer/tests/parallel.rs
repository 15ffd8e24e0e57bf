//! Data-parallel training (`--devices`): several replicas of the CPU backend in one process.
//! The CPU backend is one device, so replicas on it share it; what these tests check —
//! the gradient sum, the updates, checkpoints and resume — is the same code a list of GPUs
//! runs.

mod common;

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use gantry_trainer::model::init::dcgan_init;
use gantry_trainer::model::{DcganConfig, GanSpec, LayerSpec};
use gantry_trainer::training::parallel::Replicas;
use gantry_trainer::training::{
    GanState, Objective, PendingStats, Rates, RunOptions, StepPlan, StepStats, metrics, resume,
    train,
};

/// The MNIST DCGAN, narrow, with its BatchNorm layers taken out: a network whose output
/// for one image does not depend on the others in its batch.
fn batch_norm_free_spec() -> GanSpec {
    let mut spec = DcganConfig::new()
        .with_generator_features(8)
        .with_discriminator_features(8)
        .spec();
    let keep = |l: &LayerSpec| !matches!(l, LayerSpec::BatchNorm { .. });
    spec.generator.retain(keep);
    spec.discriminator.retain(keep);
    spec
}

fn fresh_state(spec: &GanSpec, device: &Device) -> GanState {
    let (generator, discriminator) = spec.init(device);
    GanState {
        generator: dcgan_init(generator, 7, 0),
        discriminator: dcgan_init(discriminator, 7, 1),
        optim_g: AdamConfig::new().with_beta_1(0.5).init(),
        optim_d: AdamConfig::new().with_beta_1(0.5).init(),
        generator_ema: None,
    }
}

fn real_batch(n: usize, step: u64, device: &Device) -> Tensor<4> {
    let values: Vec<f32> = gantry_trainer::latent::normal_batch(
        3,
        gantry_trainer::latent::Stream::Sample,
        step,
        n,
        28 * 28,
    )
    .into_iter()
    .map(f32::tanh)
    .collect();
    Tensor::from_data(TensorData::new(values, [n, 1, 28, 28]), device)
}

/// Every parameter of a module, flattened in visiting order.
fn weights<M: Module>(module: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let values = param.val().into_data().convert::<f32>();
            self.0.extend(values.iter::<f32>());
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

/// Largest |a − b| relative to max(1, |b|).
fn max_relative_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f32::max)
}

fn stats_vector(s: &StepStats) -> Vec<f32> {
    vec![s.loss_d, s.loss_g, s.d_real, s.d_fake, s.saturated]
}

/// Train `steps` steps of `objective` on one device and on three replicas of it, from the
/// same start: the weights and the figures must agree.
fn parallel_equals_one_device(objective: Objective, steps: u64) {
    let device = Device::flex().autodiff();
    let spec = batch_norm_free_spec();
    let plan = StepPlan {
        spec: spec.clone(),
        objective,
        rates: Rates {
            generator: 2e-4,
            discriminator: 2e-4,
        },
        seed: 11,
    };
    let replicas = Replicas::new(vec![Device::flex(); 3]).unwrap();
    // 10 rows over 3 devices: slices of 4, 3 and 3, so the weighting is not trivial.
    let n = 10;
    let mut one = fresh_state(&spec, &device);
    let mut split = fresh_state(&spec, &device);
    for step in 0..steps {
        let (next, stats_one) = one
            .step(&plan, real_batch(n, step, &device), None, step)
            .unwrap();
        one = next;
        let (next, stats_split) = replicas
            .step(split, &plan, real_batch(n, step, &device), None, step)
            .unwrap();
        split = next;
        let (a, b) = (stats_one.read(), stats_split.read());
        let gap = max_relative_difference(&stats_vector(&b), &stats_vector(&a));
        assert!(gap < 1e-5, "step {step}: figures {a:?} vs {b:?}");
    }
    // Float rounding only: the sums of 4 + 3 + 3 rows are added in another order, and Adam
    // divides by √v, which magnifies differences in gradients near zero a little.
    let g = max_relative_difference(&weights(&split.generator), &weights(&one.generator));
    let d = max_relative_difference(&weights(&split.discriminator), &weights(&one.discriminator));
    assert!(g < 1e-4 && d < 1e-4, "generator {g}, discriminator {d}");
    // And the networks did train: the weights moved from where they started.
    let start = fresh_state(&spec, &device);
    let moved = max_relative_difference(&weights(&one.generator), &weights(&start.generator));
    assert!(moved > 1e-4, "the generator did not move ({moved})");
}

#[test]
fn without_batch_norm_a_parallel_step_equals_one_device_step_bce() {
    parallel_equals_one_device(Objective::BCE, 3);
}

#[test]
fn without_batch_norm_a_parallel_step_equals_one_device_step_wgan_gp() {
    // Two critic steps then a generator step: both updates, and the penalty's gradient.
    parallel_equals_one_device(
        Objective::WganGp {
            lambda: 10.0,
            critic_steps: 2,
        },
        4,
    );
}

#[test]
fn slices_cover_the_batch_once() {
    let replicas = Replicas::new(vec![Device::flex(); 3]).unwrap();
    let slices = replicas.slices(64);
    let rows: Vec<usize> = slices.iter().flat_map(|s| s.rows.clone()).collect();
    assert_eq!(rows, (0..64).collect::<Vec<_>>());
    assert_eq!(
        slices.iter().map(|s| s.rows.len()).collect::<Vec<_>>(),
        [22, 21, 21]
    );
}

/// A conditional model with BatchNorm, labels split with the images.
#[test]
fn a_conditional_batch_norm_model_trains_on_replicas() {
    let config = gantry_trainer::training::presets::load("mnist-cgan-conv")
        .unwrap()
        .with_batch_size(8);
    let device = Device::flex().autodiff();
    let plan = StepPlan::new(&config);
    let replicas = Replicas::new(vec![Device::flex(); 2]).unwrap();
    let mut state = GanState::init(&config, &device);
    let labels = Tensor::<1, Int>::from_data(TensorData::new((0..8i64).collect(), [8]), &device);
    let mut figures = Vec::<PendingStats>::new();
    for step in 0..2 {
        let (next, stats) = replicas
            .step(
                state,
                &plan,
                real_batch(8, step, &device),
                Some(labels.clone()),
                step,
            )
            .unwrap();
        state = next;
        figures.push(stats);
    }
    for stats in PendingStats::read_all(figures) {
        assert!(stats.is_finite(), "{stats:?}");
        assert!((0.0..=1.0).contains(&stats.d_real), "{stats:?}");
    }
}

fn losses(run: &std::path::Path) -> Vec<(u64, f32, f32)> {
    metrics::read(&metrics::metrics_path(run))
        .unwrap()
        .iter()
        .filter(|r| r.quality.is_none())
        .map(|r| (r.step, r.loss_d, r.loss_g))
        .collect()
}

/// A data-parallel run stopped and resumed gives the uninterrupted run's losses, and its
/// checkpoint resumes on one device.
#[test]
fn a_parallel_run_resumes_exactly_and_on_one_device() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::tiny_config().with_epochs(1).with_limit(Some(128));
    let parallel = RunOptions {
        replica_devices: vec![Device::flex()],
        ..common::options()
    };
    let whole = dir.path().join("whole");
    let split = dir.path().join("split");
    assert!(train(&whole, &config, &parallel).unwrap().finished);
    let stop_at_2 = RunOptions {
        stop_after_steps: Some(2),
        ..parallel.clone()
    };
    assert!(!train(&split, &config, &stop_at_2).unwrap().finished);
    assert!(resume(&split, None, &parallel).unwrap().finished);
    assert_eq!(losses(&split), losses(&whole));
    assert_eq!(losses(&whole).len(), 4);

    // The same checkpoint, resumed on one device.
    let single = dir.path().join("single");
    assert!(!train(&single, &config, &stop_at_2).unwrap().finished);
    assert!(resume(&single, None, &common::options()).unwrap().finished);
    assert_eq!(losses(&single)[..2], losses(&whole)[..2]);
    assert!(
        losses(&single)
            .iter()
            .all(|(_, d, g)| d.is_finite() && g.is_finite())
    );
}
