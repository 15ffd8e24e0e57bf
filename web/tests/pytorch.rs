//! Generators as PyTorch users export them run in gantry-web as they run in ONNX Runtime:
//! the seeds' networks written the PyTorch way (`scripts/pytorch_exports.py`: DCGAN netG,
//! Keras-style G, MLP cGAN G, WGAN-GP G, a Pix2Pix-style U-Net upscaler), each exported
//! with TorchScript (opset 17) and with dynamo (PyTorch's default since 2.9, opset 20),
//! whatever their inputs are called, `[N, nz]` or `[N, nz, 1, 1]`.

use gantry_exporter::export::max_abs_diff;
use gantry_exporter::runtime::{Labels, OrtGenerator};
use gantry_latent::{Stream, normal_batch};
use gantry_onnx::contract::GeneratorInput;
use gantry_web::Generator;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The exports, written once per test run by the script with PyPI torch
/// (`scripts/setup-torch.sh` installs it into `.tools/torch`).
fn exports() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".tools/torch/bin/python");
        assert!(
            python.exists(),
            "PyTorch missing: run scripts/setup-torch.sh (PyPI torch + onnxscript into .tools/torch)"
        );
        // Rewritten on every run, in cargo's scratch folder for tests (not /tmp: ~90 MB).
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pytorch-exports");
        let status = std::process::Command::new(python)
            .arg(root.join("scripts/pytorch_exports.py"))
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "scripts/pytorch_exports.py failed");
        out
    })
}

struct Described {
    float_input: String,
    dims: Vec<usize>,
    labels: Option<(String, usize)>,
    /// An upscaler's factor (its float input is an image).
    scale: Option<usize>,
    /// The labels are one-hot float rows, not indices.
    one_hot: bool,
}

fn describe(name: &str) -> Described {
    let text = std::fs::read_to_string(exports().join(format!("{name}.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let inputs = json["inputs"].as_array().unwrap();
    let float = inputs
        .iter()
        .find(|i| i["type"] == "float32" && i["one_hot"] != true)
        .unwrap();
    let label = inputs
        .iter()
        .find(|i| i["type"] == "int64" || i["one_hot"] == true);
    Described {
        float_input: float["name"].as_str().unwrap().into(),
        dims: float["shape"].as_array().unwrap()[1..]
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect(),
        scale: float["scale"].as_u64().map(|s| s as usize),
        labels: label.map(|i| {
            (
                i["name"].as_str().unwrap().into(),
                i["classes"].as_u64().unwrap() as usize,
            )
        }),
        one_hot: label.is_some_and(|i| i["one_hot"] == true),
    }
}

fn check(name: &str, exporter: &str) {
    let file = exports().join(format!("{name}.{exporter}.onnx"));
    let described = describe(name);
    let generator = Generator::from_bytes(&std::fs::read(&file).unwrap())
        .unwrap_or_else(|e| panic!("{name} ({exporter}): {e}"));
    let latent: usize = described.dims.iter().product();
    let expected = match described.scale {
        Some(scale) => GeneratorInput::Source {
            shape: [described.dims[0], described.dims[1], described.dims[2]],
            scale,
        },
        None => GeneratorInput::Latent {
            dim: latent,
            classes: described.labels.as_ref().map(|l| l.1),
        },
    };
    assert_eq!(generator.kind(), expected, "{name} ({exporter})");
    let mut ort = OrtGenerator::open(&file).unwrap();
    // Batch 1 twice: the second call reuses the shape arithmetic of the first.
    for n in [1, 5, 1] {
        let mut z = normal_batch(7, Stream::Sample, n as u64, n, latent);
        if described.scale.is_some() {
            // An upscaler's source is an image in [-1, 1].
            z.iter_mut().for_each(|v| *v = v.tanh());
        }
        let labels: Option<Vec<i64>> = described
            .labels
            .as_ref()
            .map(|(_, k)| (0..n as i64).map(|i| (i * 3) % *k as i64).collect());
        let (ours, our_shape) = generator
            .generate(&z, labels.as_deref())
            .unwrap_or_else(|e| panic!("{name} ({exporter}), batch {n}: {e}"));
        let shape: Vec<usize> = std::iter::once(n).chain(described.dims.clone()).collect();
        let feed =
            described
                .labels
                .as_ref()
                .zip(labels.as_deref())
                .map(|((input, classes), labels)| {
                    let labels = if described.one_hot {
                        Labels::OneHot {
                            labels,
                            classes: *classes,
                        }
                    } else {
                        Labels::Index(labels)
                    };
                    (input.as_str(), labels)
                });
        let (theirs, their_shape) = ort
            .generate_named((&described.float_input, &shape, &z), feed, "output")
            .unwrap();
        assert_eq!(our_shape, their_shape, "{name} ({exporter})");
        // Equal flat images would prove nothing: the pixels must vary.
        let mean = ours.iter().sum::<f32>() / ours.len() as f32;
        let var = ours.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / ours.len() as f32;
        assert!(
            var.sqrt() > 0.01,
            "{name} ({exporter}): pixel std {}",
            var.sqrt()
        );
        let diff = max_abs_diff(&ours, &theirs);
        println!("{name} ({exporter}), batch {n}: max |Δ| = {diff:.2e}");
        assert!(
            diff <= 1e-5,
            "{name} ({exporter}), batch {n}: max |Δ| = {diff:e}"
        );
    }
}

#[test]
fn pytorch_exports_of_the_seed_generators_run_as_in_onnx_runtime() {
    let mut failures = Vec::new();
    for name in [
        "dcgan64-netg",
        "fashion-tf-g",
        "cgan-mlp-g",
        "wgan-gp-g",
        "onehot-cgan-g",
        "unet-upscaler",
        "unet-bilinear",
    ] {
        for exporter in ["torchscript", "dynamo"] {
            if let Err(e) = std::panic::catch_unwind(|| check(name, exporter)) {
                let message = e
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "panicked".into());
                failures.push(message);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// PyTorch's default `torch.onnx.export(model, args, "f.onnx")` keeps the weights in
/// `f.onnx.data`: alone, the `.onnx` is refused with that file named; with it, it runs as
/// ONNX Runtime runs it (which reads the file from disk beside the model).
#[test]
fn weights_beside_the_file_are_asked_for_then_used() {
    let file = exports().join("dcgan64-netg.external.onnx");
    let bytes = std::fs::read(&file).unwrap();
    let alone = Generator::from_bytes(&bytes).unwrap_err().to_string();
    assert!(
        alone.contains(
            "`dcgan64-netg.external.onnx.data`, a file beside the .onnx: give that file too"
        ),
        "{alone}"
    );
    let data = std::fs::read(exports().join("dcgan64-netg.external.onnx.data")).unwrap();
    let files =
        std::collections::HashMap::from([("dcgan64-netg.external.onnx.data".to_string(), data)]);
    let generator = Generator::from_files(&bytes, &files).unwrap();
    let z = normal_batch(7, Stream::Sample, 2, 2, 100);
    let (ours, _) = generator.generate(&z, None).unwrap();
    let (theirs, _) = OrtGenerator::open(&file)
        .unwrap()
        .generate_named(("input", &[2, 100, 1, 1], &z), None, "output")
        .unwrap();
    let diff = max_abs_diff(&ours, &theirs);
    assert!(diff <= 1e-5, "max |Δ| = {diff:e}");
}
