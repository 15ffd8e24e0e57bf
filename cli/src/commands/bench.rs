//! `gantry bench`: ms per training step and images/s on synthetic batches.

use crate::common::CommonArgs;
use clap::Args;
use gantry_trainer::bench;
use gantry_trainer::training::presets;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gantry bench --preset mnist-dcgan --batch-size 64\n  \
    gantry bench --preset cifar10-dcgan64 --steps 10 --device cuda:0\n  \
    gantry bench --preset mnist-dcgan --device vulkan --read-every 1   # a read-back per step\n  \
    scripts/bench-train                 # gantry and a PyTorch twin, alternating, every preset\n\n\
    Synthetic batches keep data loading out of the figure. The line names the device, and on\n\
    the CPU its thread count, CPU model and SIMD level. On the CPU, gantry's own kernels run\n\
    convolution, batch and instance norm and LeakyReLU; GANTRY_KERNELS=burn uses burn's ops\n\
    instead, to compare.")]
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
    /// Read the step's figures back every N steps, as training does every `log_every`
    /// (default: the preset's, 25). Each read is a device sync; `--read-every 1` times the
    /// read after every step, to see what the sync costs on a GPU.
    #[arg(long, value_name = "N")]
    read_every: Option<usize>,
    /// Print the preset's networks, input, objective and optimiser as JSON (what
    /// `scripts/bench-train`'s PyTorch twin builds from) instead of timing.
    #[arg(long)]
    describe: bool,
    #[command(flatten)]
    common: CommonArgs,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let config = presets::load(&args.preset)?;
    if args.describe {
        println!("{}", bench::describe(&config, args.batch_size));
        return Ok(());
    }
    let figures = bench::train_step(
        &config,
        args.common.device,
        args.batch_size,
        args.warmup,
        args.steps,
        args.read_every.unwrap_or(config.log_every),
    )?;
    println!("{figures}");
    Ok(())
}
