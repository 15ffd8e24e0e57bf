//! Flags that several subcommands share, declared once.

use clap::Args;
use gantry_trainer::device::DeviceChoice;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Folder that holds one sub-folder per dataset.
    #[arg(long, default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// `cpu`, or `cuda:N` (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// Whether progress bars make sense: standard error is a terminal.
pub fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
