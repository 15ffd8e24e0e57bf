//! Everything a run needs, in one file (`config.json` in the run directory).

use crate::data::{Augment, DatasetName};
use crate::model::{
    CganConvConfig, CganMlpConfig, Dcgan64Config, DcganConfig, DcganTfConfig, Discriminator,
    GanSpec, Generator, LayerSpec, Pix2PixConfig, SpecError, WganGp64Config,
};
use anyhow::Context;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which architecture to train.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    /// DCGAN for 28×28 images (the MNIST seed).
    Dcgan28(DcganConfig),
    /// Conditional GAN, dense + transposed-conv generator (the cGAN seed, experiment 2).
    CganConv(CganConvConfig),
    /// Conditional GAN, MLP generator and discriminator (the cGAN seed, experiment 3).
    CganMlp(CganMlpConfig),
    /// The Fashion-MNIST seed's TensorFlow-tutorial DCGAN for 28×28 images.
    DcganTf28(DcganTfConfig),
    /// DCGAN for 64×64 images (the CIFAR-10 seed's printed networks).
    Dcgan64(Dcgan64Config),
    /// WGAN-GP generator and InstanceNorm critic for 64×64 images (the CelebA seed).
    WganGp64(WganGp64Config),
    /// Pix2Pix super-resolution: U-Net generator, PatchGAN discriminator (the
    /// high-resolution seed).
    #[serde(rename = "pix2pix")]
    Pix2Pix(Pix2PixConfig),
}

/// The adversarial objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// Binary cross-entropy on logits, the non-saturating generator loss (DCGAN, cGAN).
    #[default]
    Bce,
    /// Wasserstein loss with a gradient penalty (Gulrajani et al. 2017): the critic
    /// minimises D(G(z)) − D(x) + λ·(‖∇D(x̂)‖ − 1)² on random interpolates x̂, and takes
    /// `critic_steps` updates per generator update.
    WganGp,
}

impl Loss {
    fn name(self) -> &'static str {
        match self {
            Self::Bce => "bce",
            Self::WganGp => "wgan-gp",
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self::Dcgan28(DcganConfig::new())
    }
}

impl ModelConfig {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Dcgan28(_) => "dcgan28",
            Self::CganConv(_) => "cgan_conv",
            Self::CganMlp(_) => "cgan_mlp",
            Self::DcganTf28(_) => "dcgan_tf28",
            Self::Dcgan64(_) => "dcgan64",
            Self::WganGp64(_) => "wgan_gp64",
            Self::Pix2Pix(_) => "pix2pix",
        }
    }

    /// The defaults of model `kind`, as JSON.
    fn default_of(kind: &str) -> anyhow::Result<serde_json::Value> {
        let model = match kind {
            "dcgan28" => Self::Dcgan28(DcganConfig::new()),
            "cgan_conv" => Self::CganConv(CganConvConfig::new()),
            "cgan_mlp" => Self::CganMlp(CganMlpConfig::new()),
            "dcgan_tf28" => Self::DcganTf28(DcganTfConfig::new()),
            "dcgan64" => Self::Dcgan64(Dcgan64Config::new()),
            "wgan_gp64" => Self::WganGp64(WganGp64Config::new()),
            "pix2pix" => Self::Pix2Pix(Pix2PixConfig::new()),
            other => anyhow::bail!(
                "unknown model kind `{other}` (known: dcgan28, dcgan_tf28, cgan_conv, cgan_mlp, dcgan64, wgan_gp64, pix2pix)"
            ),
        };
        Ok(serde_json::to_value(model)?)
    }

    /// Both networks, described once.
    pub fn spec(&self) -> GanSpec {
        match self {
            Self::Dcgan28(c) => c.spec(),
            Self::CganConv(c) => c.spec(),
            Self::CganMlp(c) => c.spec(),
            Self::DcganTf28(c) => c.spec(),
            Self::Dcgan64(c) => c.spec(),
            Self::WganGp64(c) => c.spec(),
            Self::Pix2Pix(c) => c.spec(),
        }
    }

    pub fn latent_dim(&self) -> usize {
        self.spec().latent_dim
    }

    pub fn image_shape(&self) -> [usize; 3] {
        self.spec().image_shape
    }

    /// The source image shape of a translation model (Pix2Pix), which takes it instead of z.
    pub fn source_shape(&self) -> Option<[usize; 3]> {
        self.spec().source
    }

    /// Number of classes of a conditional model.
    pub fn classes(&self) -> Option<usize> {
        self.spec().conditioning.map(|c| c.classes)
    }

    pub fn validate(&self) -> Result<(), SpecError> {
        self.spec().check()
    }

    pub fn init(&self, device: &Device) -> (Generator, Discriminator) {
        self.spec().init(device)
    }
}

#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// Dataset to train on.
    #[config(default = "DatasetName::Mnist")]
    pub dataset: DatasetName,
    /// The dataset's folder; default `<data-dir>/<dataset>`. Point an `image-folder` run
    /// at your images with it.
    #[config(default = "None")]
    pub dataset_dir: Option<String>,
    /// Use only the first N training images (quick runs, tests, the CelebA seed's 5,000);
    /// all when absent.
    #[config(default = "None")]
    pub limit: Option<usize>,
    /// Random flips, rotations, shifts and zooms of the training images (default: none).
    #[config(default = "Augment::default()")]
    pub augment: Augment,
    #[config(default = "ModelConfig::default()")]
    pub model: ModelConfig,
    #[config(default = 5)]
    pub epochs: usize,
    #[config(default = 64)]
    pub batch_size: usize,
    /// Adam learning rate, for both networks.
    #[config(default = 2e-4)]
    pub lr: f64,
    #[config(default = 0.5)]
    pub beta1: f32,
    #[config(default = 0.999)]
    pub beta2: f32,
    /// The adversarial objective: `bce` (DCGAN, cGAN) or `wgan-gp`.
    #[config(default = "Loss::Bce")]
    pub loss: Loss,
    /// WGAN-GP: the gradient penalty's weight λ.
    #[config(default = 10.0)]
    pub gp_lambda: f64,
    /// WGAN-GP: critic updates per generator update.
    #[config(default = 5)]
    pub critic_steps: usize,
    /// Pix2Pix: the weight λ of the L1 distance to the real image in the generator's loss
    /// (BCE + λ·L1; pix2pix uses 100).
    #[config(default = 100.0)]
    pub l1_lambda: f64,
    /// The discriminator's target for real images: 1.0, or e.g. 0.9 for one-sided label
    /// smoothing (keeps D from growing over-confident, a common guard against collapse).
    #[config(default = 1.0)]
    pub real_label: f32,
    /// Seeds weight init, shuffles and every latent batch: same seed, same run.
    #[config(default = 42)]
    pub seed: u64,
    /// Images in the per-epoch sample grid (a square number looks best).
    #[config(default = 64)]
    pub sample_count: usize,
    /// Also checkpoint every N steps (0: only at the end of each epoch).
    #[config(default = 0)]
    pub checkpoint_every: usize,
    /// Checkpoint at the end of every N-th epoch (and after the last). Small datasets run
    /// hundreds of short epochs; the Fashion-MNIST seed saves every 15.
    #[config(default = 1)]
    pub checkpoint_every_epochs: usize,
    /// Checkpoints kept; older ones are deleted once a newer one is safely written.
    #[config(default = 3)]
    pub keep_checkpoints: usize,
    /// Measure sample quality every N epochs and after the last (0: never). Needs the
    /// dataset's classifier (`gantry classifier train`); the best checkpoint by Fréchet
    /// distance is kept as `checkpoints/best`.
    #[config(default = 0)]
    pub eval_every: usize,
    /// Generated samples per evaluation during training (`gantry eval` uses 10,000).
    #[config(default = 2000)]
    pub eval_samples: usize,
    /// The classifier folder; default `runs/classifiers/<dataset>`.
    #[config(default = "None")]
    pub classifier: Option<String>,
}

impl TrainingConfig {
    /// Read a config from TOML (`.toml`) or JSON (anything else). Settings the file leaves
    /// out keep their defaults; a setting gantry does not know is an error (a typo would
    /// otherwise be silently ignored).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read config", path.display()))?;
        let is_toml = path.extension().is_some_and(|e| e == "toml");
        let given: serde_json::Value = if is_toml {
            let value: toml::Value = toml::from_str(&text)
                .with_context(|| format!("{}: invalid TOML", path.display()))?;
            serde_json::to_value(value)?
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{}: invalid JSON", path.display()))?
        };
        Self::from_value(given).with_context(|| format!("{}: invalid config", path.display()))
    }

    /// A config from TOML text, as [`Self::from_file`] reads a `.toml` file.
    pub fn from_toml_str(text: &str) -> anyhow::Result<Self> {
        let value: toml::Value = toml::from_str(text).context("invalid TOML")?;
        Self::from_value(serde_json::to_value(value)?)
    }

    fn from_value(given: serde_json::Value) -> anyhow::Result<Self> {
        // The model's defaults depend on its kind: start from that kind's defaults.
        let mut merged = serde_json::to_value(Self::new())?;
        if let Some(kind) = given.pointer("/model/kind").and_then(|k| k.as_str()) {
            merged["model"] = ModelConfig::default_of(kind)?;
        }
        merge(&mut merged, given, "")?;
        let config: Self = serde_json::from_value(merged)?;
        config.check()?;
        Ok(config)
    }

    /// Refuse settings that cannot train, naming the setting.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.batch_size >= 2,
            "batch_size must be at least 2 (BatchNorm), got {}",
            self.batch_size
        );
        anyhow::ensure!(self.epochs >= 1, "epochs must be at least 1");
        anyhow::ensure!(
            self.lr > 0.0 && self.lr.is_finite(),
            "lr must be positive, got {}",
            self.lr
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.beta1),
            "beta1 must be in [0, 1), got {}",
            self.beta1
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.beta2),
            "beta2 must be in [0, 1), got {}",
            self.beta2
        );
        anyhow::ensure!(
            self.checkpoint_every_epochs >= 1,
            "checkpoint_every_epochs must be at least 1"
        );
        anyhow::ensure!(
            self.keep_checkpoints >= 1,
            "keep_checkpoints must be at least 1"
        );
        anyhow::ensure!(
            self.real_label > 0.5 && self.real_label <= 1.0,
            "real_label must be in (0.5, 1], got {}",
            self.real_label
        );
        anyhow::ensure!(self.sample_count >= 1, "sample_count must be at least 1");
        anyhow::ensure!(
            self.eval_every == 0 || self.eval_samples >= 2,
            "eval_samples must be at least 2, got {}",
            self.eval_samples
        );
        let [channels, ..] = self.model.image_shape();
        anyhow::ensure!(
            channels == 1 || channels == 3,
            "model {} makes {channels}-channel images; datasets load as 1 (grey) or 3 (RGB)",
            self.model.name()
        );
        self.augment.check().map_err(anyhow::Error::msg)?;
        if self.loss == Loss::WganGp {
            anyhow::ensure!(self.critic_steps >= 1, "critic_steps must be at least 1");
            anyhow::ensure!(
                self.gp_lambda >= 0.0 && self.gp_lambda.is_finite(),
                "gp_lambda must be a non-negative number, got {}",
                self.gp_lambda
            );
            // The penalty is per sample: layers that mix a batch (or drop units) break it.
            if let Some(layer) = self
                .model
                .spec()
                .discriminator
                .iter()
                .find(|l| matches!(l, LayerSpec::BatchNorm { .. } | LayerSpec::Dropout { .. }))
            {
                anyhow::bail!(
                    "loss {} needs a critic without {} (model {}: use InstanceNorm, e.g. kind = \"wgan_gp64\")",
                    self.loss.name(),
                    layer.kind(),
                    self.model.name()
                );
            }
        }
        if self.model.source_shape().is_some() {
            anyhow::ensure!(
                self.loss == Loss::Bce,
                "model {} trains with loss \"bce\" (plus λ·L1), not {}",
                self.model.name(),
                self.loss.name()
            );
            anyhow::ensure!(
                self.l1_lambda >= 0.0 && self.l1_lambda.is_finite(),
                "l1_lambda must be a non-negative number, got {}",
                self.l1_lambda
            );
            anyhow::ensure!(
                self.eval_every == 0,
                "eval_every measures generators of z (Fréchet distance, Inception Score); model {} translates images",
                self.model.name()
            );
        }
        // An image folder's classes are only known once it is read (see `run::load_dataset`).
        if let (Some(classes), true) = (self.model.classes(), self.dataset.has_fixed_classes()) {
            let names = self.dataset.class_names();
            anyhow::ensure!(
                classes == names.len(),
                "model {} is conditioned on {classes} classes but {} has {}",
                self.model.name(),
                self.dataset,
                names.len()
            );
        }
        self.model.validate()?;
        Ok(())
    }
}

impl TrainingConfig {
    /// The folder this run's dataset is read from.
    pub fn dataset_folder(&self, data_dir: &Path) -> std::path::PathBuf {
        match &self.dataset_dir {
            Some(dir) => dir.into(),
            None => self.dataset.dir(data_dir),
        }
    }

    /// Where the evaluation classifier of this run lives.
    pub fn classifier_dir(&self) -> std::path::PathBuf {
        match &self.classifier {
            Some(dir) => dir.into(),
            None => crate::eval::classifier::default_dir(self.dataset),
        }
    }
}

/// Lay `given` over `defaults`, key by key, refusing keys that `defaults` does not have.
fn merge(
    defaults: &mut serde_json::Value,
    given: serde_json::Value,
    at: &str,
) -> anyhow::Result<()> {
    use serde_json::Value;
    match (defaults, given) {
        (Value::Object(defaults), Value::Object(given)) => {
            for (key, value) in given {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match defaults.get_mut(&key) {
                    Some(slot) => merge(slot, value, &path)?,
                    None => {
                        let known: Vec<&String> = defaults.keys().collect();
                        anyhow::bail!("unknown setting `{path}` (known here: {known:?})");
                    }
                }
            }
            Ok(())
        }
        (slot, value) => {
            *slot = value;
            Ok(())
        }
    }
}
