//! `cargo bench -p gantry-trainer`: ms per training step at batch 64 on the CPU backend,
//! and images/s, for each preset. (The figures are read back every `log_every` steps, as in
//! training, and the timing includes those syncs.)

use gantry_trainer::training::presets::{self, PRESETS};

fn main() {
    gantry_trainer::device::keep_freed_memory();
    let cpu = gantry_trainer::device::DeviceChoice::Cpu;
    for preset in PRESETS {
        let figures = presets::load(preset.name).and_then(|config| {
            let read_every = config.log_every;
            gantry_trainer::bench::train_step(&config, cpu, 64, 3, 20, read_every)
        });
        match figures {
            Ok(figures) => println!("{:<26} {figures}", preset.name),
            Err(e) => {
                eprintln!("bench of {} failed: {e:#}", preset.name);
                std::process::exit(1);
            }
        }
    }
}
