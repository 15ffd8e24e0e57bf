//! Named presets: the seeds' experiments as ready-made configs.
//!
//! Each preset is a file under `configs/` in the repository, compiled into the binary so
//! `gantry train --preset NAME` works from anywhere. A test checks that this table and the
//! folder list the same files.

use super::config::TrainingConfig;
use anyhow::Context;

/// One preset: its name (the file stem), a one-line summary and the TOML text.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    pub summary: &'static str,
    pub toml: &'static str,
}

macro_rules! preset {
    ($name:literal, $summary:literal) => {
        Preset {
            name: $name,
            summary: $summary,
            toml: include_str!(concat!("../../../configs/", $name, ".toml")),
        }
    };
}

pub const PRESETS: &[Preset] = &[
    preset!("mnist-dcgan", "DCGAN 28×28 on MNIST (the MNIST seed)"),
    preset!(
        "cifar10-dcgan64",
        "DCGAN 64×64 on CIFAR-10 resized from 32, the seed's printed networks (CIFAR-10 seed)"
    ),
    preset!(
        "celeba-dcgan64",
        "DCGAN 64×64 on CelebA, centre-cropped, 5,000-image subset (CelebA seed)"
    ),
    preset!(
        "celeba-wgan-gp",
        "WGAN-GP 64×64 on CelebA: InstanceNorm critic, λ 10, 5 critic steps, Adam(1e-4, 0, 0.9)"
    ),
    preset!(
        "lfw-dcgan",
        "DCGAN 28×28 on the 100 LFW face crops, with augmentation (faces for the page)"
    ),
    preset!(
        "fashion-mnist-dcgan",
        "DCGAN 28×28 on Fashion-MNIST (the MNIST seed's network on clothing)"
    ),
    preset!(
        "fashion-mnist-dcgan-tf",
        "DCGAN 28×28 on Fashion-MNIST, TensorFlow-tutorial style: dense start, k5, dropout D, Adam 1e-4"
    ),
    preset!(
        "mnist-cgan-exp1",
        "conditional GAN on MNIST, ReLU generator, Keras's Glorot-uniform init (cGAN seed, exp. 1)"
    ),
    preset!(
        "mnist-cgan-conv",
        "conditional GAN on MNIST, dense + transposed-conv generator (cGAN seed, exp. 2)"
    ),
    preset!(
        "mnist-cgan-mlp",
        "conditional GAN on MNIST, MLP 256/512/1024 generator, MLP 512/512 critic (cGAN seed, exp. 3)"
    ),
    preset!(
        "fashion-mnist-cgan-conv",
        "conditional GAN on Fashion-MNIST, the cGAN seed's conv generator"
    ),
    preset!(
        "lfw-pix2pix",
        "Pix2Pix super-resolution 8×8 → 32×32 on the LFW face crops: U-Net + PatchGAN, BCE + 100·L1"
    ),
    preset!(
        "celeba-pix2pix",
        "Pix2Pix super-resolution 16×16 → 64×64 on CelebA (the high-resolution seed), for a GPU"
    ),
];

/// The preset called `name`; an error lists the known ones.
pub fn find(name: &str) -> anyhow::Result<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name).with_context(|| {
        let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
        format!("no preset `{name}` (known: {})", names.join(", "))
    })
}

/// The preset called `name`, parsed and checked.
pub fn load(name: &str) -> anyhow::Result<TrainingConfig> {
    TrainingConfig::from_toml_str(find(name)?.toml)
        .with_context(|| format!("preset {name} (configs/{name}.toml)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WeightInit;

    #[test]
    fn every_preset_parses_and_checks() {
        for preset in PRESETS {
            load(preset.name).unwrap_or_else(|e| panic!("{}: {e:#}", preset.name));
        }
    }

    #[test]
    fn the_table_lists_exactly_the_configs_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut names: Vec<String> = PRESETS.iter().map(|p| p.name.to_string()).collect();
        names.sort();
        assert_eq!(files, names);
    }

    #[test]
    fn every_preset_states_how_its_weights_start() {
        for preset in PRESETS {
            assert!(
                preset.toml.lines().any(|l| l.starts_with("init = ")),
                "{}: no `init = ...` line",
                preset.name
            );
        }
        assert_eq!(
            load("mnist-cgan-exp1").unwrap().init,
            WeightInit::GlorotUniform
        );
        assert_eq!(load("mnist-dcgan").unwrap().init, WeightInit::Dcgan);
    }

    #[test]
    fn unknown_presets_are_named() {
        let err = load("mnist-dcgna").unwrap_err().to_string();
        assert!(
            err.contains("mnist-dcgna") && err.contains("mnist-dcgan"),
            "{err}"
        );
    }
}
