//! The generator's moving average (`ema_decay`): kept in every checkpoint, the same after a
//! resumed run as after an uninterrupted one, and what sample / eval / export open.

mod common;

use burn::module::Module;
use gantry_trainer::inference::TrainedRun;
use gantry_trainer::training::checkpoint::{self, GeneratorWeights};
use gantry_trainer::training::{RunOptions, TrainingConfig, resume, train};
use std::path::Path;

fn config() -> TrainingConfig {
    common::tiny_config()
        .with_epochs(1)
        .with_checkpoint_every(2)
        .with_ema_decay(Some(0.9))
}

/// The newest checkpoint's generator and its moving average.
type Tensors = Vec<(String, Vec<f32>)>;
fn newest(run: &Path) -> (Tensors, Tensors) {
    let newest = checkpoint::resolve(run).unwrap();
    let config = TrainingConfig::from_file(&run.join("config.json")).unwrap();
    let (state, _) =
        checkpoint::load(&newest, &config, &burn::tensor::Device::flex().autodiff()).unwrap();
    let ema = state
        .generator_ema
        .expect("a run with ema_decay keeps an average");
    (
        common::tensors(&state.generator.valid()),
        common::tensors(&ema),
    )
}

#[test]
fn the_moving_average_resumes_exactly_and_is_what_a_trained_run_opens() {
    let dir = tempfile::tempdir().unwrap();
    let straight = dir.path().join("straight");
    train(&straight, &config(), &common::options()).unwrap();
    let split = dir.path().join("split");
    let stop_at_2 = RunOptions {
        stop_after_steps: Some(2),
        ..common::options()
    };
    train(&split, &config(), &stop_at_2).unwrap();
    resume(&split, None, &common::options()).unwrap();

    let (generator, average) = newest(&straight);
    let (_, resumed_average) = newest(&split);
    assert_eq!(common::max_abs_diff(&average, &resumed_average), 0.0);
    // Six updates at 0.9 leave the average well short of the generator's weights, while the
    // running statistics are the generator's own.
    assert!(common::max_abs_diff(&generator, &average) > 1e-4);
    for ((name, g), (_, a)) in generator.iter().zip(&average) {
        if name.contains("running_") {
            assert_eq!(g, a, "{name}");
        }
    }

    let opened = TrainedRun::open(&straight, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(opened.weights, GeneratorWeights::MovingAverage);
    assert!(opened.weights_note().unwrap().contains("moving average"));
    assert_eq!(
        common::max_abs_diff(&common::tensors(&opened.generator), &average),
        0.0
    );
}
