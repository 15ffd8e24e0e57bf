//! Quality measured during training: figures in the metrics file, the best checkpoint kept.

mod common;

use gantry_trainer::data::DatasetName;
use gantry_trainer::eval::classifier::{self, ClassifierConfig};
use gantry_trainer::eval::report::load_quality;
use gantry_trainer::training::{checkpoint, metrics, presets, train};

#[test]
fn training_evaluates_every_epoch_and_keeps_the_best_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let options = common::options();
    let classifier_dir = dir.path().join("classifier");
    let config = ClassifierConfig::new(DatasetName::Mnist)
        .with_epochs(1)
        .with_limit(Some(512));
    classifier::train(
        &config,
        &options.data_dir,
        &classifier_dir,
        &options.device,
        false,
    )
    .unwrap();

    let mut config = presets::load("mnist-cgan-mlp")
        .unwrap()
        .with_limit(Some(128))
        .with_epochs(3)
        .with_eval_every(2)
        .with_eval_samples(200)
        .with_keep_checkpoints(1);
    config.classifier = Some(classifier_dir.to_string_lossy().into_owned());
    let run = dir.path().join("run");
    train(&run, &config, &options).unwrap();

    // Epoch 2 (every 2nd) and epoch 3 (the last) were measured.
    let records = metrics::read(&metrics::metrics_path(&run)).unwrap();
    let evaluated: Vec<(usize, f64)> = records
        .iter()
        .filter_map(|r| Some((r.epoch, r.frechet_distance()?)))
        .collect();
    assert_eq!(
        evaluated.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![2, 3]
    );
    let quality = records
        .iter()
        .rev()
        .find_map(|r| r.quality.clone())
        .unwrap();
    assert!(quality.contains_key("class_accuracy"), "{quality:?}");

    // The best one survives the rotation (keep_checkpoints = 1) with its figures.
    let best = checkpoint::best_dir(&run);
    let best_report = load_quality(&best).unwrap().expect("quality.json in best");
    let lowest = evaluated.iter().map(|e| e.1).fold(f64::INFINITY, f64::min);
    assert_eq!(best_report.frechet_distance, lowest);
    assert_eq!(checkpoint::list(&run).unwrap().len(), 1);
    assert!(run.join("losses.png").exists());
    // And it loads as a checkpoint.
    let config = gantry_trainer::inference::load_run_config(&run).unwrap();
    checkpoint::load(&best, &config, &options.device.clone().autodiff()).unwrap();
}

#[test]
fn a_run_refused_for_a_missing_classifier_leaves_no_run_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::tiny_config().with_epochs(1).with_eval_every(1);
    config.classifier = Some(dir.path().join("no-classifier").display().to_string());
    let run = dir.path().join("run");
    let err = format!(
        "{:#}",
        train(&run, &config, &common::options()).unwrap_err()
    );
    assert!(err.contains("gantry classifier train"), "{err}");
    assert!(!run.exists(), "a refused start left {}", run.display());
    // So the same --out works once the setting is right.
    train(&run, &config.with_eval_every(0), &common::options()).unwrap();
}
