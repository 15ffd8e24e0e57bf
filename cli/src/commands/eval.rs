//! `gantry eval`: a checkpoint or an exported file against the real test split.

use crate::common::CommonArgs;
use anyhow::Context;
use clap::{Args, ValueEnum};
use gantry_exporter::onnx_eval::{OnnxFeatures, OnnxGenerator};
use gantry_trainer::data::{DatasetName, ImageDataset, Split};
use gantry_trainer::eval::classifier;
use gantry_trainer::eval::report::{
    BurnGenerator, EvalOptions, FeatureExtractor, ImageSource, evaluate, save_quality,
};
use gantry_trainer::inference::TrainedRun;
use std::path::PathBuf;

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
pub struct EvalArgs {
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

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let device = args.common.device.device()?;
    // The generator, its dataset, and where the figures go besides stdout.
    let (mut source, dataset, checkpoint_dir): (Box<dyn ImageSource>, DatasetName, _) =
        match (&args.checkpoint, &args.onnx) {
            (Some(path), _) => {
                let run = TrainedRun::open(path, &device)?;
                if let Some(note) = run.weights_note() {
                    eprintln!("{note}");
                }
                anyhow::ensure!(
                    run.input().latent_dim().is_some(),
                    "{}: gantry eval measures generators of z; model {} translates images",
                    run.run_dir.display(),
                    run.config.model.name()
                );
                let spec = run.config.model.spec();
                let source = BurnGenerator::new(&run.generator, &spec, &device);
                (Box::new(source), run.config.dataset, Some(run.checkpoint))
            }
            (None, Some(path)) => {
                let source = OnnxGenerator::open(path)?;
                let dataset =
                    DatasetName::from_str(&source.metadata.dataset, true).map_err(|_| {
                        anyhow::anyhow!(
                            "{}: trained on `{}`, which gantry eval has no test split for",
                            path.display(),
                            source.metadata.dataset
                        )
                    })?;
                (Box::new(source), dataset, None)
            }
            (None, None) => anyhow::bail!("give --checkpoint or --onnx"),
        };
    let classifier_dir = args
        .classifier
        .clone()
        .unwrap_or_else(|| classifier::default_dir(dataset));
    let mut classifier = classifier::load(&classifier_dir, &device).with_context(|| {
        format!("the classifier for {dataset}: train it with `gantry classifier train --dataset {dataset}`")
    })?;
    anyhow::ensure!(
        classifier.card.config.dataset == dataset,
        "{}: a {} classifier, the generator is trained on {dataset}",
        classifier_dir.display(),
        classifier.card.config.dataset
    );
    let mut inception = args
        .inception
        .as_deref()
        .map(OnnxFeatures::open)
        .transpose()?;
    let train = ImageDataset::load_idx(dataset, &args.common.data_dir, Split::Train)?;
    let test = ImageDataset::load_idx(dataset, &args.common.data_dir, Split::Test)?;
    let options = EvalOptions {
        samples: args.samples,
        seed: args.seed,
        ..EvalOptions::default()
    };
    let report = evaluate(
        source.as_mut(),
        &mut classifier,
        inception.as_mut().map(|i| i as &mut dyn FeatureExtractor),
        &train,
        &test,
        &options,
    )?;
    println!("{report}");
    if let Some(checkpoint) = checkpoint_dir {
        save_quality(&checkpoint, &report)?;
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}
