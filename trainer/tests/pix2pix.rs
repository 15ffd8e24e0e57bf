//! Pix2Pix super-resolution learns from its L1 + adversarial loss: after a short run on the
//! LFW faces it restores faces it never saw better than enlarging their pixels does, and
//! its sample grid shows source, upscale and original in that order.

mod common;

use burn::tensor::{Device, Tensor};
use gantry_trainer::data::{Batcher, ImageDataset, Split};
use gantry_trainer::inference::{translate, translation_grid};
use gantry_trainer::model::Pix2PixConfig;
use gantry_trainer::model::{downsample_mean, upsample_nearest};
use gantry_trainer::training::{
    GanState, ModelConfig, RunOptions, StepPlan, checkpoint, presets, resume, train,
};

/// burn's random generator is one per process: dropout in a test running alongside would
/// draw from it between a run's seeding and its use, so these tests take turns.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Mean |a − b| over all values.
fn l1(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn a_short_run_upscales_unseen_faces_better_than_nearest_neighbour() {
    let _turn = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let config = presets::load("lfw-pix2pix").unwrap();
    let shape = config.model.image_shape();
    let folder = config.dataset_folder(&common::data_dir());
    let faces = ImageDataset::load(config.dataset, &folder, Split::Train, shape, None).unwrap();
    let limit = config.limit.unwrap();
    assert_eq!(faces.len(), 100);
    let train = faces.clone().truncate(limit);
    let unseen = faces.skip(limit);
    assert_eq!(unseen.len(), 10);

    let device = Device::flex().autodiff();
    let batcher = Batcher::new(config.batch_size, config.seed);
    let mut state = GanState::init(&config, &device);
    let plan = StepPlan::new(&config);
    let per_epoch = batcher.batches_per_epoch(&train);
    for step in 0..150u64 {
        let epoch = step as usize / per_epoch;
        let order = batcher.epoch_order(&train, epoch);
        let (real, _) = batcher.augmented_images(
            &train,
            batcher.batch(&order, step as usize % per_epoch),
            &config.augment,
            epoch,
            &device,
        );
        let (next, stats) = state.step(&plan, real, None, step).unwrap();
        let stats = stats.read();
        assert!(stats.is_finite(), "step {step}: {stats:?}");
        state = next;
    }

    let cpu = Device::flex();
    let indices: Vec<usize> = (0..unseen.len()).collect();
    let (targets, _) = Batcher::images(&unseen, &indices, &cpu);
    let sources = downsample_mean(targets.clone(), 4);
    let source_shape = sources.dims();
    assert_eq!(source_shape, [10, 1, 8, 8]);
    let enlarged = values(upsample_nearest(sources.clone(), 4));
    let (upscaled, shape) =
        translate(&state.generator, values(sources), source_shape, &cpu).unwrap();
    assert_eq!(shape, [10, 1, 32, 32]);
    let targets = values(targets);
    let (ours, nearest) = (l1(&upscaled, &targets), l1(&enlarged, &targets));
    println!("unseen faces, mean |Δ| to the original: upscaled {ours:.4}, nearest {nearest:.4}");
    assert!(
        ours < nearest,
        "upscaled {ours} is no closer to the originals than nearest neighbour {nearest}"
    );

    // The grid: per face, the enlarged source, the upscale, the original.
    let grid = translation_grid(&state.generator, &unseen, 4, 4, &cpu).unwrap();
    let (grid, grid_shape, columns) = (grid.values, grid.shape, grid.layout.columns);
    assert_eq!((grid_shape, columns), ([12, 1, 32, 32], 12));
    let image = 32 * 32;
    for k in 0..4 {
        let at = |i: usize| &grid[(3 * k + i) * image..(3 * k + i + 1) * image];
        assert_eq!(at(0), &enlarged[k * image..(k + 1) * image]);
        assert!(l1(at(1), &upscaled[k * image..(k + 1) * image]) < 1e-6);
        assert_eq!(at(2), &targets[k * image..(k + 1) * image]);
    }
}

#[test]
fn an_interrupted_pix2pix_run_resumes_exactly() {
    let _turn = RNG.lock().unwrap_or_else(|e| e.into_inner());
    // Dropout in the U-Net and augmented batches: both must be drawn again identically.
    let config = presets::load("lfw-pix2pix")
        .unwrap()
        .with_limit(Some(30))
        .with_batch_size(10)
        .with_epochs(2)
        .with_sample_count(4)
        .with_model(ModelConfig::Pix2Pix(
            Pix2PixConfig::new()
                .with_generator_features(8)
                .with_discriminator_features(8),
        ));
    let dirs = tempfile::tempdir().unwrap();
    let (whole, split) = (dirs.path().join("whole"), dirs.path().join("split"));
    let options = |stop| RunOptions {
        stop_after_steps: stop,
        ..common::options()
    };
    assert_eq!(train(&whole, &config, &options(None)).unwrap().steps, 6);
    assert!(!train(&split, &config, &options(Some(2))).unwrap().finished);
    assert!(resume(&split, None, &options(None)).unwrap().finished);
    let weights = |run: &std::path::Path| {
        let latest = checkpoint::resolve(run).unwrap();
        let (state, _) = checkpoint::load(&latest, &config, &Device::flex().autodiff()).unwrap();
        (
            common::tensors(&state.generator),
            common::tensors(&state.discriminator),
        )
    };
    let ((g1, d1), (g2, d2)) = (weights(&whole), weights(&split));
    assert_eq!(common::max_abs_diff(&g1, &g2), 0.0, "generators differ");
    assert_eq!(common::max_abs_diff(&d1, &d2), 0.0, "discriminators differ");
    assert!(whole.join("samples/epoch-002.png").exists());
}

#[test]
fn training_makes_sources_as_the_page_and_gantry_sample_do() {
    // Training shrinks batches with tensors; the page and `gantry sample` with the contract's
    // block mean. Both must give the upscaler the same sources.
    let device = Device::flex();
    let values = gantry_trainer::latent::normal_batch(
        9,
        gantry_trainer::latent::Stream::Sample,
        0,
        3,
        2 * 16 * 16,
    );
    let tensor = burn::tensor::Tensor::<4>::from_data(
        burn::tensor::TensorData::new(values.clone(), [3, 2, 16, 16]),
        &device,
    );
    let ours = downsample_mean(tensor, 4)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let contract = gantry_onnx::contract::pictures::block_mean(&values, [3, 2, 16, 16], 4).unwrap();
    assert_eq!(ours.len(), contract.len());
    let worst = ours
        .iter()
        .zip(&contract)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        worst < 1e-6,
        "training's sources differ from the contract's by {worst}"
    );
}
