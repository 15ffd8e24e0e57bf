//! A trained generator at work: opening a trained run, images for latents or sources,
//! and the grids a person looks at. `gantry sample`, `gantry eval`, `gantry export` and
//! the training loop's epoch grids all go through here.

use crate::data::{Batcher, ImageDataset};
use crate::latent::{self, Stream};
use crate::model::{Generator, GeneratorFeed, GeneratorInput};
use crate::training::checkpoint::{self, GeneratorWeights, Position};
use crate::training::config::TrainingConfig;
use anyhow::Context;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use gantry_onnx::contract::{GridLayout, pictures};
use std::path::{Path, PathBuf};

/// The file in a run directory that holds the run's [`TrainingConfig`].
pub fn config_path(run_dir: &Path) -> PathBuf {
    run_dir.join("config.json")
}

/// The config a run was started with.
pub fn load_run_config(run_dir: &Path) -> anyhow::Result<TrainingConfig> {
    let path = config_path(run_dir);
    anyhow::ensure!(
        path.exists(),
        "{}: no run here (no config.json)",
        run_dir.display()
    );
    TrainingConfig::from_file(&path)
}

/// A generator as a finished (or stopped) run left it: what sample, eval and export open.
pub struct TrainedRun {
    pub run_dir: PathBuf,
    /// The checkpoint folder the generator comes from.
    pub checkpoint: PathBuf,
    pub config: TrainingConfig,
    pub position: Position,
    /// In inference form (no autodiff; dropout off, BatchNorm on its running statistics).
    pub generator: Generator,
    /// Whether `generator` is the checkpoint's moving average (`ema_decay`) or the
    /// trained weights.
    pub weights: GeneratorWeights,
    pub device: Device,
}

impl TrainedRun {
    /// Open `path`, a run directory (its newest checkpoint whose generator is sound) or
    /// one checkpoint folder. Only the generator file is read.
    pub fn open(path: &Path, device: &Device) -> anyhow::Result<Self> {
        let verified = checkpoint::choose(path, checkpoint::Need::Generator)?;
        let checkpoint = verified.path.clone();
        let run_dir = checkpoint::run_dir_of(&checkpoint)
            .filter(|dir| config_path(dir).exists())
            .with_context(|| {
                format!(
                    "{}: not inside a run directory (no config.json two levels up)",
                    checkpoint.display()
                )
            })?;
        let config = load_run_config(&run_dir)?;
        let (generator, position, weights) =
            checkpoint::load_generator(verified, &config, &device.clone().autodiff())?;
        Ok(Self {
            run_dir,
            checkpoint,
            config,
            position,
            generator: generator.valid(),
            weights,
            device: device.clone().without_autodiff(),
        })
    }

    pub fn input(&self) -> GeneratorInput {
        self.config.model.input()
    }

    /// A line for a person when the generator is not the trained weights themselves.
    pub fn weights_note(&self) -> Option<String> {
        (self.weights == GeneratorWeights::MovingAverage).then(|| {
            format!(
                "using the generator's moving average (ema_decay {}) from {}",
                self.config.ema_decay.unwrap_or_default(),
                self.checkpoint.display()
            )
        })
    }
}

/// Images for `z` (`[n, latent]` values, and `n` labels for a conditional generator) in
/// inference mode; `[n, c, h, w]` values.
pub fn generate(
    generator: &Generator,
    z: Vec<f32>,
    labels: Option<Vec<i64>>,
    latent_dim: usize,
    device: &Device,
) -> anyhow::Result<(Vec<f32>, [usize; 4])> {
    anyhow::ensure!(
        latent_dim > 0 && z.len() % latent_dim == 0,
        "{} values are not whole latent vectors of {latent_dim}",
        z.len()
    );
    let n = z.len() / latent_dim;
    let device = device.clone().without_autodiff();
    let z = Tensor::<2>::from_data(TensorData::new(z, [n, latent_dim]), &device);
    let labels = labels.map(|l| Tensor::<1, Int>::from_data(TensorData::new(l, [n]), &device));
    read_images(
        generator
            .valid()
            .forward(GeneratorFeed::Latent { z, labels })?,
    )
}

/// Translate `sources` (`[n, c, h, w]` values of an upscaler's source shape) in inference
/// mode; the images' values and shape.
pub fn translate(
    generator: &Generator,
    sources: Vec<f32>,
    shape: [usize; 4],
    device: &Device,
) -> anyhow::Result<(Vec<f32>, [usize; 4])> {
    let device = device.clone().without_autodiff();
    let sources = Tensor::<4>::from_data(TensorData::new(sources, shape), &device);
    read_images(generator.valid().forward(GeneratorFeed::Source(sources))?)
}

fn read_images(images: Tensor<4>) -> anyhow::Result<(Vec<f32>, [usize; 4])> {
    let shape = images.dims();
    let values = images
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("generated images: {e:?}"))?;
    Ok((values, shape))
}

/// A grid of generated images, laid out by the contract's [`GridLayout`].
pub struct Grid {
    pub values: Vec<f32>,
    pub shape: [usize; 4],
    pub layout: GridLayout,
}

/// The grid of a generator of z for latents `z` (one vector per cell of `layout`).
pub fn latent_grid(
    generator: &Generator,
    input: GeneratorInput,
    layout: GridLayout,
    z: Vec<f32>,
    device: &Device,
) -> anyhow::Result<Grid> {
    let latent_dim = input
        .latent_dim()
        .context("an upscaler's grid is made of pictures, not latents")?;
    let (values, shape) = generate(generator, z, layout.labels.clone(), latent_dim, device)?;
    Ok(Grid {
        values,
        shape,
        layout,
    })
}

/// `gantry sample`'s grid (and the page's, for the same seed and count): `count` images
/// from the sample stream of `seed`, or one row per class of a conditional model.
pub fn sample_grid(
    generator: &Generator,
    input: GeneratorInput,
    seed: u64,
    count: usize,
    label: Option<i64>,
    device: &Device,
) -> anyhow::Result<Grid> {
    let layout = GridLayout::samples(count, input.classes(), label).map_err(anyhow::Error::msg)?;
    let latent_dim = input.latent_dim().unwrap_or(0);
    let z = latent::normal_batch(seed, Stream::Sample, 0, layout.count, latent_dim);
    latent_grid(generator, input, layout, z, device)
}

/// The first `count` images of `dataset` (at most the grid's limit): the real images a run
/// learns from, shown once beside its epoch grids (`samples/real.png`), as the CIFAR-10 and
/// CelebA seeds show them.
pub fn real_grid(dataset: &ImageDataset, count: usize, device: &Device) -> anyhow::Result<Grid> {
    let count = count
        .min(dataset.len())
        .min(gantry_onnx::contract::grid::MAX_IMAGES);
    let layout = GridLayout::samples(count, None, None).map_err(anyhow::Error::msg)?;
    let indices: Vec<usize> = (0..count).collect();
    let (images, _) = Batcher::images(dataset, &indices, &device.clone().without_autodiff());
    let (values, shape) = read_images(images)?;
    Ok(Grid {
        values,
        shape,
        layout,
    })
}

/// An upscaler's grid: for the first `count` images of `dataset`, the source (`scale`×
/// smaller, shown enlarged), the generator's image and the real image, side by side.
pub fn translation_grid(
    generator: &Generator,
    dataset: &ImageDataset,
    count: usize,
    scale: usize,
    device: &Device,
) -> anyhow::Result<Grid> {
    let most = gantry_onnx::contract::grid::MAX_IMAGES / 3;
    anyhow::ensure!(
        count <= most,
        "{count} pictures: an upscaler's grid holds at most {most} (three images each)"
    );
    let device = device.clone().without_autodiff();
    let indices: Vec<usize> = (0..count.min(dataset.len())).collect();
    anyhow::ensure!(!indices.is_empty(), "no images to upscale");
    let (targets, _) = Batcher::images(dataset, &indices, &device);
    let [n, c, h, w] = targets.dims();
    let targets = targets
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("images: {e:?}"))?;
    let source_shape = [n, c, h / scale, w / scale];
    let sources =
        pictures::block_mean(&targets, [n, c, h, w], scale).map_err(anyhow::Error::msg)?;
    let (made, _) = translate(generator, sources.clone(), source_shape, &device)?;
    let values = pictures::triples(&sources, &made, &targets, source_shape, scale)
        .map_err(anyhow::Error::msg)?;
    Ok(Grid {
        values,
        shape: [3 * n, c, h, w],
        layout: GridLayout::triples(n),
    })
}
