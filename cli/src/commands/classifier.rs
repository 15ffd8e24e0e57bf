//! `gantry classifier train`: the small CNN whose features `gantry eval` measures with.

use crate::common::{CommonArgs, interactive};
use clap::Subcommand;
use gantry_trainer::data::DatasetName;
use gantry_trainer::eval::{ClassifierConfig, classifier};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ClassifierCommand {
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

pub fn run(command: ClassifierCommand) -> anyhow::Result<()> {
    let ClassifierCommand::Train {
        dataset,
        out,
        epochs,
        limit,
        common,
    } = command;
    let out = out.unwrap_or_else(|| classifier::default_dir(dataset));
    let config = ClassifierConfig::new(dataset)
        .with_epochs(epochs)
        .with_limit(limit);
    let trained = classifier::train(
        &config,
        &common.data_dir,
        &out,
        &common.device.device()?,
        interactive(),
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
