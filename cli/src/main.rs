//! `gantry`: train GANs, sample them, get their data.

mod cli;

fn main() {
    if let Err(error) = cli::run() {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
