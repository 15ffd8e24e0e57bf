//! Exports of trained generators: ONNX Runtime parity, the official checker, metadata, and
//! refusals that leave nothing behind.

use gantry_exporter::{
    ExportOptions, GeneratorInput, ModelMetadata, export_checkpoint, generator_model,
};
use gantry_onnx::{DimensionValue, ModelProto};
use gantry_trainer::data::DatasetName;
use gantry_trainer::model::{BatchNormSettings, DcganConfig, LayerSpec};
use gantry_trainer::training::{ModelConfig, RunOptions, TrainingConfig, train};
use prost::Message;
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("GANTRY_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"));
    assert!(
        dir.join("mnist").exists(),
        "run scripts/fetch-data-offline.sh {} first",
        dir.display()
    );
    dir
}

/// A run of a few steps, so BatchNorm's running statistics are no longer their initial values.
const BATCH_NORM_EPSILON: f64 = 0.25;

fn trained_run(dir: &Path) -> PathBuf {
    let config = TrainingConfig::new()
        .with_dataset(DatasetName::Mnist)
        .with_limit(Some(128))
        .with_batch_size(32)
        .with_epochs(1)
        .with_sample_count(4)
        .with_model(ModelConfig::Dcgan28(
            DcganConfig::new()
                .with_generator_features(8)
                .with_discriminator_features(8)
                // Not the default ε: the parity check then shows the file carries the
                // layer's own.
                .with_batch_norm(BatchNormSettings {
                    momentum: 0.1,
                    epsilon: BATCH_NORM_EPSILON,
                }),
        ));
    let run = dir.join("run");
    let options = RunOptions {
        device: burn::tensor::Device::flex(),
        replica_devices: Vec::new(),
        data_dir: data_dir(),
        show_progress: false,
        log_lines: false,
        stop_after_steps: Some(3),
    };
    train(&run, &config, &options).unwrap();
    run
}

fn python_tools() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/python");
    assert!(
        dir.join("onnx").exists(),
        "run scripts/setup-python-tools.sh first"
    );
    dir
}

#[test]
fn export_matches_onnx_runtime_and_passes_the_official_checker() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained_run(dir.path());
    let out = dir.path().join("g.onnx");
    let report = export_checkpoint(&run, &out, &ExportOptions::default()).unwrap();

    // Parity with ONNX Runtime at batch 1 and 64, within 1e-5.
    assert_eq!(
        report.parity.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![1, 64]
    );
    for (batch, diff) in &report.parity {
        assert!(*diff <= 1e-5, "batch {batch}: {diff}");
    }
    println!("{report}");

    // The file says what it is.
    let model = ModelProto::decode(std::fs::read(&out).unwrap().as_slice()).unwrap();
    assert!(model.ir_version >= 8);
    assert!(
        model
            .opset_import
            .iter()
            .any(|o| o.domain.is_empty() && o.version >= 17)
    );
    let graph = model.graph.as_ref().unwrap();
    let dims = |v: &gantry_onnx::ValueInfoProto| -> Vec<DimensionValue> {
        v.r#type
            .clone()
            .unwrap()
            .tensor_type
            .unwrap()
            .shape
            .unwrap()
            .dim
            .into_iter()
            .map(|d| d.value.unwrap())
            .collect()
    };
    assert_eq!(graph.input.len(), 1);
    assert_eq!(graph.input[0].name, "z");
    assert_eq!(
        dims(&graph.input[0]),
        vec![
            DimensionValue::DimParam("N".into()),
            DimensionValue::DimValue(100)
        ]
    );
    assert_eq!(graph.output[0].name, "image");
    assert_eq!(
        dims(&graph.output[0]),
        vec![
            DimensionValue::DimParam("N".into()),
            DimensionValue::DimValue(1),
            DimensionValue::DimValue(28),
            DimensionValue::DimValue(28)
        ]
    );
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    for op in [
        "ConvTranspose",
        "BatchNormalization",
        "Relu",
        "Tanh",
        "Reshape",
    ] {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
    for norm in graph
        .node
        .iter()
        .filter(|n| n.op_type == "BatchNormalization")
    {
        let epsilon = norm.attribute.iter().find(|a| a.name == "epsilon").unwrap();
        assert_eq!(epsilon.f, BATCH_NORM_EPSILON as f32, "{}", norm.name);
    }
    let meta = ModelMetadata::from_props(&model.metadata_props)
        .unwrap()
        .unwrap();
    assert_eq!(meta.model_kind, "dcgan28");
    assert_eq!(meta.dataset, "mnist");
    assert_eq!(meta.class_names.len(), 10);
    assert_eq!(
        (meta.input.latent_dim(), meta.image_shape, meta.steps),
        (Some(100), [1, 28, 28], 3)
    );
    assert_eq!(meta.value_range, [-1.0, 1.0]);

    // A second, independent opinion: onnx.checker (full check) and strict shape inference.
    let script = "import sys, onnx\n\
        onnx.checker.check_model(sys.argv[1], full_check=True)\n\
        m = onnx.shape_inference.infer_shapes(onnx.load(sys.argv[1]), check_type=True, strict_mode=True)\n\
        print('ok', [d.dim_param or d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim])";
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&out)
        .env("PYTHONPATH", python_tools())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.trim(), "ok ['N', 1, 28, 28]");
}

#[test]
fn a_truncated_checkpoint_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained_run(dir.path());
    let ckpt = gantry_trainer::training::checkpoint::resolve(&run).unwrap();
    let file = ckpt.join("generator.bpk");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path().join("g.onnx");
    let err = format!(
        "{:#}",
        export_checkpoint(&run, &out, &ExportOptions::default()).unwrap_err()
    );
    assert!(
        err.contains("generator.bpk") && err.contains("truncated"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the run directory remains"
    );
}

#[test]
fn a_checkpoint_whose_config_does_not_match_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained_run(dir.path());
    let config_path = run.join("config.json");
    let text = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(
        &config_path,
        text.replace("\"generator_features\": 8", "\"generator_features\": 16"),
    )
    .unwrap();
    let out = dir.path().join("g.onnx");
    let err = format!(
        "{:#}",
        export_checkpoint(&run, &out, &ExportOptions::default()).unwrap_err()
    );
    assert!(err.contains("does not fit the model"), "{err}");
    assert!(!out.exists());
}

#[test]
fn an_unwritable_output_is_refused_and_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained_run(dir.path());
    let out = dir.path().join("no-such-folder/g.onnx");
    let err = format!(
        "{:#}",
        export_checkpoint(&run, &out, &ExportOptions::default()).unwrap_err()
    );
    assert!(
        err.contains("no-such-folder") && err.contains("does not exist"),
        "{err}"
    );

    // An existing file is replaced only by a complete, verified one.
    let out = dir.path().join("g.onnx");
    std::fs::write(&out, b"previous export").unwrap();
    let options = ExportOptions {
        tolerance: -1.0,
        ..Default::default()
    }; // no export can pass
    let err = format!("{:#}", export_checkpoint(&run, &out, &options).unwrap_err());
    assert!(err.contains("differ"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous export");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn a_module_that_does_not_match_its_spec_is_refused_naming_the_layer() {
    let config = DcganConfig::new().with_generator_features(8);
    let mut spec = config.spec();
    let (generator, _) = spec.init(&burn::tensor::Device::flex());
    spec.generator[2] = LayerSpec::Tanh; // the module has a ReLU there
    let meta = ModelMetadata {
        model_kind: "dcgan28".into(),
        dataset: "mnist".into(),
        class_names: vec![],
        input: GeneratorInput::Latent {
            dim: 100,
            classes: None,
        },
        image_shape: [1, 28, 28],
        value_range: [-1.0, 1.0],
        epochs: 0,
        steps: 0,
        quality: vec![],
    };
    let err = generator_model(&spec, &generator, &meta)
        .unwrap_err()
        .to_string();
    assert!(err.contains("layer 2 (tanh)"), "{err}");
}
