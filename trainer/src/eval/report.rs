//! The quality figures of one generator, measured against a dataset's real test split.

use super::classifier::TrainedClassifier;
use super::stats::{
    Features, Gaussian, frechet_distance, inception_score, kernel_distance, precision_recall,
};
use crate::data::ImageDataset;
use crate::latent::{self, Stream};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Anything that turns latent vectors (and labels) into images: a burn generator, an ONNX
/// file in ONNX Runtime.
pub trait ImageSource {
    fn latent_dim(&self) -> usize;
    /// Number of classes of a conditional generator.
    fn classes(&self) -> Option<usize>;
    fn image_shape(&self) -> [usize; 3];
    /// Images `[n, c, h, w]` in [-1, 1] for `z` `[n, latent]` and `n` labels if conditional.
    fn generate(&mut self, z: &[f32], labels: Option<&[i64]>) -> anyhow::Result<Vec<f32>>;
}

/// Features for the Fréchet distance and precision/recall other than the classifier's: a
/// user's Inception network (`--inception`).
pub trait FeatureExtractor {
    fn name(&self) -> String;
    fn features(&mut self, images: &[f32], shape: [usize; 3]) -> anyhow::Result<Features>;
}

impl FeatureExtractor for TrainedClassifier {
    fn name(&self) -> String {
        format!("gantry classifier ({})", self.card.config.dataset)
    }

    fn features(&mut self, images: &[f32], shape: [usize; 3]) -> anyhow::Result<Features> {
        Ok(self.embed(images, shape).0)
    }
}

#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Generated samples (and real training images for the baseline).
    pub samples: usize,
    /// Seed of the latent vectors.
    pub seed: u64,
    /// Neighbours for the precision/recall manifolds.
    pub knn: usize,
    /// Images per generator call.
    pub batch: usize,
    /// Kernel Inception Distance: random subsets averaged, and rows in each (torch-fidelity's
    /// 100 and 1,000).
    pub kid_subsets: usize,
    pub kid_subset_size: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            samples: 10_000,
            seed: 1,
            knn: 3,
            batch: 500,
            kid_subsets: 100,
            kid_subset_size: 1000,
        }
    }
}

/// A Kernel Inception Distance and how it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KernelDistance {
    pub mean: f64,
    pub std: f64,
    pub subsets: usize,
    pub subset_size: usize,
}

/// Every figure of one evaluation. Lower Fréchet distance is better; the baseline is the
/// distance between real training and real test images (what a perfect generator gets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    pub samples: usize,
    pub real_samples: usize,
    pub features: String,
    pub frechet_distance: f64,
    pub baseline_frechet_distance: f64,
    /// Kernel Inception Distance on the same features, its standard deviation over subsets,
    /// and the subsets' count and size (absent in reports written before it was measured).
    #[serde(default)]
    pub kernel_distance: Option<KernelDistance>,
    pub inception_score: f64,
    pub inception_score_std: f64,
    pub real_inception_score: f64,
    /// Conditional models: fraction of samples the classifier assigns to the requested class.
    pub class_accuracy: Option<f64>,
    pub per_class_accuracy: Option<Vec<f64>>,
    pub precision: f64,
    pub recall: f64,
    pub seconds: f64,
}

impl QualityReport {
    /// `(name, value)` pairs for metrics files and ONNX metadata.
    pub fn figures(&self) -> Vec<(String, f64)> {
        let mut out = vec![
            ("frechet_distance".into(), self.frechet_distance),
            (
                "baseline_frechet_distance".into(),
                self.baseline_frechet_distance,
            ),
            ("inception_score".into(), self.inception_score),
            ("precision".into(), self.precision),
            ("recall".into(), self.recall),
            ("eval_samples".into(), self.samples as f64),
        ];
        if let Some(accuracy) = self.class_accuracy {
            out.push(("class_accuracy".into(), accuracy));
        }
        if let Some(kid) = self.kernel_distance {
            out.push(("kernel_distance".into(), kid.mean));
            out.push(("kernel_distance_std".into(), kid.std));
        }
        out
    }
}

impl std::fmt::Display for QualityReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Fréchet distance ({}): {:.3} over {} samples vs {} real test images (real train vs test: {:.3})",
            self.features,
            self.frechet_distance,
            self.samples,
            self.real_samples,
            self.baseline_frechet_distance
        )?;
        if let Some(kid) = self.kernel_distance {
            writeln!(
                f,
                "Kernel distance ({}): {:.4} ± {:.4} over {} subsets of {} samples ({} generated, {} real test images)",
                self.features,
                kid.mean,
                kid.std,
                kid.subsets,
                kid.subset_size,
                self.samples,
                self.real_samples
            )?;
        }
        writeln!(
            f,
            "Inception-style score: {:.3} ± {:.3} over {} samples in 10 splits (real test images: {:.3})",
            self.inception_score, self.inception_score_std, self.samples, self.real_inception_score
        )?;
        writeln!(
            f,
            "precision {:.3}, recall {:.3} (k-NN manifolds, {} generated vs {} real)",
            self.precision, self.recall, self.samples, self.real_samples
        )?;
        if let (Some(all), Some(per)) = (self.class_accuracy, &self.per_class_accuracy) {
            let per: Vec<String> = per.iter().map(|a| format!("{:.1}", a * 100.0)).collect();
            writeln!(
                f,
                "class accuracy: {:.2}% (per class: {})",
                all * 100.0,
                per.join(" ")
            )?;
        }
        write!(f, "({:.1} s)", self.seconds)
    }
}

/// All the images of `dataset` picked by `indices`, in [-1, 1].
fn real_images(dataset: &ImageDataset, indices: &[usize]) -> Vec<f32> {
    indices
        .iter()
        .flat_map(|&i| dataset.image(i).iter().map(|&p| p as f32 / 127.5 - 1.0))
        .collect()
}

/// Measure `source` against `test` (the real test split). `train` gives the real-vs-real
/// baseline. `extractor` replaces the classifier's features for the Fréchet distance and
/// precision/recall (the classifier still gives the scores and the class accuracy).
pub fn evaluate(
    source: &mut dyn ImageSource,
    classifier: &mut TrainedClassifier,
    mut extractor: Option<&mut dyn FeatureExtractor>,
    train: &ImageDataset,
    test: &ImageDataset,
    options: &EvalOptions,
) -> anyhow::Result<QualityReport> {
    let started = Instant::now();
    let shape = source.image_shape();
    anyhow::ensure!(
        shape == test.shape,
        "the generator makes {shape:?} images, the dataset has {:?}",
        test.shape
    );
    anyhow::ensure!(
        shape == classifier.image_shape(),
        "the classifier reads {:?} images, the generator makes {shape:?}",
        classifier.image_shape()
    );
    if let Some(classes) = source.classes() {
        anyhow::ensure!(
            classes == test.class_names.len(),
            "the generator has {classes} classes, {} has {}",
            test.name,
            test.class_names.len()
        );
    }
    let n = options.samples;
    anyhow::ensure!(n >= 2, "at least 2 samples are needed");

    // Generated images, in batches; labels cycle through the classes (balanced).
    let latent = source.latent_dim();
    let labels: Option<Vec<i64>> = source
        .classes()
        .map(|k| (0..n as i64).map(|i| i % k as i64).collect());
    let mut fake = Vec::with_capacity(n * shape.iter().product::<usize>());
    for (b, start) in (0..n).step_by(options.batch).enumerate() {
        let m = options.batch.min(n - start);
        let z = latent::normal_batch(options.seed, Stream::Sample, b as u64, m, latent);
        let batch_labels = labels.as_ref().map(|l| &l[start..start + m]);
        fake.extend(source.generate(&z, batch_labels)?);
    }

    let all_test: Vec<usize> = (0..test.len()).collect();
    let test_images = real_images(test, &all_test);
    let train_order = latent::permutation(options.seed, Stream::Shuffle, 0, train.len());
    let train_images = real_images(train, &train_order[..n.min(train.len())]);

    let (fake_features, fake_probs) = classifier.embed(&fake, shape);
    let (test_features, test_probs) = classifier.embed(&test_images, shape);
    let (features_name, fake_features, test_features, train_features) = match extractor.as_mut() {
        Some(extractor) => (
            extractor.name(),
            extractor.features(&fake, shape)?,
            extractor.features(&test_images, shape)?,
            extractor.features(&train_images, shape)?,
        ),
        None => (
            FeatureExtractor::name(classifier),
            fake_features,
            test_features,
            classifier.embed(&train_images, shape).0,
        ),
    };

    let test_gaussian = Gaussian::fit(&test_features);
    let frechet = frechet_distance(&Gaussian::fit(&fake_features), &test_gaussian);
    let baseline = frechet_distance(&Gaussian::fit(&train_features), &test_gaussian);
    let (score, score_std) = inception_score(&fake_probs, 10);
    let (real_score, _) = inception_score(&test_probs, 10);
    let (precision, recall) = precision_recall(&test_features, &fake_features, options.knn);
    let subset_size = options
        .kid_subset_size
        .min(test_features.rows)
        .min(fake_features.rows);
    let (kid, kid_std) = kernel_distance(
        &test_features,
        &fake_features,
        options.kid_subsets,
        subset_size,
        options.seed,
    );

    let (class_accuracy, per_class_accuracy) = match &labels {
        Some(labels) => {
            let classes = fake_probs.dim;
            let mut correct = vec![0usize; classes];
            let mut total = vec![0usize; classes];
            for (i, &label) in labels.iter().enumerate() {
                let row = fake_probs.row(i);
                let predicted = (0..classes)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .expect("classes");
                total[label as usize] += 1;
                correct[label as usize] += usize::from(predicted == label as usize);
            }
            (
                Some(correct.iter().sum::<usize>() as f64 / n as f64),
                Some(
                    correct
                        .iter()
                        .zip(&total)
                        .map(|(&c, &t)| c as f64 / t.max(1) as f64)
                        .collect(),
                ),
            )
        }
        None => (None, None),
    };

    Ok(QualityReport {
        samples: n,
        real_samples: test.len(),
        features: features_name,
        frechet_distance: frechet,
        baseline_frechet_distance: baseline,
        kernel_distance: Some(KernelDistance {
            mean: kid,
            std: kid_std,
            subsets: options.kid_subsets.max(1),
            subset_size,
        }),
        inception_score: score,
        inception_score_std: score_std,
        real_inception_score: real_score,
        class_accuracy,
        per_class_accuracy,
        precision,
        recall,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A trained burn generator as an [`ImageSource`].
pub struct BurnGenerator {
    generator: crate::model::Generator,
    input: crate::model::GeneratorInput,
    image_shape: [usize; 3],
    device: burn::tensor::Device,
}

impl BurnGenerator {
    pub fn new(
        generator: &crate::model::Generator,
        spec: &crate::model::GanSpec,
        device: &burn::tensor::Device,
    ) -> Self {
        use burn::module::Module;
        Self {
            generator: generator.valid(),
            input: spec.input,
            image_shape: spec.image_shape,
            device: device.clone().without_autodiff(),
        }
    }
}

impl ImageSource for BurnGenerator {
    fn latent_dim(&self) -> usize {
        self.input.latent_dim().unwrap_or(0)
    }

    fn classes(&self) -> Option<usize> {
        self.input.classes()
    }

    fn image_shape(&self) -> [usize; 3] {
        self.image_shape
    }

    fn generate(&mut self, z: &[f32], labels: Option<&[i64]>) -> anyhow::Result<Vec<f32>> {
        let (values, _) = crate::inference::generate(
            &self.generator,
            z.to_vec(),
            labels.map(<[i64]>::to_vec),
            self.latent_dim(),
            &self.device,
        )?;
        Ok(values)
    }
}

/// The file in a checkpoint folder that holds its [`QualityReport`] (read by the exporter).
pub const QUALITY_FILE: &str = "quality.json";

/// Save `report` as `quality.json` in `checkpoint` (temp file, then rename).
pub fn save_quality(checkpoint: &std::path::Path, report: &QualityReport) -> anyhow::Result<()> {
    crate::fs_atomic::write(
        &checkpoint.join(QUALITY_FILE),
        &serde_json::to_vec_pretty(report)?,
    )
}

/// The checkpoint's quality figures, if it was evaluated.
pub fn load_quality(checkpoint: &std::path::Path) -> anyhow::Result<Option<QualityReport>> {
    use anyhow::Context;
    let path = checkpoint.join(QUALITY_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    let report = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a quality report", path.display()))?;
    Ok(Some(report))
}
