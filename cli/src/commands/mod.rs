//! The `gantry` command line: the clap tree, one file per subcommand.

mod bench;
mod classifier;
mod data;
mod eval;
mod export;
mod presets;
mod sample;
mod serve;
mod train;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "gantry",
    version,
    about = "Train GANs with burn, sample them, export them to ONNX, and get their datasets.",
    after_help = "Examples:\n  \
        gantry data fetch mnist\n  \
        gantry presets\n  \
        gantry train --dataset mnist --epochs 1 --out runs/mnist\n  \
        gantry train --preset mnist-cgan-conv --epochs 3\n  \
        gantry train --resume runs/mnist --epochs 5\n  \
        gantry sample --checkpoint runs/mnist --n 64 --seed 1 --out grid.png\n  \
        gantry export --checkpoint runs/mnist --out mnist.onnx\n  \
        gantry bench --batch-size 64"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Datasets: download them.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train a GAN, or resume a run where it stopped.
    Train(train::TrainArgs),
    /// Write a grid of images from a trained generator.
    Sample(sample::SampleArgs),
    /// Export a trained generator to ONNX, verified against ONNX Runtime.
    Export(export::ExportArgs),
    /// Serve the web page (www/) on 127.0.0.1.
    Serve(serve::ServeArgs),
    /// Measure training speed: ms per step and images/s.
    Bench(bench::BenchArgs),
    /// List the presets (the seeds' experiments as ready-made configs), or print one.
    Presets(presets::PresetsArgs),
    /// The evaluation classifier: a small CNN per dataset whose features stand in for Inception's.
    #[command(subcommand)]
    Classifier(classifier::ClassifierCommand),
    /// Measure a generator: Fréchet distance, Inception-style score, precision/recall and,
    /// for conditional models, class accuracy.
    Eval(eval::EvalArgs),
}

pub fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Data(command) => data::run(command),
        Command::Train(args) => train::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Export(args) => export::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Presets(args) => presets::run(args),
        Command::Classifier(command) => classifier::run(command),
        Command::Eval(args) => eval::run(args),
    }
}
