//! Flags that several subcommands share, declared once.

use clap::Args;
use gantry_trainer::device::DeviceChoice;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Folder that holds one sub-folder per dataset.
    #[arg(long, default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// `cpu` (burn flex), `cuda[:N]`, `rocm[:N]`, `wgpu`, `vulkan` or `metal`. Each GPU kind
    /// needs a build with the cargo feature of the same name (`--features cuda`, …). A
    /// build with `vulkan` compiles SPIR-V for every Vulkan device, which needs a driver
    /// with VK_KHR_workgroup_memory_explicit_layout (not Mesa's lavapipe; there, `wgpu` in
    /// a build without `vulkan`).
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// Whether progress bars make sense: standard error is a terminal.
pub fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
