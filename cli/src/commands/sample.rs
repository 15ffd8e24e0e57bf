//! `gantry sample`: a grid from a trained generator (the page draws the same grid for the
//! same seed and count), or an upscaler's triples on images it never saw.

use crate::common::CommonArgs;
use anyhow::Context;
use clap::Args;
use gantry_trainer::data::{ImageDataset, Split};
use gantry_trainer::eval::fidelity;
use gantry_trainer::inference::{self, Grid, TrainedRun};
use gantry_trainer::latent::{self, Stream};
use gantry_trainer::model::GeneratorInput;
use gantry_trainer::report;
use std::path::{Path, PathBuf};

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gantry sample --checkpoint runs/mnist --n 64 --seed 1 --out grid.png\n  \
    gantry sample --checkpoint runs/mnist/checkpoints/step-00000937 --n 16 --out early.png\n  \
    gantry sample --checkpoint runs/mnist-cgan --label 7 --n 16 --out sevens.png
  \
    gantry sample --checkpoint runs/upscale --n 10 --out upscaled.png --originals faces.png
  \
    gantry sample --checkpoint runs/mnist --n 10000 --out-dir fid/generated   # one PNG each, for FID tools

\
    A conditional model without --label draws one row per class, ⌈√n⌉ images a row.
\
    An upscaler (pix2pix) is shown images it did not train on: those past the run's `limit`,
\
    else the test split. Each appears as source (enlarged), upscale, original.")]
pub struct SampleArgs {
    /// A run directory (its newest checkpoint) or one checkpoint folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Number of images.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Seed of the latent vectors: the same seed gives the same grid.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Conditional models: generate only this class (0-based). Without it, one row per class.
    #[arg(long)]
    label: Option<i64>,
    #[arg(long, default_value = "samples.png")]
    out: PathBuf,
    /// Upscalers: also save the original images alone, side by side (the page's example
    /// strip, `www/models/*.examples.png`).
    #[arg(long)]
    originals: Option<PathBuf>,
    /// Instead of a grid, each image as its own PNG in this new folder (`000000.png`, …;
    /// grey repeated to RGB, no border), as pytorch-fid, clean-fid and torch-fidelity read
    /// a folder; --n may then pass a grid's 4,096. A conditional model without --label
    /// cycles through its classes.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "originals"])]
    out_dir: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

pub fn run(args: SampleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.n >= 1, "--n must be at least 1");
    let run = TrainedRun::open(&args.checkpoint, &args.common.device.device()?)?;
    if let Some(note) = run.weights_note() {
        eprintln!("{note}");
    }
    if let GeneratorInput::Source { scale, .. } = run.input() {
        return sample_translations(&args, &run, scale);
    }
    anyhow::ensure!(
        args.originals.is_none(),
        "--originals is for upscalers; {} generates from z",
        run.config.model.name()
    );
    if args.label.is_some() && !run.input().is_conditional() {
        anyhow::bail!(
            "--label: {} is not a conditional model",
            run.config.model.name()
        );
    }
    if let Some(dir) = &args.out_dir {
        return sample_files(&args, &run, dir);
    }
    let grid = inference::sample_grid(
        &run.generator,
        run.input(),
        args.seed,
        args.n,
        args.label,
        &run.device,
    )
    .map_err(|e| anyhow::anyhow!("--label: {e}"))?;
    report::save_grid(
        &grid.values,
        grid.shape,
        Some(grid.layout.columns),
        &args.out,
    )?;
    println!(
        "{} images from {} in {}",
        grid.layout.count,
        run.checkpoint.display(),
        args.out.display()
    );
    Ok(())
}

/// The most images `--out-dir` writes: 50,000 is what FID papers use; more is a typo.
const MOST_FILES: usize = 1_000_000;
/// Images generated at once for `--out-dir`.
const FILE_BATCH: usize = 250;

/// `--n` images as PNG files in `dir`, which must be new or empty (nothing is overwritten).
fn sample_files(args: &SampleArgs, run: &TrainedRun, dir: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.n <= MOST_FILES,
        "--n {}: --out-dir writes at most {MOST_FILES} images",
        args.n
    );
    let GeneratorInput::Latent { dim, classes } = run.input() else {
        anyhow::bail!("--out-dir is for generators of z; an upscaler's grid needs --out");
    };
    if let (Some(label), Some(classes)) = (args.label, classes) {
        anyhow::ensure!(
            (0..classes as i64).contains(&label),
            "--label {label}: the model has classes 0..{classes}"
        );
    }
    let empty = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(anyhow::Error::new(e).context(format!("{}", dir.display()))),
    };
    anyhow::ensure!(
        empty,
        "{}: not empty; --out-dir writes into a new folder, so nothing is overwritten",
        dir.display()
    );
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    for (batch, start) in (0..args.n).step_by(FILE_BATCH).enumerate() {
        let rows = FILE_BATCH.min(args.n - start);
        let z = latent::normal_batch(args.seed, Stream::Sample, batch as u64, rows, dim);
        let labels = classes.map(|k| {
            (start..start + rows)
                .map(|i| args.label.unwrap_or((i % k) as i64))
                .collect()
        });
        let (values, [_, c, h, w]) =
            inference::generate(&run.generator, z, labels, dim, &run.device)?;
        for (i, image) in values.chunks_exact(c * h * w).enumerate() {
            // A strip of one image: the image alone, drawn as every grid is.
            let path = dir.join(format!("{:06}.png", start + i));
            report::save_strip(image, [1, c, h, w], &path)?;
        }
    }
    println!(
        "{} images from {} in {}/ (one PNG each)",
        args.n,
        run.checkpoint.display(),
        dir.display()
    );
    Ok(())
}

/// An upscaler's grid on images it did not train on (and, optionally, the originals alone).
fn sample_translations(args: &SampleArgs, run: &TrainedRun, scale: usize) -> anyhow::Result<()> {
    let config = &run.config;
    let shape = config.model.image_shape();
    let folder = config.dataset_folder(&args.common.data_dir);
    let train = ImageDataset::load(config.dataset, &folder, Split::Train, shape, None)?;
    let unseen = match config.limit {
        Some(limit) if train.len() > limit => train.skip(limit),
        _ => ImageDataset::load(config.dataset, &folder, Split::Test, shape, None)?,
    };
    let Grid {
        values,
        shape: grid_shape,
        layout,
    } = inference::translation_grid(&run.generator, &unseen, args.n, scale, &run.device)?;
    report::save_grid(&values, grid_shape, Some(layout.columns), &args.out)?;
    let [triples, c, h, w] = grid_shape;
    let n = triples / 3;
    println!(
        "{n} unseen images upscaled by {} in {} (source, upscale, original)",
        run.checkpoint.display(),
        args.out.display()
    );
    // The grid's triples, taken apart: enlarged sources, upscales, originals.
    let size = c * h * w;
    let part = |which: usize| -> Vec<f32> {
        values
            .chunks_exact(3 * size)
            .flat_map(|triple| triple[which * size..(which + 1) * size].to_vec())
            .collect()
    };
    let (nearest, upscaled, originals) = (part(0), part(1), part(2));
    if let Some(path) = &args.originals {
        report::save_strip(&originals, [n, c, h, w], path)?;
        println!("{n} originals in {}", path.display());
    }
    // How close each is to the originals, beside simply enlarging the source's pixels.
    for (name, images) in [("upscale", &upscaled), ("nearest neighbour", &nearest)] {
        let f = fidelity::compare(images, &originals);
        println!(
            "  {name:>17}: mean |Δ| {:.4} (of 2), PSNR {:.2} dB",
            f.mean_abs, f.psnr
        );
    }
    Ok(())
}
