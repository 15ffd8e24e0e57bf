//! Every preset trains on real data, and conditional models obey their labels.

mod common;

use burn::tensor::Device;
use gantry_onnx::contract::GridLayout;
use gantry_trainer::data::{Batcher, ImageDataset, Split};
use gantry_trainer::inference::generate;
use gantry_trainer::latent::{self, Stream};
use gantry_trainer::training::presets::{self, PRESETS};
use gantry_trainer::training::{GanState, Objective, StepPlan, TrainingConfig};

/// Two steps of `config` on the first real images of its dataset.
fn two_steps(config: &TrainingConfig) -> (GanState, GanState) {
    let device = Device::flex().autodiff();
    let folder = config.dataset_folder(&common::data_dir());
    let shape = config.model.image_shape();
    let dataset = if folder.exists() {
        ImageDataset::load(
            config.dataset,
            &folder,
            Split::Train,
            shape,
            Some(2 * config.batch_size),
        )
        .unwrap()
    } else {
        // No offline copy of CIFAR-10 or CelebA: random pixels exercise the same code.
        common::random_dataset(config.dataset, shape, 2 * config.batch_size)
    };
    let batcher = Batcher::new(config.batch_size, config.seed);
    let order = batcher.epoch_order(&dataset, 0);
    let before = GanState::init(config, &device);
    let mut state = GanState::init(config, &device);
    let plan = StepPlan::new(config);
    for b in 0..2 {
        let (real, labels) = batcher.augmented_images(
            &dataset,
            batcher.batch(&order, b),
            &config.augment,
            0,
            &device,
        );
        let labels = config.model.classes().map(|_| labels);
        let (next, stats) = state.step(&plan, real, labels, b as u64).unwrap();
        let stats = stats.read();
        assert!(stats.is_finite(), "{stats:?}");
        if let Objective::Bce { .. } = config.objective() {
            assert!(stats.loss_d > 0.0 && stats.loss_g > 0.0, "{stats:?}");
        }
        state = next;
    }
    (before, state)
}

#[test]
fn every_preset_takes_finite_steps_that_change_both_networks() {
    for preset in PRESETS {
        // Two critic steps per generator step, so WGAN-GP's generator moves in two steps.
        let mut config = presets::load(preset.name).unwrap().with_batch_size(8);
        if let Objective::WganGp { lambda, .. } = config.objective() {
            config.objective = Some(Objective::WganGp {
                lambda,
                critic_steps: 2,
            });
        }
        let (before, after) = two_steps(&config);
        for (what, a, b) in [
            (
                "generator",
                common::tensors(&before.generator),
                common::tensors(&after.generator),
            ),
            (
                "discriminator",
                common::tensors(&before.discriminator),
                common::tensors(&after.discriminator),
            ),
        ] {
            assert!(
                common::max_abs_diff(&a, &b) > 0.0,
                "{}: the {what} did not change",
                preset.name
            );
        }
    }
}

#[test]
fn conditional_grid_row_k_is_generated_with_label_k() {
    let config = presets::load("mnist-cgan-conv").unwrap().with_batch_size(8);
    let (_, state) = two_steps(&config);
    let device = Device::flex();
    let layout = GridLayout::samples(16, config.model.classes(), None).unwrap();
    let (labels, columns) = (layout.labels.unwrap(), layout.columns);
    assert_eq!(columns, 4);
    assert_eq!(labels.len(), 40);
    let z = latent::normal_batch(1, Stream::Sample, 0, labels.len(), 100);
    let (grid, shape) = generate(
        &state.generator,
        z.clone(),
        Some(labels.clone()),
        100,
        &device,
    )
    .unwrap();
    assert_eq!(shape, [40, 1, 28, 28]);
    let image = 28 * 28;
    let row =
        |values: &[f32], k: usize| values[k * columns * image..(k + 1) * columns * image].to_vec();
    for k in 0..10 {
        assert!(
            labels[k * columns..(k + 1) * columns]
                .iter()
                .all(|&l| l == k as i64)
        );
        // The row alone, generated with label k, is the grid's row k…
        let z_row = z[k * columns * 100..(k + 1) * columns * 100].to_vec();
        let (alone, _) = generate(
            &state.generator,
            z_row.clone(),
            Some(vec![k as i64; columns]),
            100,
            &device,
        )
        .unwrap();
        let diff = alone
            .iter()
            .zip(row(&grid, k))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            diff < 1e-5,
            "row {k} differs from label {k} alone by {diff}"
        );
        // …and the same z with another label is another image: the label is used.
        let other = (k as i64 + 1) % 10;
        let (moved, _) = generate(
            &state.generator,
            z_row,
            Some(vec![other; columns]),
            100,
            &device,
        )
        .unwrap();
        let change = moved
            .iter()
            .zip(&alone)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(change > 1e-3, "label {other} gives the image of label {k}");
    }
}

#[test]
fn a_conditional_model_must_match_the_datasets_classes() {
    let text = presets::PRESETS
        .iter()
        .find(|p| p.name == "mnist-cgan-conv")
        .unwrap()
        .toml
        .replace("classes = 10", "classes = 7");
    let err = format!("{:#}", TrainingConfig::from_toml_str(&text).unwrap_err());
    assert!(
        err.contains("7 classes") && err.contains("mnist has 10"),
        "{err}"
    );
}
