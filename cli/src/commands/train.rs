//! `gantry train`: a new run from a config, a preset or flags; or `--resume`.

use crate::common::{CommonArgs, interactive};
use clap::Args;
use gantry_trainer::data::DatasetName;
use gantry_trainer::device::DeviceChoice;
use gantry_trainer::training::{self, RunOptions, TrainingConfig, presets};
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gantry train --dataset mnist --epochs 1\n  \
    gantry train --config configs/mnist-dcgan.toml --out runs/mnist --device cuda:0\n  \
    gantry train --preset mnist-cgan-conv --epochs 3 --out runs/mnist-cgan\n  \
    gantry train --preset lfw-dcgan --out runs/faces\n  \
    gantry train --dataset image-folder --dataset-dir ~/pictures/cats --epochs 50\n  \
    gantry train --resume runs/mnist\n  \
    gantry train --resume runs/mnist --epochs 20   # train longer than planned\n  \
    gantry train --resume runs/mnist --from-checkpoint step-00001874\n  \
    gantry train --preset cifar10-dcgan64 --devices cuda:0,cuda:1 --batch-size 128\n  \
    gantry train --preset mnist-dcgan --nz 64 --ngf 32 --set eps=1e-8 --set objective.real_label=0.9\n\n\
    A run directory holds config.json, checkpoints/, samples/epoch-NNN.png, metrics.jsonl\n\
    and losses.png. Settings come from --config (TOML or JSON) or --preset, then these\n\
    flags, then each --set in order (`gantry presets show NAME` prints a preset's keys).")]
pub struct TrainArgs {
    /// Continue the run in this directory from its newest sound checkpoint (from step 0
    /// if it was stopped before its first).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "preset", "dataset", "dataset_dir", "out", "batch_size", "lr", "seed", "limit", "set", "nz", "ngf", "ndf", "beta1", "lr_g", "lr_d"])]
    resume: Option<PathBuf>,
    /// With --resume: continue from this checkpoint (`step-NNNNNNNN` in the run's
    /// checkpoints/) instead of the newest; newer ones are set aside as superseded-step-*.
    #[arg(long, value_name = "STEP", requires = "resume")]
    from_checkpoint: Option<String>,
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
    /// Any setting of the config, as `path=value` (repeatable): `--set lr=1e-4 --set
    /// model.latent_dim=128 --set objective.critic_steps=3`. Unknown settings are refused,
    /// as in a config file; the value is read as TOML (numbers, true/false, strings).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// The latent size (PyTorch DCGAN example's --nz): `--set model.latent_dim=N`.
    #[arg(long)]
    nz: Option<usize>,
    /// The generator's base width (--ngf): `--set model.generator_features=N`.
    #[arg(long)]
    ngf: Option<usize>,
    /// The discriminator's (or critic's) base width (--ndf).
    #[arg(long)]
    ndf: Option<usize>,
    /// Adam's β1 for both networks (--beta1): `--set beta1=B`.
    #[arg(long)]
    beta1: Option<f32>,
    /// The generator's own learning rate (default --lr): `--set lr_g=R`.
    #[arg(long)]
    lr_g: Option<f64>,
    /// The discriminator's (critic's) own learning rate (default --lr): `--set lr_d=R`.
    #[arg(long)]
    lr_d: Option<f64>,
    /// Stop after this many steps in total, with a checkpoint to resume from.
    #[arg(long)]
    max_steps: Option<u64>,
    /// Train data-parallel on several devices of this process, e.g. `cuda:0,cuda:1`
    /// (any kinds `--device` takes; the same device twice runs two replicas on it). Each
    /// device takes an equal slice of every batch; their gradients are summed on the first
    /// device, which holds the optimisers and is checkpointed. BatchNorm normalises each
    /// slice with its own statistics, and only the first device's batches move the running
    /// statistics (as PyTorch's DDP without SyncBatchNorm). Replaces --device.
    #[arg(long, value_delimiter = ',', value_name = "DEVICE,DEVICE,...")]
    devices: Vec<DeviceChoice>,
    #[command(flatten)]
    common: CommonArgs,
}

impl TrainArgs {
    /// The run's config: `--config`, `--preset` or the defaults, with the flags laid over.
    fn config(&self) -> anyhow::Result<TrainingConfig> {
        let mut config = match (&self.config, &self.preset) {
            (Some(path), _) => TrainingConfig::from_file(path)?,
            (None, Some(name)) => presets::load(name)?,
            (None, None) => TrainingConfig::new(),
        };
        if let Some(v) = self.dataset {
            config.dataset = v;
        }
        if let Some(v) = &self.dataset_dir {
            config.dataset_dir = Some(v.display().to_string());
        }
        if let Some(v) = self.epochs {
            config.epochs = v;
        }
        if let Some(v) = self.batch_size {
            config.batch_size = v;
        }
        if let Some(v) = self.lr {
            config.lr = v;
        }
        if let Some(v) = self.seed {
            config.seed = v;
        }
        if let Some(v) = self.limit {
            config.limit = Some(v);
        }
        if let Some(v) = self.eval_every {
            config.eval_every = v;
        }
        let mut sets = Vec::new();
        if let Some(v) = self.nz {
            sets.push(format!("model.latent_dim={v}"));
        }
        if let Some(v) = self.ngf {
            sets.push(format!("model.generator_features={v}"));
        }
        if let Some(v) = self.ndf {
            // WGAN-GP calls its discriminator a critic.
            let model = serde_json::to_value(&config.model)?;
            let key = if model.get("critic_features").is_some() {
                "critic_features"
            } else {
                "discriminator_features"
            };
            sets.push(format!("model.{key}={v}"));
        }
        if let Some(v) = self.beta1 {
            sets.push(format!("beta1={v}"));
        }
        if let Some(v) = self.lr_g {
            sets.push(format!("lr_g={v:e}"));
        }
        if let Some(v) = self.lr_d {
            sets.push(format!("lr_d={v:e}"));
        }
        sets.extend(self.set.iter().cloned());
        // Checked there, with the flags and every --set laid over.
        config.with_overrides(&sets)
    }
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let choices = if args.devices.is_empty() {
        vec![args.common.device]
    } else {
        args.devices.clone()
    };
    let mut devices = Vec::with_capacity(choices.len());
    for (i, choice) in choices.iter().enumerate() {
        let device = choice.device()?;
        let role = match (choices.len(), i) {
            (1, _) => "device",
            (_, 0) => "main device",
            _ => "replica",
        };
        eprintln!("{role}: {}", choice.describe(&device));
        devices.push(device);
    }
    let device = devices.remove(0);
    let options = RunOptions {
        device,
        replica_devices: devices,
        data_dir: args.common.data_dir.clone(),
        show_progress: interactive(),
        log_lines: true,
        stop_after_steps: args.max_steps,
    };
    let summary = if let Some(run_dir) = &args.resume {
        training::resume_from(
            run_dir,
            args.from_checkpoint.as_deref(),
            args.epochs,
            &options,
        )?
    } else {
        let config = args.config()?;
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
        training::train(&run_dir, &config, &options)?
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
