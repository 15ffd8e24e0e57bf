//! `cargo bench -p gantry-trainer`: ms per training step at batch 64 on the CPU backend,
//! and images/s, for each preset. (The step reads its losses back, so the timing includes
//! the sync.)

use gantry_trainer::training::presets::{self, PRESETS};

fn main() {
    gantry_trainer::device::keep_freed_memory();
    let device = burn::tensor::Device::flex();
    for preset in PRESETS {
        let figures = presets::load(preset.name)
            .and_then(|config| gantry_trainer::bench::train_step(&config, &device, 64, 3, 20));
        match figures {
            Ok(figures) => println!("{:<26} {figures}", preset.name),
            Err(e) => {
                eprintln!("bench of {} failed: {e:#}", preset.name);
                std::process::exit(1);
            }
        }
    }
}
