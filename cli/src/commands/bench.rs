//! `gantry bench`: ms per training step and images/s on synthetic batches.

use crate::common::CommonArgs;
use clap::Args;
use gantry_trainer::bench;
use gantry_trainer::training::presets;

#[derive(Args)]
pub struct BenchArgs {
    /// The preset whose model is timed (see `gantry presets`).
    #[arg(long, default_value = "mnist-dcgan")]
    preset: String,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Timed steps (after warm-up).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    #[command(flatten)]
    common: CommonArgs,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let figures = bench::train_step(
        &presets::load(&args.preset)?,
        &args.common.device.device()?,
        args.batch_size,
        args.warmup,
        args.steps,
    )?;
    println!("{figures}");
    Ok(())
}
