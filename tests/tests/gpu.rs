//! The GPU code path, run: burn's wgpu backend (the CubeCL kernels that CUDA shares) on
//! Mesa's lavapipe, a software Vulkan device that `scripts/setup-vulkan.sh` installs. Each
//! model kind trains a few steps on it and on the CPU backend from the same seed; losses
//! and weights must agree; a checkpoint written on one device resumes on the other; the GPU
//! run exports with the usual ONNX Runtime parity; and a data-parallel run puts a replica
//! on each. Kernel fusion is off (gantry-trainer's `fusion` feature says why;
//! `gradients_through_a_convolution_then_an_element_wise_op_are_the_cpus` is the graph
//! that showed it).
//!
//! Why the tolerances: both devices start from the same weights (gantry draws them from its
//! own streams) and train on the same batches, but sum in different orders (gemm
//! microkernels on the CPU, CubeCL's tiled kernels on the GPU), so values differ by float
//! rounding, ~1e-6 relative. Adam's first steps move each weight by about ±lr whatever the
//! gradient's size (once it is well above ε), so a gradient within rounding of zero could
//! move a weight the other way on the other device. So: the first step's figures before
//! any update agree to 1e-5; after updates, every loss and D output to 0.3% (measured: up
//! to ~8e-6), and the generator's weights as [`assert_weights_agree`] says.

use burn::module::Module;
use burn::tensor::{Device, DeviceKind, Tensor};
use gantry_exporter::{ExportOptions, export_checkpoint};
use gantry_trainer::inference::TrainedRun;
use gantry_trainer::training::{RunOptions, TrainingConfig, metrics, presets, resume, train};
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    let dir = gantry_tests::fixtures::data_dir();
    assert!(
        dir.join("mnist").exists() && dir.join("lfw").exists(),
        "run scripts/fetch-data-offline.sh {} mnist lfw first",
        dir.display()
    );
    dir
}

/// The software Vulkan device, after checking it is installed.
fn lavapipe() -> Device {
    let icd = Path::new("/usr/share/vulkan/icd.d");
    let installed = std::fs::read_dir(icd)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
        })
        .unwrap_or(false);
    assert!(
        installed,
        "no lavapipe Vulkan driver in {}: run scripts/setup-vulkan.sh (Debian's \
         mesa-vulkan-drivers) first",
        icd.display()
    );
    static ENVIRONMENT: std::sync::Once = std::sync::Once::new();
    ENVIRONMENT.call_once(|| {
        // SAFETY: set once, before the first device opens and before any other thread of
        // these tests reads the environment (every test comes here first). Vulkan's loader
        // wants a runtime folder, and the fewest kernel variants keep a CPU-emulated GPU's
        // pipeline compilation short.
        unsafe {
            if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
                std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
            }
            std::env::set_var("CUBECL_AUTOTUNE_LEVEL", "minimal");
        }
    });
    Device::wgpu(DeviceKind::DefaultDevice)
}

fn options(device: &Device, stop: Option<u64>) -> RunOptions {
    RunOptions {
        device: device.clone(),
        replica_devices: Vec::new(),
        data_dir: data_dir(),
        show_progress: false,
        log_lines: false,
        stop_after_steps: stop,
    }
}

/// A preset narrowed to a few seconds: small widths, 3 steps of batch 4, no dropout (its
/// masks come from each device's own generator).
fn tiny(preset: &str, model: &str) -> TrainingConfig {
    let config = presets::load(preset).unwrap();
    let mut value = serde_json::to_value(&config).unwrap();
    let overrides: serde_json::Value = serde_json::from_str(model).unwrap();
    for (key, v) in overrides.as_object().unwrap() {
        value["model"][key] = v.clone();
    }
    value["limit"] = 12.into();
    value["batch_size"] = 4.into();
    value["epochs"] = 1.into();
    value["sample_count"] = 4.into();
    value["augment"] = serde_json::json!({});
    value["log_every"] = 2.into();
    serde_json::from_value(value).unwrap()
}

fn losses(run: &Path) -> Vec<[f32; 4]> {
    metrics::read(&metrics::metrics_path(run))
        .unwrap()
        .iter()
        .filter(|r| r.quality.is_none())
        .map(|r| [r.loss_d, r.loss_g, r.d_real, r.d_fake])
        .collect()
}

/// The first step's D loss, D(x) and D(G(z)) come before any update: rounding only.
fn assert_first_figures_agree(what: &str, gpu: &[[f32; 4]], cpu: &[[f32; 4]]) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: steps");
    for i in [0, 2, 3] {
        let (a, b) = (gpu[0][i], cpu[0][i]);
        assert!(
            (a - b).abs() <= 1e-5 * b.abs().max(1.0),
            "{what}, step 1 before any update: GPU {:?}, CPU {:?}",
            gpu[0],
            cpu[0]
        );
    }
}

fn assert_losses_agree(what: &str, gpu: &[[f32; 4]], cpu: &[[f32; 4]]) {
    assert_first_figures_agree(what, gpu, cpu);
    // After an update, Adam's ±lr steps on rounding-level gradients move a few weights
    // apart (see the top of this file): the figures stay within 0.3%.
    let mut worst = 0.0f32;
    for (g, c) in gpu.iter().zip(cpu) {
        for (a, b) in g.iter().zip(c) {
            worst = worst.max((a - b).abs() / b.abs().max(0.1));
        }
    }
    println!("{what}: figures differ by at most {worst:.2e} (relative)");
    assert!(worst <= 3e-3, "{what}: GPU {gpu:?}\nCPU {cpu:?}");
}

/// Every weight of `generator`, in visiting order.
fn generator_weights(generator: &gantry_trainer::model::Generator) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let values = param.val().into_data().convert::<f32>();
            self.0.extend(values.iter::<f32>());
        }
    }
    let mut collect = Collect(Vec::new());
    generator.visit(&mut collect);
    collect.0
}

/// Every weight of the generator of `run`'s newest checkpoint.
fn weights(run: &Path) -> Vec<f32> {
    generator_weights(&TrainedRun::open(run, &Device::flex()).unwrap().generator)
}

/// The generator's training moved its weights the same way on both devices: the distance
/// between the two runs' weights is under 1% of how far the CPU run moved them from
/// `initial`. Not weight by weight: Adam moves a weight by lr·g/(|g| + ε), which is
/// most sensitive to g where |g| ≈ ε (a change Δg moves it by about lr·Δg/4ε), so where
/// wide sums leave gradients with rounding error near ε — the MLP's 1,024-wide layers —
/// single weights differ by a sizeable fraction of lr while the step as a whole, and every
/// figure, agrees.
fn assert_weights_agree(what: &str, gpu: &[f32], cpu: &[f32], initial: &[f32], lr: f64) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: parameter count");
    assert_eq!(initial.len(), cpu.len(), "{what}: parameter count");
    let distance = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let (apart, moved) = (distance(gpu, cpu), distance(cpu, initial));
    let off = gpu
        .iter()
        .zip(cpu)
        .filter(|(a, b)| f64::from((*a - *b).abs()) > lr / 100.0)
        .count();
    println!(
        "{what}: the runs' weights are {:.2e} apart, {:.2e} of how far training moved them \
         ({off} of {} weights differ by more than lr/100)",
        apart,
        apart / moved,
        gpu.len()
    );
    assert!(moved > 0.0, "{what}: training did not move the weights");
    assert!(
        apart <= 1e-2 * moved,
        "{what}: the runs' weights are {apart:e} apart, against {moved:e} moved"
    );
}

/// Train `preset` narrowed by `model` on both devices, compare, resume each on the other
/// device, and export the GPU run.
fn check_kind(gpu: &Device, preset: &str, model: &str) {
    let cpu = Device::flex();
    let mut config = tiny(preset, model);
    if matches!(preset, "celeba-wgan-gp" | "cifar10-dcgan64") {
        // Real faces instead of CelebA or CIFAR-10, which have no offline copy.
        config.dataset = gantry_trainer::data::DatasetName::Lfw;
    }
    if preset == "celeba-wgan-gp" {
        // A generator step every second critic step, so both updates and the penalty run.
        config.objective = Some(gantry_trainer::training::Objective::WganGp {
            lambda: 10.0,
            critic_steps: 2,
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let on_gpu = dir.path().join("gpu");
    let on_cpu = dir.path().join("cpu");
    train(&on_gpu, &config, &options(gpu, None)).unwrap();
    train(&on_cpu, &config, &options(&cpu, None)).unwrap();
    assert_eq!(
        losses(&on_cpu).len(),
        3,
        "{preset}: 12 images, batches of 4"
    );
    let (gpu_losses, cpu_losses) = (losses(&on_gpu), losses(&on_cpu));
    assert!(
        gpu_losses.iter().flatten().all(|v| v.is_finite()),
        "{preset}: {gpu_losses:?}"
    );
    assert_losses_agree(preset, &gpu_losses, &cpu_losses);
    let initial = gantry_trainer::training::GanState::init(&config, &cpu.clone().autodiff());
    assert_weights_agree(
        preset,
        &weights(&on_gpu),
        &weights(&on_cpu),
        &generator_weights(&initial.generator),
        config.lr,
    );

    // A checkpoint written on one device resumes on the other.
    for (first, then, name) in [(gpu, &cpu, "gpu-then-cpu"), (&cpu, gpu, "cpu-then-gpu")] {
        let run = dir.path().join(name);
        train(&run, &config, &options(first, Some(2))).unwrap();
        assert!(resume(&run, None, &options(then, None)).unwrap().finished);
        assert_losses_agree(&format!("{preset}, {name}"), &losses(&run), &cpu_losses);
    }

    // The GPU-trained generator exports, and ONNX Runtime agrees with burn on it.
    let onnx = dir.path().join("g.onnx");
    let report = export_checkpoint(&on_gpu, &onnx, &ExportOptions::default()).unwrap();
    for (batch, diff) in &report.parity {
        assert!(
            *diff <= 1e-5,
            "{preset}: ONNX Runtime differs by {diff} at batch {batch}"
        );
    }
}

const DCGAN28: &str = r#"{"generator_features": 4, "discriminator_features": 4}"#;

/// The other kinds, narrowed as DCGAN is: what each adds is a label embedding (expanded
/// to an image channel; the conv cGAN runs its convolutional discriminator here, the MLP
/// cGAN the dense one), dense layers with BatchNorm1d, the gradient penalty's
/// input-gradient through InstanceNorm, and the U-Net's upsampling, skip concatenations
/// and L1 term.
const OTHERS: [(&str, &str); 4] = [
    (
        "mnist-cgan-conv",
        r#"{"generator_features": 16, "discriminator": "conv", "discriminator_features": 8, "embedding_dim": 4, "dropout": 0.0}"#,
    ),
    ("mnist-cgan-mlp", r#"{"embedding_dim": 4, "dropout": 0.0}"#),
    (
        "celeba-wgan-gp",
        r#"{"generator_features": 4, "critic_features": 4}"#,
    ),
    (
        "lfw-pix2pix",
        r#"{"depth": 3, "generator_features": 4, "discriminator_features": 4, "dropout": 0.0}"#,
    ),
];

/// burn 0.22.1's kernel fusion computes wrong gradients for a convolution followed by an
/// element-wise op (both gradients off by over 100% on lavapipe; right without fusion).
/// Every conditional GAN, WGAN-GP and Pix2Pix step went through such a graph and trained
/// differently on the GPU than on the CPU until gantry turned fusion off (its `fusion`
/// feature): this is the smallest graph that showed it, so it says at once if fusion comes
/// back on, or if a burn upgrade brings a bug of its kind.
#[test]
fn gradients_through_a_convolution_then_an_element_wise_op_are_the_cpus() {
    use burn::tensor::TensorData;
    use burn::tensor::activation::tanh;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    let gpu = lavapipe();
    let pattern = |n: usize, k: usize| -> Vec<f32> {
        (0..n).map(|i| ((i * k % 23) as f32) / 11.0 - 1.0).collect()
    };
    let values = |t: Tensor<4>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    // conv → ×1 → Σ(y·r), and the conv cGAN's shape of it: conv → tanh → concat → ×1.
    for conditional in [false, true] {
        let run = |device: &Device| {
            let device = device.clone().autodiff();
            let (n, h, w) = (4, 28, 28);
            let data = |len, k, shape: [usize; 4]| {
                Tensor::<4>::from_data(TensorData::new(pattern(len, k), shape), &device)
            };
            let x = data(n * 4 * h * w, 37, [n, 4, h, w]).require_grad();
            let weight = data(36, 7, [1, 4, 3, 3]).require_grad();
            let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
            let y = conv2d(x.clone(), weight.clone(), None, options);
            let y = if conditional {
                Tensor::cat(vec![tanh(y), data(n * h * w, 13, [n, 1, h, w])], 1)
            } else {
                y
            };
            let y = y * 1.0;
            let r = data(y.shape().num_elements(), 31, y.dims());
            let grads = (y * r).sum().backward();
            [
                values(x.grad(&grads).unwrap()),
                values(weight.grad(&grads).unwrap()),
            ]
        };
        let (on_gpu, on_cpu) = (run(&gpu), run(&Device::flex()));
        for (name, (a, b)) in ["dx", "dweight"].iter().zip(on_gpu.iter().zip(&on_cpu)) {
            let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                worst <= 1e-5 * scale,
                "{name} (conditional: {conditional}): the GPU's differs from the CPU's by \
                 {worst:e}, against values up to {scale:e}"
            );
        }
    }
}

#[test]
fn dcgan_and_dcgan64_train_on_a_software_gpu_as_on_the_cpu() {
    let gpu = lavapipe();
    for (preset, model) in [
        ("mnist-dcgan", DCGAN28),
        (
            "cifar10-dcgan64",
            r#"{"generator_features": 4, "discriminator_features": 4}"#,
        ),
    ] {
        check_kind(&gpu, preset, model);
    }

    // Data-parallel across the two devices: the GPU is the main device, the CPU a replica.
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("both");
    let both = RunOptions {
        replica_devices: vec![Device::flex()],
        ..options(&gpu, None)
    };
    assert!(
        train(&run, &tiny("mnist-dcgan", DCGAN28), &both)
            .unwrap()
            .finished
    );
    let figures = losses(&run);
    assert_eq!(figures.len(), 3);
    assert!(
        figures.iter().flatten().all(|v| v.is_finite()),
        "{figures:?}"
    );
}

#[test]
fn cgan_wgan_gp_and_pix2pix_train_on_a_software_gpu_as_on_the_cpu() {
    let gpu = lavapipe();
    for (preset, model) in OTHERS {
        check_kind(&gpu, preset, model);
    }
}
