//! `gantry eval --inception FILE`: a feature network in ONNX Runtime gives the figures the
//! same code path gives with gantry's own classifier. Checked by exporting the classifier's
//! feature layers to ONNX and using that file as the "Inception" network.

use gantry_exporter::network_model;
use gantry_exporter::onnx_eval::OnnxFeatures;
use gantry_trainer::data::{DatasetName, ImageDataset, Split};
use gantry_trainer::eval::classifier::{self, ClassifierConfig};
use gantry_trainer::eval::report::{BurnGenerator, EvalOptions, FeatureExtractor, evaluate};
use gantry_trainer::training::presets;
use prost::Message;
use std::path::PathBuf;

#[test]
fn an_onnx_feature_network_measures_like_the_classifier_it_was_exported_from() {
    let data_dir = std::env::var_os("GANTRY_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"));
    let dir = tempfile::tempdir().unwrap();
    let device = burn::tensor::Device::flex();
    let config = ClassifierConfig::new(DatasetName::Mnist)
        .with_epochs(1)
        .with_limit(Some(512));
    let mut trained = classifier::train(&config, &data_dir, dir.path(), &device, false).unwrap();

    let onnx = dir.path().join("features.onnx");
    let model = network_model(
        &config.body_spec(),
        &trained.model.body,
        DatasetName::Mnist.image_shape(),
        "gantry_classifier_features",
    )
    .unwrap();
    std::fs::write(&onnx, model.encode_to_vec()).unwrap();
    let mut features = OnnxFeatures::open(&onnx).unwrap();

    // Feature for feature, on real test images.
    let test = ImageDataset::load_idx(DatasetName::Mnist, &data_dir, Split::Test).unwrap();
    let images: Vec<f32> = (0..200)
        .flat_map(|i| test.image(i).iter().map(|&p| p as f32 / 127.5 - 1.0))
        .collect();
    let ours = trained.embed(&images, [1, 28, 28]).0;
    let theirs = features.features(&images, [1, 28, 28]).unwrap();
    assert_eq!((theirs.rows, theirs.dim), (200, 128));
    let diff = ours
        .values
        .iter()
        .zip(&theirs.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(diff < 1e-4, "features differ by {diff}");

    // Whole evaluations, classifier features vs the ONNX network's.
    let train = ImageDataset::load_idx(DatasetName::Mnist, &data_dir, Split::Train).unwrap();
    let gan = presets::load("mnist-cgan-mlp").unwrap();
    let (generator, _) = gan.model.init(&device);
    let options = EvalOptions {
        samples: 500,
        ..EvalOptions::default()
    };
    let mut source = BurnGenerator::new(&generator, &gan.model.spec(), &device);
    let plain = evaluate(&mut source, &mut trained, None, &train, &test, &options).unwrap();
    let via_onnx = evaluate(
        &mut source,
        &mut trained,
        Some(&mut features as &mut dyn FeatureExtractor),
        &train,
        &test,
        &options,
    )
    .unwrap();
    println!("classifier: {plain}\nonnx: {via_onnx}");
    let relative = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-9);
    assert!(relative(via_onnx.frechet_distance, plain.frechet_distance) < 1e-3);
    assert!(
        relative(
            via_onnx.baseline_frechet_distance,
            plain.baseline_frechet_distance
        ) < 1e-3
    );
    assert!(via_onnx.features.ends_with("features.onnx"));
    // An untrained generator is far from the data; real train vs test is close.
    assert!(
        plain.baseline_frechet_distance < 0.1 * plain.frechet_distance,
        "{plain}"
    );
}
