//! Networks, a training step, runs, resume and checkpoints, on the CPU backend.

mod common;

use burn::tensor::{Device, Distribution, Tensor};
use gantry_trainer::model::DcganConfig;
use gantry_trainer::model::GeneratorFeed;
use gantry_trainer::model::spec::infer_shapes;
use gantry_trainer::training::checkpoint;
use gantry_trainer::training::metrics;
use gantry_trainer::training::{GanState, StepPlan, TrainingConfig, resume, train};
use std::path::Path;

#[test]
fn dcgan_networks_have_the_seed_shapes() {
    let config = DcganConfig::new();
    let device = Device::flex();
    let (generator, discriminator) = config.spec().init(&device);
    let z = Tensor::<2>::random([3, 100], Distribution::Normal(0.0, 1.0), &device);
    let images = generator
        .forward(GeneratorFeed::Latent { z, labels: None })
        .unwrap();
    assert_eq!(images.dims(), [3, 1, 28, 28]);
    let values = images
        .clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();
    assert!(
        values.iter().all(|v| (-1.0..=1.0).contains(v)),
        "Tanh output in [-1, 1]"
    );
    assert_eq!(discriminator.forward(images, None).dims(), [3, 1]);

    // Four upsampling layers in G, three convolutions in D, as the MNIST seed has it.
    let g = config.generator_spec();
    let d = config.discriminator_spec();
    assert_eq!(
        g.iter().filter(|l| l.kind() == "conv_transpose2d").count(),
        4
    );
    assert_eq!(d.iter().filter(|l| l.kind() == "conv2d").count(), 3);
    let sizes: Vec<usize> = infer_shapes(&g, [100, 1, 1])
        .unwrap()
        .iter()
        .map(|s| s[1])
        .collect();
    assert_eq!(
        sizes
            .iter()
            .copied()
            .filter(|&s| s > 1)
            .collect::<std::collections::BTreeSet<_>>(),
        [7, 14, 28].into()
    );
}

#[test]
fn one_step_changes_both_networks_and_gives_finite_losses() {
    let config = common::tiny_config();
    let device = Device::flex().autodiff();
    let state = GanState::init(&config, &device);
    let g_before = common::tensors(&state.generator);
    let d_before = common::tensors(&state.discriminator);
    let real = Tensor::<4>::random([32, 1, 28, 28], Distribution::Uniform(-1.0, 1.0), &device);
    let (state, stats) = state.step(&StepPlan::new(&config), real, None, 0).unwrap();
    let stats = stats.read();
    assert!(stats.is_finite(), "{stats:?}");
    assert!(stats.loss_d > 0.0 && stats.loss_g > 0.0, "{stats:?}");
    assert!((0.0..=1.0).contains(&stats.d_real) && (0.0..=1.0).contains(&stats.d_fake));
    assert!(
        common::max_abs_diff(&g_before, &common::tensors(&state.generator)) > 0.0,
        "generator unchanged"
    );
    assert!(
        common::max_abs_diff(&d_before, &common::tensors(&state.discriminator)) > 0.0,
        "discriminator unchanged"
    );
}

fn final_networks(
    run_dir: &Path,
    config: &TrainingConfig,
) -> (Vec<(String, Vec<f32>)>, Vec<(String, Vec<f32>)>) {
    let latest = checkpoint::resolve(run_dir).unwrap();
    let (state, _) = checkpoint::load(&latest, config, &Device::flex().autodiff()).unwrap();
    (
        common::tensors(&state.generator),
        common::tensors(&state.discriminator),
    )
}

#[test]
fn an_interrupted_and_resumed_run_equals_an_uninterrupted_one() {
    let config = common::tiny_config(); // 6 batches per epoch, 2 epochs
    let dirs = tempfile::tempdir().unwrap();
    let whole = dirs.path().join("whole");
    let split = dirs.path().join("split");

    let summary = train(&whole, &config, &common::options()).unwrap();
    assert!(summary.finished);
    assert_eq!(summary.steps, 12);

    // Stop mid-epoch (step 4 of 6), then resume twice: once to the end of epoch 1 … of the
    // run, to check the epoch boundary, and once to the end.
    let first = train(&split, &config, &common::stopping_after(4)).unwrap();
    assert!(!first.finished);
    assert_eq!(first.steps, 4);
    resume(&split, None, &common::stopping_after(6)).unwrap();
    let last = resume(&split, None, &common::options()).unwrap();
    assert!(last.finished);
    assert_eq!(last.steps, 12);

    // The metrics tell the same story, step for step.
    let m_whole = metrics::read(&metrics::metrics_path(&whole)).unwrap();
    let m_split = metrics::read(&metrics::metrics_path(&split)).unwrap();
    assert_eq!(m_whole.len(), 12);
    let losses = |m: &[metrics::MetricsRecord]| {
        m.iter()
            .map(|r| (r.step, r.loss_d, r.loss_g))
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&m_whole), losses(&m_split));

    let (g_whole, d_whole) = final_networks(&whole, &config);
    let (g_split, d_split) = final_networks(&split, &config);
    assert_eq!(
        common::max_abs_diff(&g_whole, &g_split),
        0.0,
        "generators differ"
    );
    assert_eq!(
        common::max_abs_diff(&d_whole, &d_split),
        0.0,
        "discriminators differ"
    );
}

#[test]
fn a_run_directory_holds_every_artefact() {
    let config = common::tiny_config()
        .with_epochs(1)
        .with_keep_checkpoints(2)
        .with_checkpoint_every(2);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run, &config, &common::options()).unwrap();

    let saved = TrainingConfig::from_file(&run.join("config.json")).unwrap();
    assert_eq!(saved.batch_size, 32);
    let records = metrics::read(&metrics::metrics_path(&run)).unwrap();
    assert_eq!(
        records.iter().map(|r| r.step).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
    assert!(
        records
            .iter()
            .all(|r| r.images_per_sec > 0.0 && r.loss_d.is_finite())
    );

    // Checkpoints at steps 2, 4, 6; only the newest two are kept.
    let names: Vec<String> = checkpoint::list(&run)
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["step-00000004", "step-00000006"]);

    // A 4×4 grid of 28×28 images with 2-pixel gaps, and the loss plot.
    let grid = image::open(run.join("samples/epoch-001.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (4 * 30 + 2, 4 * 30 + 2));
    use image::GenericImageView;
    // Before the first step: the same noise through the untrained generator, a different
    // picture, and the first 16 training images in the same layout.
    let before = image::open(run.join("samples/epoch-000.png")).unwrap();
    assert_eq!(before.dimensions(), grid.dimensions());
    assert_ne!(
        before.as_bytes(),
        grid.as_bytes(),
        "training changed nothing"
    );
    let real = image::open(run.join("samples/real.png")).unwrap();
    assert_eq!(real.dimensions(), grid.dimensions());
    assert_ne!(real.as_bytes(), before.as_bytes());
    let plot = image::open(run.join("losses.png")).unwrap();
    assert_eq!((plot.width(), plot.height()), (960, 640));

    // A second run into the same directory is refused: nothing saved is overwritten.
    let err = train(&run, &config, &common::options())
        .unwrap_err()
        .to_string();
    assert!(err.contains("already holds a run"), "{err}");
}

#[test]
fn a_corrupt_checkpoint_is_refused_with_the_file_named() {
    let config = common::tiny_config().with_epochs(1);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run, &config, &common::options()).unwrap();
    let latest = checkpoint::resolve(&run).unwrap();
    let file = latest.join("generator.bpk");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 100]).unwrap();

    let err = format!(
        "{:#}",
        resume(&run, Some(2), &common::options()).unwrap_err()
    );
    assert!(
        err.contains("generator.bpk") && err.contains("corrupt or truncated"),
        "{err}"
    );

    // A config that does not match the checkpoint's architecture is refused too.
    std::fs::write(&file, &bytes).unwrap();
    let wider = common::tiny_config().with_model(gantry_trainer::training::ModelConfig::Dcgan28(
        DcganConfig::new()
            .with_generator_features(16)
            .with_discriminator_features(8),
    ));
    let err = format!(
        "{:#}",
        checkpoint::load(&latest, &wider, &Device::flex().autodiff())
            .err()
            .unwrap()
    );
    assert!(
        err.contains("generator.bpk") && err.contains("does not fit"),
        "{err}"
    );
}

#[test]
fn initial_weights_follow_dcgan_and_depend_only_on_the_seed() {
    let device = Device::flex().autodiff();
    let a = GanState::init(&common::tiny_config(), &device);
    let b = GanState::init(&common::tiny_config(), &device);
    let c = GanState::init(&common::tiny_config().with_seed(7), &device);
    let (ta, tb, tc) = (
        common::tensors(&a.generator),
        common::tensors(&b.generator),
        common::tensors(&c.generator),
    );
    assert_eq!(
        common::max_abs_diff(&ta, &tb),
        0.0,
        "same seed, same weights"
    );
    assert!(
        common::max_abs_diff(&ta, &tc) > 0.0,
        "another seed, other weights"
    );

    let stats = |values: &[f32]| {
        let n = values.len() as f32;
        let mean = values.iter().sum::<f32>() / n;
        (
            mean,
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt(),
        )
    };
    let (_, weight) = ta
        .iter()
        .find(|(p, _)| p.ends_with("ConvTranspose2d.weight"))
        .unwrap();
    let (mean, std) = stats(weight);
    assert!(
        mean.abs() < 0.002 && (std - 0.02).abs() < 0.002,
        "conv weights N(0, 0.02): {mean} {std}"
    );
    let (_, gamma) = ta
        .iter()
        .find(|(p, _)| p.ends_with("BatchNorm.gamma"))
        .unwrap();
    let (mean, _) = stats(gamma);
    assert!(
        (mean - 1.0).abs() < 0.02,
        "BatchNorm scale N(1, 0.02): {mean}"
    );
}

#[test]
fn each_network_steps_with_its_own_learning_rate() {
    // lr_d so small that no discriminator weight can move: only the generator trains.
    let mut config = common::tiny_config();
    config.lr_d = Some(1e-12);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run, &config, &common::stopping_after(1)).unwrap();
    let device = Device::flex().autodiff();
    let before = GanState::init(&config, &device);
    let latest = checkpoint::resolve(&run).unwrap();
    let (after, _) = checkpoint::load(&latest, &config, &device).unwrap();
    let weights = |tensors: Vec<(String, Vec<f32>)>| -> Vec<(String, Vec<f32>)> {
        tensors
            .into_iter()
            .filter(|(name, _)| !name.contains("running"))
            .collect()
    };
    let moved = |a, b| common::max_abs_diff(&weights(a), &weights(b));
    let d = moved(
        common::tensors(&before.discriminator),
        common::tensors(&after.discriminator),
    );
    let g = moved(
        common::tensors(&before.generator),
        common::tensors(&after.generator),
    );
    assert!(d < 1e-9, "the discriminator moved by {d}");
    assert!(g > 1e-5, "the generator moved by only {g}");
    assert_eq!(config.lr_generator(), config.lr);
    assert_eq!(config.lr_discriminator(), 1e-12);
}

#[test]
fn the_discriminator_loss_can_sum_its_two_terms() {
    use gantry_trainer::training::{Objective, TermsCombined};
    let first_loss_d = |combined| {
        let mut config = common::tiny_config().with_epochs(1);
        config.objective = Some(Objective::Bce {
            real_label: 1.0,
            discriminator_loss: combined,
        });
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        train(&run, &config, &common::stopping_after(1)).unwrap();
        metrics::read(&metrics::metrics_path(&run)).unwrap()[0].loss_d
    };
    // Step 1's D loss comes before any update: the same two terms, summed or averaged.
    let (mean, sum) = (
        first_loss_d(TermsCombined::Mean),
        first_loss_d(TermsCombined::Sum),
    );
    assert!(
        (sum - 2.0 * mean).abs() <= 1e-6 * sum,
        "sum {sum}, mean {mean}"
    );
}
