//! Quality measured during training (`eval_every`): the same [`crate::eval::evaluate`]
//! as `gantry eval`, on the checkpoint just written.

use super::config::TrainingConfig;
use crate::data::{ImageDataset, Split};
use crate::eval::report::{BurnGenerator, save_quality};
use crate::eval::{EvalOptions, QualityReport, TrainedClassifier};
use crate::model::GanSpec;
use crate::model::Generator;
use anyhow::Context;
use burn::tensor::Device;
use std::path::Path;

pub struct Evaluator {
    classifier: TrainedClassifier,
    test: ImageDataset,
    options: EvalOptions,
    spec: GanSpec,
    device: Device,
}

impl Evaluator {
    /// `None` when the run does not evaluate. A missing classifier is an error now, not
    /// after the first epoch.
    pub fn open(
        config: &TrainingConfig,
        device: &Device,
        data_dir: &Path,
    ) -> anyhow::Result<Option<Self>> {
        if config.eval_every == 0 {
            return Ok(None);
        }
        let dir = config.classifier_dir();
        let classifier = crate::eval::classifier::load(&dir, device).with_context(|| {
            format!(
                "eval_every = {} needs the {} classifier: `gantry classifier train --dataset {}`",
                config.eval_every, config.dataset, config.dataset
            )
        })?;
        let test = ImageDataset::load(
            config.dataset,
            &config.dataset_folder(data_dir),
            Split::Test,
            classifier.image_shape(),
            None,
        )?;
        Ok(Some(Self {
            classifier,
            test,
            options: EvalOptions {
                samples: config.eval_samples,
                seed: config.seed,
                ..Default::default()
            },
            spec: config.model.spec(),
            device: device.clone(),
        }))
    }

    /// Measure `generator` against the test split (`train` for the real baseline) and save
    /// the figures beside `checkpoint`.
    pub fn evaluate(
        &mut self,
        generator: &Generator,
        train: &ImageDataset,
        checkpoint: &Path,
    ) -> anyhow::Result<QualityReport> {
        let mut source = BurnGenerator::new(generator, &self.spec, &self.device);
        let report = crate::eval::evaluate(
            &mut source,
            &mut self.classifier,
            None,
            train,
            &self.test,
            &self.options,
        )?;
        save_quality(checkpoint, &report)?;
        Ok(report)
    }
}
