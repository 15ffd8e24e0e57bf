//! `gantry eval`: a checkpoint or an exported file against the real test split.

use crate::cli::EvalArgs;
use anyhow::Context;
use clap::ValueEnum;
use gantry_exporter::onnx_eval::{OnnxFeatures, OnnxGenerator};
use gantry_trainer::data::{DatasetName, ImageDataset, Split};
use gantry_trainer::eval::classifier;
use gantry_trainer::eval::report::{
    BurnGenerator, EvalOptions, FeatureExtractor, ImageSource, evaluate, save_quality,
};
use gantry_trainer::training::{checkpoint, run};

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let device = args.common.device.device()?;
    // The generator, its dataset, and where the figures go besides stdout.
    let (mut source, dataset, checkpoint_dir): (Box<dyn ImageSource>, DatasetName, _) =
        match (&args.checkpoint, &args.onnx) {
            (Some(path), _) => {
                let checkpoint = checkpoint::resolve(path)?;
                let run_dir = checkpoint::run_dir_of(&checkpoint)
                    .filter(|dir| run::config_path(dir).exists())
                    .with_context(|| {
                        format!("{}: not inside a run directory", checkpoint.display())
                    })?;
                let config = run::load_run_config(&run_dir)?;
                anyhow::ensure!(
                    config.model.source_shape().is_none(),
                    "{}: gantry eval measures generators of z; model {} translates images",
                    run_dir.display(),
                    config.model.name()
                );
                let (state, _) =
                    checkpoint::load(&checkpoint, &config, &device.clone().autodiff())?;
                let source = BurnGenerator::new(&state.generator, &config.model, &device);
                (Box::new(source), config.dataset, Some(checkpoint))
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
