//! Shared helpers for the trainer's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The data directory with the real datasets: `GANTRY_DATA_DIR`, or `data/` at the
/// workspace root, where `scripts/fetch-data-offline.sh` puts them.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("GANTRY_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"));
    assert!(
        dir.join("mnist").exists(),
        "real MNIST not found under {}: run `scripts/fetch-data-offline.sh {}` first",
        dir.display(),
        dir.display()
    );
    dir
}

/// SVHN's layout, written by scipy: X uint8 (32, 32, 3, 3) with pixel (row, col, ch, i) =
/// (row·7 + col·3 + ch·50 + i) mod 256, y double (3, 1) = [10, 3, 1] (10 is the digit 0).
pub fn write_svhn_mat(path: &std::path::Path, compress: bool) {
    const SCRIPT: &str = r#"
import sys, numpy as np, scipy.io
path, compress = sys.argv[1], sys.argv[2] == "1"
n = 3
r, c, ch, i = np.meshgrid(np.arange(32), np.arange(32), np.arange(3), np.arange(n), indexing="ij")
X = ((r * 7 + c * 3 + ch * 50 + i) % 256).astype(np.uint8)
y = np.array([[10.0], [3.0], [1.0]])
scipy.io.savemat(path, {"X": X, "y": y}, do_compression=compress)
"#;
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/python");
    assert!(
        tools.join("scipy").exists(),
        "scipy missing: run scripts/setup-python-tools.sh first"
    );
    let status = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .arg(if compress { "1" } else { "0" })
        .env("PYTHONPATH", tools)
        .status()
        .unwrap();
    assert!(status.success(), "scipy could not write {}", path.display());
}

/// `n` images of random pixels in `dataset`'s catalogue classes, for datasets with no
/// offline copy.
pub fn random_dataset(
    dataset: DatasetName,
    shape: [usize; 3],
    n: usize,
) -> gantry_trainer::data::ImageDataset {
    let classes = dataset.class_names();
    let mut rng = gantry_trainer::latent::SplitMix64::for_stream(
        9,
        gantry_trainer::latent::Stream::Sample,
        0,
    );
    gantry_trainer::data::ImageDataset {
        name: dataset.to_string(),
        pixels: (0..n * shape.iter().product::<usize>())
            .map(|_| rng.below(256) as u8)
            .collect(),
        labels: (0..n).map(|i| (i % classes.len()) as u8).collect(),
        shape,
        class_names: classes,
    }
}

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use gantry_trainer::data::DatasetName;
use gantry_trainer::model::DcganConfig;
use gantry_trainer::training::{ModelConfig, RunOptions, TrainingConfig};

/// Every float tensor of a module (parameters and running statistics), in visiting order.
pub fn tensors<M: Module>(module: &M) -> Vec<(String, Vec<f32>)> {
    #[derive(Default)]
    struct Collect {
        path: Vec<String>,
        out: Vec<(String, Vec<f32>)>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param
                .val()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap();
            self.out.push((self.path.join("."), values));
        }
    }
    let mut collect = Collect::default();
    module.visit(&mut collect);
    collect.out
}

/// The largest absolute difference between two modules' tensors (they must match in layout).
pub fn max_abs_diff(a: &[(String, Vec<f32>)], b: &[(String, Vec<f32>)]) -> f32 {
    assert_eq!(a.len(), b.len(), "different numbers of tensors");
    a.iter()
        .zip(b)
        .flat_map(|((pa, va), (pb, vb))| {
            assert_eq!(pa, pb);
            assert_eq!(va.len(), vb.len(), "{pa}");
            va.iter().zip(vb).map(|(x, y)| (x - y).abs())
        })
        .fold(0.0, f32::max)
}

/// A small, fast config on real MNIST: narrow networks, a few hundred images.
pub fn tiny_config() -> TrainingConfig {
    TrainingConfig::new()
        .with_dataset(DatasetName::Mnist)
        .with_limit(Some(192))
        .with_batch_size(32)
        .with_epochs(2)
        .with_sample_count(16)
        .with_model(ModelConfig::Dcgan28(
            DcganConfig::new()
                .with_generator_features(8)
                .with_discriminator_features(8),
        ))
}

/// [`options`], stopping (with a checkpoint) after `steps` steps in total.
pub fn stopping_after(steps: u64) -> RunOptions {
    RunOptions {
        stop_after_steps: Some(steps),
        ..options()
    }
}

pub fn options() -> RunOptions {
    RunOptions {
        device: burn::tensor::Device::flex(),
        replica_devices: Vec::new(),
        data_dir: data_dir(),
        show_progress: false,
        log_lines: false,
        stop_after_steps: None,
    }
}
