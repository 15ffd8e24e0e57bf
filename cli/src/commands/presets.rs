//! `gantry presets`: the seeds' experiments as ready-made configs.

use clap::{Args, Subcommand};
use gantry_trainer::training::presets::{self, PRESETS};

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gantry presets\n  \
    gantry presets show cifar10-dcgan64 > my-run.toml   # a starting point to edit\n  \
    gantry train --preset mnist-dcgan --set model.latent_dim=64 --set lr=1e-4")]
pub struct PresetsArgs {
    #[command(subcommand)]
    command: Option<PresetsCommand>,
}

#[derive(Subcommand)]
enum PresetsCommand {
    /// Print a preset's TOML, as `--preset NAME` trains it (the file in configs/).
    Show { name: String },
}

pub fn run(args: PresetsArgs) -> anyhow::Result<()> {
    match args.command {
        None => {
            for preset in PRESETS {
                println!("{:<26} {}", preset.name, preset.summary);
            }
        }
        Some(PresetsCommand::Show { name }) => {
            // Parsed first, so what is printed is a preset that trains.
            presets::load(&name)?;
            print!("{}", presets::find(&name)?.toml);
        }
    }
    Ok(())
}
