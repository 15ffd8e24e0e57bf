//! Everything a run needs, in one file (`config.json` in the run directory).

use super::divergence::DivergenceConfig;
use crate::data::{Augment, DatasetName, ImageFit};
use crate::model::{
    BatchNormSettings, CganConvConfig, CganMlpConfig, Dcgan64Config, DcganConfig, DcganTfConfig,
    Discriminator, GanSpec, Generator, GeneratorInput, LayerSpec, Pix2PixConfig, SpecError,
    WeightInit, WganGp64Config,
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

/// The adversarial objective and its settings, dispatched in one place
/// ([`super::step::GanState::step`]). In a config: `[objective]` with `kind = "bce"`,
/// `"wgan-gp"` or `"pix2pix"`; absent, the model's own ([`ModelConfig::default_objective`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Objective {
    /// Binary cross-entropy on logits, the non-saturating generator loss (DCGAN, cGAN).
    Bce {
        /// The discriminator's target for real images: 1.0, or e.g. 0.9 for one-sided
        /// label smoothing (keeps D from growing over-confident, a guard against collapse).
        #[serde(default = "one")]
        real_label: f32,
        /// How D's two BCE terms (real, fake) combine: their `mean` (gantry's default) or
        /// their `sum` (the Fashion-MNIST seed's TensorFlow tutorial; PyTorch's DCGAN
        /// example, which backpropagates both). Under Adam only ε tells them apart.
        #[serde(default)]
        discriminator_loss: TermsCombined,
    },
    /// Wasserstein loss with a gradient penalty (Gulrajani et al. 2017): the critic
    /// minimises D(G(z)) − D(x) + λ·(‖∇D(x̂)‖ − 1)² on random interpolates x̂, and takes
    /// `critic_steps` updates per generator update.
    WganGp {
        #[serde(default = "ten")]
        lambda: f64,
        #[serde(default = "five")]
        critic_steps: usize,
    },
    /// Pix2Pix (an upscaler): D on (image, source) pairs with BCE, G on BCE + λ·L1 to the
    /// real image (pix2pix uses λ = 100).
    #[serde(rename = "pix2pix")]
    Pix2Pix {
        #[serde(default = "hundred")]
        l1_lambda: f64,
        #[serde(default = "one")]
        real_label: f32,
    },
}

fn one() -> f32 {
    1.0
}
fn five() -> usize {
    5
}
fn ten() -> f64 {
    10.0
}
fn hundred() -> f64 {
    100.0
}

/// How the discriminator's real and fake BCE terms make its loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TermsCombined {
    #[default]
    Mean,
    Sum,
}

impl Objective {
    /// Plain BCE: D(x) against 1, the two terms averaged.
    pub const BCE: Self = Self::Bce {
        real_label: 1.0,
        discriminator_loss: TermsCombined::Mean,
    };
}

impl Default for Objective {
    fn default() -> Self {
        Self::BCE
    }
}

impl Objective {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bce { .. } => "bce",
            Self::WganGp { .. } => "wgan-gp",
            Self::Pix2Pix { .. } => "pix2pix",
        }
    }

    /// The defaults of objective `kind`, as JSON.
    fn default_of(kind: &str) -> anyhow::Result<serde_json::Value> {
        let objective = match kind {
            "bce" => Self::BCE,
            "wgan-gp" => Self::WganGp {
                lambda: 10.0,
                critic_steps: 5,
            },
            "pix2pix" => Self::Pix2Pix {
                l1_lambda: 100.0,
                real_label: 1.0,
            },
            other => {
                anyhow::bail!("unknown objective kind `{other}` (known: bce, wgan-gp, pix2pix)")
            }
        };
        Ok(serde_json::to_value(objective)?)
    }

    /// Settings that cannot train, named; and a model this objective cannot train, with
    /// both named.
    fn check(&self, model: &ModelConfig, spec: &GanSpec) -> anyhow::Result<()> {
        let upscaler = spec.input.source_shape().is_some();
        match *self {
            Self::Bce { real_label, .. } | Self::Pix2Pix { real_label, .. } => anyhow::ensure!(
                real_label > 0.5 && real_label <= 1.0,
                "objective.real_label must be in (0.5, 1], got {real_label}"
            ),
            Self::WganGp {
                lambda,
                critic_steps,
            } => {
                anyhow::ensure!(
                    critic_steps >= 1,
                    "objective.critic_steps must be at least 1"
                );
                anyhow::ensure!(
                    lambda >= 0.0 && lambda.is_finite(),
                    "objective.lambda must be a non-negative number, got {lambda}"
                );
                // The penalty is per sample: layers that mix a batch (or drop units) break it.
                if let Some(layer) = spec
                    .discriminator
                    .iter()
                    .find(|l| matches!(l, LayerSpec::BatchNorm { .. } | LayerSpec::Dropout { .. }))
                {
                    anyhow::bail!(
                        "objective {} needs a critic without {} (model {}: use InstanceNorm, e.g. kind = \"wgan_gp64\")",
                        self.name(),
                        layer.kind(),
                        model.name()
                    );
                }
            }
        }
        if let Self::Pix2Pix { l1_lambda, .. } = *self {
            anyhow::ensure!(
                l1_lambda >= 0.0 && l1_lambda.is_finite(),
                "objective.l1_lambda must be a non-negative number, got {l1_lambda}"
            );
        }
        let translates = matches!(self, Self::Pix2Pix { .. });
        anyhow::ensure!(
            translates == upscaler,
            "objective {} cannot train model {}: {}",
            self.name(),
            model.name(),
            if upscaler {
                "an upscaler trains with objective \"pix2pix\""
            } else {
                "a generator of z trains with \"bce\" or \"wgan-gp\""
            }
        );
        Ok(())
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

    /// The model's BatchNorm momentum and ε.
    pub fn batch_norm(&self) -> BatchNormSettings {
        match self {
            Self::Dcgan28(c) => c.batch_norm,
            Self::CganConv(c) => c.batch_norm,
            Self::CganMlp(c) => c.batch_norm,
            Self::DcganTf28(c) => c.batch_norm,
            Self::Dcgan64(c) => c.batch_norm,
            Self::WganGp64(c) => c.batch_norm,
            Self::Pix2Pix(c) => c.batch_norm,
        }
    }

    /// What the generator takes.
    pub fn input(&self) -> GeneratorInput {
        self.spec().input
    }

    /// The objective a config without `[objective]` trains this model with.
    pub fn default_objective(&self) -> Objective {
        match self.input() {
            GeneratorInput::Source { .. } => Objective::Pix2Pix {
                l1_lambda: 100.0,
                real_label: 1.0,
            },
            GeneratorInput::Latent { .. } => Objective::default(),
        }
    }

    /// The latent size; 0 for an upscaler, which takes an image instead.
    pub fn latent_dim(&self) -> usize {
        self.input().latent_dim().unwrap_or(0)
    }

    pub fn image_shape(&self) -> [usize; 3] {
        self.spec().image_shape
    }

    /// The source image shape of a translation model (Pix2Pix), which takes it instead of z.
    pub fn source_shape(&self) -> Option<[usize; 3]> {
        self.input().source_shape()
    }

    /// Number of classes of a conditional model.
    pub fn classes(&self) -> Option<usize> {
        self.input().classes()
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
    /// How photos of another aspect ratio become the model's square: `crop` (the largest
    /// centred square) or `squash` (the whole photo, stretched); absent, the dataset's own
    /// way (CelebA crops, an image folder squashes).
    #[config(default = "None")]
    pub image_fit: Option<ImageFit>,
    /// Random flips, rotations, shifts and zooms of the training images (default: none).
    #[config(default = "Augment::default()")]
    pub augment: Augment,
    #[config(default = "ModelConfig::default()")]
    pub model: ModelConfig,
    #[config(default = 5)]
    pub epochs: usize,
    #[config(default = 64)]
    pub batch_size: usize,
    /// Adam learning rate, for both networks unless `lr_g` / `lr_d` say otherwise.
    #[config(default = 2e-4)]
    pub lr: f64,
    /// The generator's own learning rate (PyTorch DCGAN's `--lr-g`; TTUR-style runs).
    #[config(default = "None")]
    pub lr_g: Option<f64>,
    /// The discriminator's (critic's) own learning rate.
    #[config(default = "None")]
    pub lr_d: Option<f64>,
    #[config(default = 0.5)]
    pub beta1: f32,
    #[config(default = 0.999)]
    pub beta2: f32,
    /// Adam's ε, added to √v: burn's default 1e-5; PyTorch's is 1e-8 and Keras's 1e-7.
    /// It also says how small a gradient must be to move its weight less than lr: Adam's
    /// first step is lr·g/(|g| + ε), about ±lr whatever g's size once |g| ≫ ε.
    #[config(default = 1e-5)]
    pub eps: f32,
    /// The adversarial objective and its settings; absent, the model's own (`bce`, or
    /// `pix2pix` for an upscaler). See [`Objective`].
    #[config(default = "None")]
    pub objective: Option<Objective>,
    /// How the weights start: `dcgan` (N(0, 0.02)) or `glorot-uniform` (Keras's defaults).
    /// See [`WeightInit`].
    #[config(default = "WeightInit::Dcgan")]
    pub init: WeightInit,
    /// Keep an exponential moving average of the generator's weights with this decay
    /// (0.999 is usual; absent: none), updated after every generator step; `sample`,
    /// `eval` and `export` then use the average. See [`crate::training::ema`].
    #[config(default = "None")]
    pub ema_decay: Option<f64>,
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
    /// Read the step's losses and D outputs back from the device every N steps, all N at
    /// once (each read is a device sync: on a GPU it waits for the queued kernels). Every
    /// step is still recorded in `metrics.jsonl` and checked by the divergence guard, which
    /// also runs before every checkpoint; 1 reads after each step.
    #[config(default = 25)]
    pub log_every: usize,
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
    /// When the run counts as diverged (a loss past a bound, a saturated generator) and
    /// whether it then stops or rolls back with a lower learning rate.
    #[config(default = "DivergenceConfig::default()")]
    pub divergence: DivergenceConfig,
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

    fn from_value(mut given: serde_json::Value) -> anyhow::Result<Self> {
        upgrade_flat_objective(&mut given)?;
        // The model's and the objective's defaults depend on their kind: start from them.
        let mut merged = serde_json::to_value(Self::new())?;
        if let Some(kind) = given.pointer("/model/kind").and_then(|k| k.as_str()) {
            merged["model"] = ModelConfig::default_of(kind)?;
        }
        if let Some(kind) = given.pointer("/objective/kind").and_then(|k| k.as_str()) {
            merged["objective"] = Objective::default_of(kind)?;
        } else if given.get("objective").is_some_and(|o| !o.is_null()) {
            anyhow::bail!("objective: needs a kind (bce, wgan-gp or pix2pix)");
        }
        merge(&mut merged, given, "")?;
        let config: Self = serde_json::from_value(merged)?;
        config.check()?;
        Ok(config)
    }

    /// This config with `overrides` laid over it, each `path=value` (`lr=1e-4`,
    /// `model.latent_dim=128`, `objective.critic_steps=3`) and the value read as TOML (a
    /// number, `true`, a quoted string; anything else is taken as a bare string, so
    /// `dataset=mnist` works). The same merge as a config file's refuses a setting gantry
    /// does not know; `model.kind=…` or `objective.kind=…` starts that table from the new
    /// kind's defaults, as a file naming the kind does.
    pub fn with_overrides(self, overrides: &[String]) -> anyhow::Result<Self> {
        let mut merged = serde_json::to_value(&self)?;
        if merged["objective"].is_null() && overrides.iter().any(|o| o.starts_with("objective.")) {
            merged["objective"] = serde_json::to_value(self.objective())?;
        }
        for text in overrides {
            let (path, value) = parse_override(text)?;
            match (path.as_str(), value.as_str()) {
                ("model.kind", Some(kind)) => merged["model"] = ModelConfig::default_of(kind)?,
                ("objective.kind", Some(kind)) => {
                    merged["objective"] = Objective::default_of(kind)?
                }
                _ => {}
            }
            let given = path
                .rsplit('.')
                .fold(value, |inner, key| serde_json::json!({ key: inner }));
            merge(&mut merged, given, "").with_context(|| format!("--set {text}"))?;
        }
        let config: Self = serde_json::from_value(merged).context("--set")?;
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
        let rates = [
            ("lr", Some(self.lr)),
            ("lr_g", self.lr_g),
            ("lr_d", self.lr_d),
        ];
        for (name, rate) in rates {
            if let Some(rate) = rate {
                anyhow::ensure!(
                    rate > 0.0 && rate.is_finite(),
                    "{name} must be positive, got {rate}"
                );
            }
        }
        if let Some(decay) = self.ema_decay {
            anyhow::ensure!(
                decay > 0.0 && decay < 1.0,
                "ema_decay must be in (0, 1), got {decay}"
            );
        }
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
        self.model
            .batch_norm()
            .check()
            .map_err(anyhow::Error::msg)?;
        anyhow::ensure!(
            self.eps > 0.0 && self.eps.is_finite(),
            "eps must be positive, got {}",
            self.eps
        );
        anyhow::ensure!(
            self.checkpoint_every_epochs >= 1,
            "checkpoint_every_epochs must be at least 1"
        );
        anyhow::ensure!(self.log_every >= 1, "log_every must be at least 1");
        anyhow::ensure!(
            self.keep_checkpoints >= 1,
            "keep_checkpoints must be at least 1"
        );
        let most = gantry_onnx::contract::grid::MAX_IMAGES;
        anyhow::ensure!(
            (1..=most).contains(&self.sample_count),
            "sample_count must be in 1..={most} (one grid), got {}",
            self.sample_count
        );
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
        self.divergence.check().map_err(anyhow::Error::msg)?;
        let spec = self.model.spec();
        self.objective().check(&self.model, &spec)?;
        if spec.input.source_shape().is_some() {
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
        spec.check()?;
        Ok(())
    }

    /// The objective this run trains with: the config's, or the model's own.
    pub fn lr_generator(&self) -> f64 {
        self.lr_g.unwrap_or(self.lr)
    }

    pub fn lr_discriminator(&self) -> f64 {
        self.lr_d.unwrap_or(self.lr)
    }

    /// Scale every learning rate by `factor` (a rollback after divergence).
    pub fn scale_learning_rates(&mut self, factor: f64) {
        self.lr *= factor;
        self.lr_g = self.lr_g.map(|r| r * factor);
        self.lr_d = self.lr_d.map(|r| r * factor);
    }

    pub fn objective(&self) -> Objective {
        self.objective
            .unwrap_or_else(|| self.model.default_objective())
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

/// Configs written before `[objective]` (gantry 0.1's `config.json` in run directories)
/// kept the objective in flat keys: `loss`, `gp_lambda`, `critic_steps`, `l1_lambda` and
/// `real_label`. Move them into `objective`, so old runs still resume.
fn upgrade_flat_objective(given: &mut serde_json::Value) -> anyhow::Result<()> {
    use serde_json::{Value, json};
    let Some(map) = given.as_object_mut() else {
        return Ok(());
    };
    let flat = [
        "loss",
        "gp_lambda",
        "critic_steps",
        "l1_lambda",
        "real_label",
    ];
    if !flat.iter().any(|k| map.contains_key(*k)) {
        return Ok(());
    }
    anyhow::ensure!(
        !map.contains_key("objective"),
        "give the objective once: [objective] or the old flat keys ({}), not both",
        flat.join(", ")
    );
    let take = |map: &mut serde_json::Map<String, Value>, key| map.remove(key);
    let loss = take(map, "loss");
    let (gp_lambda, critic_steps) = (take(map, "gp_lambda"), take(map, "critic_steps"));
    let (l1_lambda, real_label) = (take(map, "l1_lambda"), take(map, "real_label"));
    let upscaler = map
        .get("model")
        .and_then(|m| m.get("kind"))
        .is_some_and(|k| k == "pix2pix");
    let mut objective = match (loss.as_ref().and_then(Value::as_str), upscaler) {
        (Some("wgan-gp"), _) => json!({ "kind": "wgan-gp" }),
        (_, true) => json!({ "kind": "pix2pix" }),
        (None | Some("bce"), false) => json!({ "kind": "bce" }),
        (Some(other), _) => anyhow::bail!("unknown loss `{other}` (known: bce, wgan-gp)"),
    };
    let kind = objective["kind"].as_str().unwrap_or_default().to_string();
    let keep: &[(&str, Option<Value>)] = match kind.as_str() {
        "wgan-gp" => &[("lambda", gp_lambda), ("critic_steps", critic_steps)],
        "pix2pix" => &[("l1_lambda", l1_lambda), ("real_label", real_label)],
        _ => &[("real_label", real_label)],
    };
    for (key, value) in keep {
        if let Some(value) = value {
            objective[*key] = value.clone();
        }
    }
    map.insert("objective".into(), objective);
    Ok(())
}

/// `path=value` → the path and the value as JSON (see [`TrainingConfig::with_overrides`]).
fn parse_override(text: &str) -> anyhow::Result<(String, serde_json::Value)> {
    let (path, value) = text
        .split_once('=')
        .with_context(|| format!("--set {text}: expected KEY=VALUE, e.g. lr=1e-4"))?;
    let path = path.trim();
    let well_formed = !path.is_empty()
        && path.split('.').all(|key| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    anyhow::ensure!(
        well_formed,
        "--set {text}: `{path}` is not a setting's name (words joined by dots, e.g. model.latent_dim)"
    );
    let value = value.trim();
    let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut table| table.remove("v"));
    let value = match parsed {
        Some(v) => serde_json::to_value(v)?,
        None => serde_json::Value::String(value.to_string()),
    };
    Ok((path.to_string(), value))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_norm_settings_reach_every_batch_norm_layer() {
        let config = TrainingConfig::from_toml_str(
            "[model]\nkind = \"cgan_mlp\"\n[model.batch_norm]\nmomentum = 0.01\nepsilon = 1e-3\n",
        )
        .unwrap();
        let spec = config.model.spec();
        let norms: Vec<_> = spec
            .generator
            .iter()
            .chain(&spec.discriminator)
            .filter_map(|layer| match *layer {
                LayerSpec::BatchNorm {
                    momentum, epsilon, ..
                } => Some((momentum, epsilon)),
                _ => None,
            })
            .collect();
        assert_eq!(norms, vec![(0.01, 1e-3); 3]);
        // And the burn modules built from the spec.
        let (generator, _) = config.model.init(&Device::flex());
        let built: Vec<_> = generator
            .network
            .layers
            .iter()
            .filter_map(|layer| match layer {
                crate::model::Layer::BatchNorm(norm) => Some((norm.momentum, norm.epsilon)),
                _ => None,
            })
            .collect();
        assert_eq!(built, vec![(0.01, 1e-3); 3]);

        let with_momentum = |m: &str| {
            TrainingConfig::from_toml_str(&format!(
                "[model]\nkind = \"dcgan28\"\n[model.batch_norm]\nmomentum = {m}\n"
            ))
            .map_err(|e| format!("{e:#}"))
        };
        let err = with_momentum("1.5").map(|_| ()).unwrap_err();
        assert!(err.contains("model.batch_norm.momentum"), "{err}");
        assert!(with_momentum("0.0").is_err());
        assert!(with_momentum("0.01").is_ok());
    }

    #[test]
    fn overrides_go_through_the_same_merge_as_a_file() {
        let base = TrainingConfig::from_toml_str("[model]\nkind = \"dcgan28\"\n").unwrap();
        let set = |items: &[&str]| {
            base.clone()
                .with_overrides(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let config = set(&[
            "lr=1e-4",
            "model.latent_dim=128",
            "dataset=fashion-mnist",
            "eps=1e-8",
        ])
        .unwrap();
        assert_eq!(config.lr, 1e-4);
        assert_eq!(config.model.latent_dim(), 128);
        assert_eq!(config.dataset, crate::data::DatasetName::FashionMnist);
        assert_eq!(config.eps, 1e-8);

        // A new kind starts from its defaults; the objective from the effective one.
        let config = set(&["model.kind=cgan_mlp", "model.embedding_dim=8"]).unwrap();
        assert!(matches!(config.model, ModelConfig::CganMlp(ref m) if m.embedding_dim == 8));
        let config = set(&["objective.real_label=0.9"]).unwrap();
        assert_eq!(
            config.objective(),
            Objective::Bce {
                real_label: 0.9,
                discriminator_loss: TermsCombined::Mean
            }
        );

        for (items, says) in [
            (
                &["model.latent_dims=3"][..],
                "unknown setting `model.latent_dims`",
            ),
            (&["lr"][..], "expected KEY=VALUE"),
            (&["model..x=1"][..], "is not a setting's name"),
            (&["lr=-1"][..], "lr must be positive"),
            (&["batch_size=big"][..], "--set"),
        ] {
            let err = format!("{:#}", set(items).unwrap_err());
            assert!(err.contains(says), "{items:?}: {err}");
        }
    }

    #[test]
    fn the_objective_is_a_table_with_its_kind_defaults() {
        let config = TrainingConfig::from_toml_str(
            "[objective]\nkind = \"wgan-gp\"\ncritic_steps = 3\n[model]\nkind = \"wgan_gp64\"\n",
        )
        .unwrap();
        assert_eq!(
            config.objective(),
            Objective::WganGp {
                lambda: 10.0,
                critic_steps: 3
            }
        );
        // Absent: the model's own.
        let upscaler = TrainingConfig::from_toml_str("[model]\nkind = \"pix2pix\"\n").unwrap();
        assert_eq!(upscaler.objective().name(), "pix2pix");
        assert_eq!(TrainingConfig::new().objective(), Objective::BCE);
    }

    #[test]
    fn configs_with_the_old_flat_keys_still_load() {
        // A run directory's config.json from before `[objective]` resumes as it trained.
        let old = serde_json::json!({
            "loss": "wgan-gp", "gp_lambda": 5.0, "critic_steps": 2, "l1_lambda": 100.0,
            "real_label": 1.0, "model": { "kind": "wgan_gp64" }
        });
        let config = TrainingConfig::from_value(old).unwrap();
        assert_eq!(
            config.objective(),
            Objective::WganGp {
                lambda: 5.0,
                critic_steps: 2
            }
        );
        let old_pix2pix =
            serde_json::json!({ "l1_lambda": 50.0, "loss": "bce", "model": { "kind": "pix2pix" } });
        let config = TrainingConfig::from_value(old_pix2pix).unwrap();
        assert_eq!(
            config.objective(),
            Objective::Pix2Pix {
                l1_lambda: 50.0,
                real_label: 1.0
            }
        );
    }

    #[test]
    fn a_model_the_objective_cannot_train_is_refused_naming_both() {
        let err = TrainingConfig::from_toml_str("[objective]\nkind = \"pix2pix\"\n").unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("pix2pix") && text.contains("dcgan28"),
            "{text}"
        );
        let err = TrainingConfig::from_toml_str(
            "[objective]\nkind = \"bce\"\n[model]\nkind = \"pix2pix\"\n",
        )
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("bce") && text.contains("pix2pix"), "{text}");
        let err = TrainingConfig::from_toml_str("[objective]\nkind = \"wgan-gp\"\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("needs a critic without"),
            "{err:#}"
        );
        assert!(TrainingConfig::from_toml_str("[objective]\nlambda = 3.0\n").is_err());
        assert!(
            TrainingConfig::from_toml_str("[objective]\nkind = \"bce\"\nlambda = 3.0\n").is_err()
        );
    }
}
