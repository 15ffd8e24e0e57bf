//! `gantry`: train GANs, sample them, export them, serve the page, get their data.

mod cli;
mod eval;
mod serve;

fn main() {
    if let Err(error) = cli::run() {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
