//! A small CNN trained on a dataset's real images: gantry's stand-in for Inception, whose
//! weights cannot be fetched here. Its penultimate layer gives the features the Fréchet
//! distance and precision/recall are computed on; its softmax gives the class predictions
//! for the Inception Score and the conditional accuracy.

use crate::data::{Batcher, DatasetName, ImageDataset, Split};
use crate::eval::stats::Features;
use crate::fs_atomic;
use crate::model::{LayerSpec, Network};
use anyhow::{Context, bail};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::activation::softmax;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Config, Debug)]
pub struct ClassifierConfig {
    pub dataset: DatasetName,
    /// Width of the feature layer (the vectors the statistics see).
    #[config(default = 128)]
    pub features: usize,
    #[config(default = 3)]
    pub epochs: usize,
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam's starting learning rate, decayed to 0 along a cosine over the run (the last
    /// epoch's small steps are worth ~0.3 points of test accuracy on MNIST).
    #[config(default = 1e-3)]
    pub lr: f64,
    #[config(default = 0.3)]
    pub dropout: f64,
    #[config(default = 7)]
    pub seed: u64,
    /// Train on the first N training images only (quick runs, tests); all when absent.
    #[config(default = "None")]
    pub limit: Option<usize>,
}

impl ClassifierConfig {
    /// Three convolutions (28 → 14 → 7), then the dense feature layer. The classes' logits
    /// are a separate head so that features and predictions come from one forward pass.
    pub fn body_spec(&self) -> Vec<LayerSpec> {
        let [c, h, w] = self.dataset.image_shape();
        let conv = LayerSpec::conv;
        vec![
            conv(c, 32, 3, 1, 1),
            LayerSpec::batch_norm(32),
            LayerSpec::Relu,
            conv(32, 64, 4, 2, 1), // → h/2
            LayerSpec::batch_norm(64),
            LayerSpec::Relu,
            conv(64, 64, 4, 2, 1), // → h/4
            LayerSpec::batch_norm(64),
            LayerSpec::Relu,
            LayerSpec::Flatten,
            LayerSpec::Dropout { prob: self.dropout },
            LayerSpec::Linear {
                input: 64 * (h / 4) * (w / 4),
                output: self.features,
                bias: true,
            },
            LayerSpec::Relu,
        ]
    }

    pub fn head_spec(&self) -> Vec<LayerSpec> {
        vec![
            LayerSpec::Dropout { prob: self.dropout },
            LayerSpec::Linear {
                input: self.features,
                output: self.dataset.class_names().len(),
                bias: true,
            },
        ]
    }

    /// burn's default (Kaiming-uniform) initialisation, from the device's generator:
    /// DCGAN's N(0, 0.02) suits GANs but trains a classifier far more slowly.
    pub fn init(&self, device: &Device) -> Classifier {
        Classifier {
            body: Network::init_with(&self.body_spec(), device, false),
            head: Network::init_with(&self.head_spec(), device, false),
        }
    }
}

#[derive(Module, Debug)]
pub struct Classifier {
    pub body: Network,
    pub head: Network,
}

impl Classifier {
    /// Features `[n, f]` and class logits `[n, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let [n, ..] = images.dims();
        let features = self.body.forward(images);
        let logits = self.head.forward(features.clone());
        let [_, f, ..] = features.dims();
        let [_, k, ..] = logits.dims();
        (features.reshape([n, f]), logits.reshape([n, k]))
    }
}

/// What `classifier.json` records beside the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierCard {
    pub config: ClassifierConfig,
    pub test_accuracy: f64,
    pub per_class_accuracy: Vec<f64>,
    pub test_images: usize,
    pub train_seconds: f64,
}

/// A trained classifier, ready to embed images.
pub struct TrainedClassifier {
    pub card: ClassifierCard,
    pub model: Classifier,
    pub device: Device,
}

/// Where `gantry classifier train` saves a dataset's classifier unless told otherwise.
pub fn default_dir(dataset: DatasetName) -> std::path::PathBuf {
    std::path::PathBuf::from("runs/classifiers").join(dataset.to_string())
}

const WEIGHTS: &str = "classifier.bpk";
const CARD: &str = "classifier.json";

/// Train on the training split, measure on the test split, save into `out`
/// (`classifier.bpk` + `classifier.json`, each written to a temp file and renamed).
pub fn train(
    config: &ClassifierConfig,
    data_dir: &Path,
    out: &Path,
    device: &Device,
    show_progress: bool,
) -> anyhow::Result<TrainedClassifier> {
    let started = std::time::Instant::now();
    let mut train_set = ImageDataset::load_idx(config.dataset, data_dir, Split::Train)?;
    if let Some(limit) = config.limit {
        train_set = train_set.truncate(limit);
    }
    anyhow::ensure!(
        train_set.len() >= config.batch_size,
        "{} training images, fewer than one batch of {}",
        train_set.len(),
        config.batch_size
    );
    let test_set = ImageDataset::load_idx(config.dataset, data_dir, Split::Test)?;
    let autodiff = device.clone().autodiff();
    autodiff.seed(config.seed);
    let mut model = config.init(&autodiff);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&autodiff);
    let batcher = Batcher::new(config.batch_size, config.seed);
    let per_epoch = batcher.batches_per_epoch(&train_set);
    for epoch in 0..config.epochs {
        let order = batcher.epoch_order(&train_set, epoch);
        let bar = if show_progress {
            let bar = ProgressBar::new(per_epoch as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "classifier epoch {prefix} [{bar:25}] {pos}/{len} {msg}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{}/{}", epoch + 1, config.epochs));
            bar
        } else {
            ProgressBar::hidden()
        };
        for b in 0..per_epoch {
            let (images, labels) = Batcher::images(&train_set, batcher.batch(&order, b), &autodiff);
            autodiff.seed(
                config.seed ^ ((epoch * per_epoch + b) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let (_, logits) = model.forward(images);
            let loss = loss_fn.forward(logits, labels);
            if b % 50 == 0 {
                let value = loss.clone().into_scalar::<f32>();
                bar.set_message(format!("loss {value:.4}"));
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let progress = (epoch * per_epoch + b) as f64 / (config.epochs * per_epoch) as f64;
            let lr = config.lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
            model = optim.step(lr, model, grads);
            bar.inc(1);
        }
        bar.finish();
    }
    let model = model.valid();
    let (test_accuracy, per_class_accuracy) = accuracy(&model, &test_set, device);
    let card = ClassifierCard {
        config: config.clone(),
        test_accuracy,
        per_class_accuracy,
        test_images: test_set.len(),
        train_seconds: started.elapsed().as_secs_f64(),
    };
    save(out, &model, &card)?;
    Ok(TrainedClassifier {
        card,
        model,
        device: device.clone(),
    })
}

fn save(out: &Path, model: &Classifier, card: &ClassifierCard) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let bytes = model.clone().into_record().into_bytes()?;
    fs_atomic::write(&out.join(WEIGHTS), &bytes[..])?;
    fs_atomic::write(&out.join(CARD), &serde_json::to_vec_pretty(card)?)?;
    Ok(())
}

/// Load a classifier saved by [`train`] from its folder.
pub fn load(dir: &Path, device: &Device) -> anyhow::Result<TrainedClassifier> {
    let card_path = dir.join(CARD);
    let weights_path = dir.join(WEIGHTS);
    if !card_path.exists() {
        bail!(
            "{}: no classifier here (no {CARD}); train one with `gantry classifier train`",
            dir.display()
        );
    }
    let card: ClassifierCard = serde_json::from_slice(
        &std::fs::read(&card_path)
            .with_context(|| format!("{}: cannot read", card_path.display()))?,
    )
    .with_context(|| format!("{}: not a classifier card", card_path.display()))?;
    let bytes = std::fs::read(&weights_path)
        .with_context(|| format!("{}: cannot read", weights_path.display()))?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .with_context(|| format!("{}: unreadable", weights_path.display()))?;
    let model = card
        .config
        .init(device)
        .try_load_record(record)
        .map_err(|e| anyhow::anyhow!("{}: does not fit {CARD} ({e})", weights_path.display()))?;
    Ok(TrainedClassifier {
        card,
        model,
        device: device.clone(),
    })
}

/// Overall and per-class accuracy on a labelled dataset.
fn accuracy(model: &Classifier, dataset: &ImageDataset, device: &Device) -> (f64, Vec<f64>) {
    let classes = dataset.class_names.len();
    let mut correct = vec![0usize; classes];
    let mut total = vec![0usize; classes];
    let indices: Vec<usize> = (0..dataset.len()).collect();
    for chunk in indices.chunks(500) {
        let (images, _) = Batcher::images(dataset, chunk, device);
        let (_, logits) = model.forward(images);
        let predicted = logits
            .argmax(1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .expect("ints");
        for (&i, &p) in chunk.iter().zip(&predicted) {
            let label = dataset.labels[i] as usize;
            total[label] += 1;
            correct[label] += usize::from(p as usize == label);
        }
    }
    let overall = correct.iter().sum::<usize>() as f64 / dataset.len() as f64;
    let per_class = correct
        .iter()
        .zip(&total)
        .map(|(&c, &t)| c as f64 / t.max(1) as f64)
        .collect();
    (overall, per_class)
}

impl TrainedClassifier {
    /// Features and class probabilities of images `[n, c, h, w]` in [-1, 1].
    pub fn embed(&self, images: &[f32], shape: [usize; 3]) -> (Features, Features) {
        let image_len: usize = shape.iter().product();
        let n = images.len() / image_len;
        let mut features = Vec::with_capacity(n * self.card.config.features);
        let mut probs = Vec::new();
        for chunk in images.chunks(500 * image_len) {
            let m = chunk.len() / image_len;
            let x = Tensor::<4>::from_data(
                TensorData::new(chunk.to_vec(), [m, shape[0], shape[1], shape[2]]),
                &self.device,
            );
            let (f, logits) = self.model.forward(x);
            features.extend(
                f.into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .expect("floats"),
            );
            probs.extend(
                softmax(logits, 1)
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .expect("floats"),
            );
        }
        let classes = probs.len() / n.max(1);
        (
            Features::new(features, self.card.config.features),
            Features::new(probs, classes.max(1)),
        )
    }

    pub fn image_shape(&self) -> [usize; 3] {
        self.card.config.dataset.image_shape()
    }
}
