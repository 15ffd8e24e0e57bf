//! `gantry`: train GANs, sample them, export them, serve the page, get their data.
//!
//! - [`commands`]: the clap tree, one file per subcommand.
//! - [`common`]: the flags several subcommands share.

mod commands;
mod common;

fn main() {
    gantry_trainer::device::keep_freed_memory();
    if let Err(error) = commands::run() {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
