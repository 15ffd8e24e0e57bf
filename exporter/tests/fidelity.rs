//! `gantry export --for torch-fidelity`: the file torch-fidelity's `--input1 g.onnx` reads
//! gives, for the same z and labels, exactly the bytes of gantry's own float export made
//! into PNG bytes (grey repeated to RGB), as uint8 `[N, 3, H, W]`; and the official checker
//! accepts it.

use gantry_exporter::runtime::OrtGenerator;
use gantry_exporter::{ExportOptions, ExportTarget, export_checkpoint};
use gantry_onnx::contract::grid;
use gantry_onnx::{DimensionValue, ModelProto, data_type};
use gantry_trainer::data::DatasetName;
use gantry_trainer::latent::{self, Stream};
use gantry_trainer::model::CganMlpConfig;
use gantry_trainer::training::{ModelConfig, RunOptions, TrainingConfig, train};
use prost::Message;
use std::path::PathBuf;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_torch_fidelity_file_gives_the_float_exports_images_as_png_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = std::env::var_os("GANTRY_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("data"));
    let config = TrainingConfig::new()
        .with_dataset(DatasetName::Mnist)
        .with_limit(Some(64))
        .with_batch_size(32)
        .with_epochs(1)
        .with_sample_count(4)
        .with_model(ModelConfig::CganMlp(CganMlpConfig::new()));
    let run = dir.path().join("run");
    let options = RunOptions {
        device: burn::tensor::Device::flex(),
        replica_devices: Vec::new(),
        data_dir,
        show_progress: false,
        log_lines: false,
        stop_after_steps: Some(2),
    };
    train(&run, &config, &options).unwrap();

    let float = dir.path().join("g.onnx");
    let bytes = dir.path().join("g-fidelity.onnx");
    export_checkpoint(&run, &float, &ExportOptions::default()).unwrap();
    let fidelity = ExportOptions {
        target: ExportTarget::TorchFidelity,
        ..Default::default()
    };
    let report = export_checkpoint(&run, &bytes, &fidelity).unwrap();
    println!("{report}");
    assert!(report.parity.iter().all(|&(_, levels)| levels <= 1.0));

    // What torch-fidelity's GenerativeModelONNX sees: inputs z then label, one output,
    // uint8 [N, 3, 28, 28].
    let model = ModelProto::decode(std::fs::read(&bytes).unwrap().as_slice()).unwrap();
    let graph = model.graph.as_ref().unwrap();
    let inputs: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(inputs, ["z", "label"]);
    assert_eq!(graph.output.len(), 1);
    let tensor = graph.output[0]
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .unwrap();
    assert_eq!(tensor.elem_type, data_type::UINT8);
    let dims: Vec<Option<i64>> = tensor
        .shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match d.value {
            Some(DimensionValue::DimValue(v)) => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(dims, [None, Some(3), Some(28), Some(28)]);

    // The same z and labels through both files.
    let n = 12;
    let z = latent::normal_batch(5, Stream::Sample, 0, n, 100);
    let labels: Vec<i64> = (0..n as i64).map(|i| i % 10).collect();
    let (images, shape) = OrtGenerator::open(&float)
        .unwrap()
        .generate(&z, n, Some(&labels))
        .unwrap();
    assert_eq!(shape, [n, 1, 28, 28]);
    let (got, shape) = OrtGenerator::open(&bytes)
        .unwrap()
        .generate_bytes(&z, n, Some(&labels))
        .unwrap();
    assert_eq!(shape, [n, 3, 28, 28]);
    let plane = 28 * 28;
    let want: Vec<u8> = images
        .chunks_exact(plane)
        .flat_map(|grey| {
            let rgb: Vec<u8> = grey.iter().map(|&v| grid::byte(v, [-1.0, 1.0])).collect();
            [rgb.clone(), rgb.clone(), rgb].concat()
        })
        .collect();
    let differing = got.iter().zip(&want).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} of {} bytes differ", want.len());
    let levels: std::collections::BTreeSet<u8> = got.iter().copied().collect();
    assert!(
        levels.len() >= 10,
        "a range of levels, not a blank image: {}",
        levels.len()
    );

    let script = "import sys, onnx\n\
        onnx.checker.check_model(sys.argv[1], full_check=True)\n\
        print('ok')";
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&bytes)
        .env("PYTHONPATH", workspace().join(".tools/python"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
