//! `gantry presets`: the seeds' experiments as ready-made configs.

use gantry_trainer::training::presets::PRESETS;

pub fn run() -> anyhow::Result<()> {
    for preset in PRESETS {
        println!("{:<26} {}", preset.name, preset.summary);
    }
    Ok(())
}
