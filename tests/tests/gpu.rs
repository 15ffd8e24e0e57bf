//! The GPU code path, run: burn's wgpu backend (the CubeCL kernels and fusion that CUDA
//! shares) on Mesa's lavapipe, a software Vulkan device that `scripts/setup-vulkan.sh`
//! installs. Each model kind trains a few steps on it and on the CPU backend from the same
//! seed; losses and weights must agree (DCGAN 28×28 and 64×64 today; the others are named
//! below, with what was seen); a checkpoint written on one device resumes on the other; the
//! GPU run exports with the usual ONNX Runtime parity; and a data-parallel run puts a
//! replica on each.
//!
//! Why the tolerances: both devices start from the same weights (gantry draws them from its
//! own streams) and train on the same batches, but sum in different orders (gemm
//! microkernels on the CPU, CubeCL's tiled kernels on the GPU), so values differ by float
//! rounding, ~1e-6 relative. Adam's first steps move each weight by about ±lr whatever the
//! gradient's size, so a gradient within rounding of zero can move a weight the other way
//! on the other device. So: the first step's figures before any update agree to 1e-5;
//! after updates, all but 1% of the generator's weights agree to lr/100 and every loss and
//! D output to 0.3% (measured: up to ~5e-4).

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

/// Every weight of the generator of `run`'s newest checkpoint.
fn weights(run: &Path) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let values = param.val().into_data().convert::<f32>();
            self.0.extend(values.iter::<f32>());
        }
    }
    let trained = TrainedRun::open(run, &Device::flex()).unwrap();
    let mut collect = Collect(Vec::new());
    trained.generator.visit(&mut collect);
    collect.0
}

/// The generator's weights agree wherever the updates are not a rounding-level gradient
/// turned into ±lr by Adam: all but 1% within lr / 100.
fn assert_weights_agree(what: &str, gpu: &[f32], cpu: &[f32], lr: f64) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: parameter count");
    let off = gpu
        .iter()
        .zip(cpu)
        .filter(|(a, b)| f64::from((*a - *b).abs()) > lr / 100.0)
        .count();
    println!(
        "{what}: {off} of {} weights differ by more than lr/100",
        gpu.len()
    );
    assert!(
        off * 100 <= gpu.len(),
        "{what}: {off} of {} weights differ by more than lr/100",
        gpu.len()
    );
}

/// How closely a kind's GPU run must follow its CPU run.
#[derive(Clone, Copy, PartialEq)]
enum Compare {
    /// Every figure and the weights (see the top of this file).
    Everything,
    /// The first step's figures before any update only (see [`DRIFTING`]).
    BeforeTheFirstUpdate,
}

/// Train `preset` narrowed by `model` on both devices, compare, resume each on the other
/// device, and export the GPU run.
fn check_kind(gpu: &Device, preset: &str, model: &str, compare: Compare) {
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
    match compare {
        Compare::Everything => {
            assert_losses_agree(preset, &gpu_losses, &cpu_losses);
            assert_weights_agree(preset, &weights(&on_gpu), &weights(&on_cpu), config.lr);
        }
        Compare::BeforeTheFirstUpdate => {
            assert_first_figures_agree(preset, &gpu_losses, &cpu_losses)
        }
    }

    // A checkpoint written on one device resumes on the other.
    for (first, then, name) in [(gpu, &cpu, "gpu-then-cpu"), (&cpu, gpu, "cpu-then-gpu")] {
        let run = dir.path().join(name);
        train(&run, &config, &options(first, Some(2))).unwrap();
        assert!(resume(&run, None, &options(then, None)).unwrap().finished);
        let what = format!("{preset}, {name}");
        match compare {
            Compare::Everything => assert_losses_agree(&what, &losses(&run), &cpu_losses),
            Compare::BeforeTheFirstUpdate => assert_eq!(losses(&run).len(), 3, "{what}"),
        }
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

/// The kinds whose GPU run drifts from the CPU's after the first update: the conditional
/// models and WGAN-GP. On lavapipe their forward pass before the first update agrees with
/// the CPU's to 1e-7, but from the second step their figures part (~1e-3 for the cGANs; a
/// WGAN-GP critic loss of 66.4 against 71.3 at step 2) and nearly every weight differs by
/// more than lr/100 after three steps, where DCGAN and Pix2Pix agree to ~1e-7. On the CPU,
/// gantry's kernels and burn's own ops give identical figures for them
/// (`GANTRY_KERNELS=burn`), so the difference is on the wgpu side. What these kinds have
/// and the others lack is a gradient taken through a broadcast: the label embedding
/// expanded to an image-sized channel (and the Embedding's scatter-add backward), and
/// InstanceNorm's per-image means inside the penalty's input-gradient.
const DRIFTING: [(&str, &str); 3] = [
    (
        "mnist-cgan-conv",
        r#"{"generator_features": 16, "discriminator_features": 8, "embedding_dim": 4, "dropout": 0.0}"#,
    ),
    ("mnist-cgan-mlp", r#"{"embedding_dim": 4, "dropout": 0.0}"#),
    (
        "celeba-wgan-gp",
        r#"{"generator_features": 4, "critic_features": 4}"#,
    ),
];

/// Pix2Pix: on lavapipe the U-Net's generator loss is NaN at the third step (the divergence
/// guard stops the run), where the CPU trains on (figures ~1.1, finite). Not yet known
/// which kernel; the upscaler adds nearest upsampling, skip concatenations, block means
/// (reshape + mean) and an L1 term to what DCGAN uses.
const PIX2PIX: (&str, &str) = (
    "lfw-pix2pix",
    r#"{"depth": 3, "generator_features": 4, "discriminator_features": 4, "dropout": 0.0}"#,
);

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
        check_kind(&gpu, preset, model, Compare::Everything);
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
fn cgan_and_wgan_gp_train_resume_and_export_on_a_software_gpu() {
    let gpu = lavapipe();
    for (preset, model) in DRIFTING {
        check_kind(&gpu, preset, model, Compare::BeforeTheFirstUpdate);
    }
}

/// What the day the difference above is understood should make pass.
#[test]
#[ignore = "on lavapipe cGAN and WGAN-GP drift from the CPU after the first update and \
            Pix2Pix's generator loss turns NaN at step 3: see DRIFTING and PIX2PIX"]
fn cgan_wgan_gp_and_pix2pix_train_on_a_software_gpu_as_on_the_cpu() {
    let gpu = lavapipe();
    for (preset, model) in DRIFTING.into_iter().chain([PIX2PIX]) {
        check_kind(&gpu, preset, model, Compare::Everything);
    }
}
