//! Every preset's generator, after a few real training steps, exports to a file that ONNX
//! Runtime runs exactly as burn does and that the official checker accepts.

use gantry_exporter::{ExportOptions, ModelMetadata, export_checkpoint};
use gantry_onnx::ModelProto;
use gantry_trainer::data::DatasetName;
use gantry_trainer::training::presets::{self, PRESETS};
use gantry_trainer::training::{RunOptions, train};
use prost::Message;
use std::path::{Path, PathBuf};

/// 16 noisy 64×64 RGB PNGs.
fn stand_in_images(dir: &Path) -> PathBuf {
    let folder = dir.join("stand-in-images");
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..16u32 {
        let image = image::RgbImage::from_fn(64, 64, |x, y| {
            let v = (x * 7 + y * 13 + i * 31) % 256;
            image::Rgb([v as u8, (255 - v) as u8, (v / 2) as u8])
        });
        image.save(folder.join(format!("{i:02}.png"))).unwrap();
    }
    folder
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_preset_exports_with_onnx_runtime_parity() {
    let data_dir = std::env::var_os("GANTRY_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("data"));
    let dir = tempfile::tempdir().unwrap();
    for preset in PRESETS {
        let mut config = presets::load(preset.name)
            .unwrap()
            .with_limit(Some(64))
            .with_batch_size(16)
            .with_sample_count(4)
            // Two steps of each preset: nothing to measure (and no classifier needed).
            .with_eval_every(0);
        if !config.dataset_folder(&data_dir).exists() {
            // No offline CIFAR-10 or CelebA: a folder of PNGs stands in (same model, same export).
            config.dataset = DatasetName::ImageFolder;
            config.dataset_dir = Some(stand_in_images(dir.path()).display().to_string());
        }
        let run = dir.path().join(preset.name);
        let options = RunOptions {
            device: burn::tensor::Device::flex(),
            replica_devices: Vec::new(),
            data_dir: data_dir.clone(),
            show_progress: false,
            log_lines: false,
            stop_after_steps: Some(2),
        };
        train(&run, &config, &options).unwrap();
        let out = dir.path().join(format!("{}.onnx", preset.name));
        let report = export_checkpoint(&run, &out, &ExportOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e:#}", preset.name));
        println!("{} {report}", preset.name);
        assert_eq!(report.parity.len(), 2, "{}", preset.name);

        let model = ModelProto::decode(std::fs::read(&out).unwrap().as_slice()).unwrap();
        let graph = model.graph.as_ref().unwrap();
        let inputs: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
        let meta = ModelMetadata::from_props(&model.metadata_props)
            .unwrap()
            .unwrap();
        assert_eq!(meta.model_kind, config.model.name());
        if let Some(source) = config.model.source_shape() {
            assert_eq!(inputs, ["image_lr"], "{}", preset.name);
            assert_eq!(meta.input.source_shape(), Some(source));
            assert_eq!(meta.input.latent_dim(), None);
        } else if config.model.classes().is_some() {
            assert_eq!(inputs, ["z", "label"], "{}", preset.name);
            assert!(meta.input.is_conditional());
            assert_eq!(meta.class_names.len(), 10);
        } else {
            assert_eq!(inputs, ["z"], "{}", preset.name);
            assert!(!meta.input.is_conditional());
        }

        let script = "import sys, onnx\n\
            onnx.checker.check_model(sys.argv[1], full_check=True)\n\
            onnx.shape_inference.infer_shapes(onnx.load(sys.argv[1]), check_type=True, strict_mode=True)\n\
            print('ok')";
        let output = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&out)
            .env("PYTHONPATH", workspace().join(".tools/python"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}{}",
            preset.name,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
