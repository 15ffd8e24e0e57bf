//! The `gantry` command as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gantry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .output()
        .unwrap()
}

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("GANTRY_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"));
    assert!(
        dir.join("mnist").exists(),
        "run scripts/fetch-data-offline.sh {} first",
        dir.display()
    );
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

const TINY_TOML: &str = r#"
dataset = "mnist"
limit = 64
epochs = 1
batch_size = 32
sample_count = 16

[model]
kind = "dcgan28"
latent_dim = 100
channels = 1
generator_features = 8
discriminator_features = 8
"#;

#[test]
fn train_from_a_toml_config_then_sample() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.toml");
    std::fs::write(&config, TINY_TOML).unwrap();
    let run = dir.path().join("run");
    let out = gantry(&[
        "train",
        "--config",
        path(&config),
        "--out",
        path(&run),
        "--data-dir",
        path(&data_dir()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run.join("samples/epoch-001.png").exists());

    let sample = |seed: &str, file: &str| {
        let png = dir.path().join(file);
        let out = gantry(&[
            "sample",
            "--checkpoint",
            path(&run),
            "--n",
            "10",
            "--seed",
            seed,
            "--out",
            path(&png),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        image::open(&png).unwrap().to_rgb8()
    };
    let grid = sample("1", "a.png");
    // 10 images of 28×28 with 2-pixel gaps: 4 columns, 3 rows.
    assert_eq!(grid.dimensions(), (4 * 30 + 2, 3 * 30 + 2));
    assert_eq!(
        grid.as_raw(),
        sample("1", "b.png").as_raw(),
        "same seed, same grid"
    );
    assert_ne!(
        grid.as_raw(),
        sample("2", "c.png").as_raw(),
        "another seed, another grid"
    );
}

#[test]
fn missing_data_is_one_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = gantry(&[
        "train",
        "--dataset",
        "fashion-mnist",
        "--data-dir",
        path(dir.path()),
        "--out",
        path(&dir.path().join("run")),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("train-images-idx3-ubyte") && stderr.contains("file not found"),
        "{stderr}"
    );
    assert!(
        stderr.contains("gantry data fetch fashion-mnist"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bad_config_names_the_file_and_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "dataset = \"mnist\"\nbatch_size = 1\n").unwrap();
    let out = gantry(&[
        "train",
        "--config",
        path(&config),
        "--data-dir",
        path(&data_dir()),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("batch_size"),
        "{stderr}"
    );
}

#[test]
fn help_texts_show_examples() {
    for args in [
        &["--help"][..],
        &["train", "--help"],
        &["sample", "--help"],
        &["data", "fetch", "--help"],
    ] {
        let out = gantry(args);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Examples:"), "{args:?}: {text}");
    }
}

#[test]
fn a_misspelt_setting_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("typo.toml");
    std::fs::write(&config, "dataset = \"mnist\"\nbatch_szie = 32\n").unwrap();
    let out = gantry(&[
        "train",
        "--config",
        path(&config),
        "--data-dir",
        path(&data_dir()),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("typo.toml") && stderr.contains("unknown setting `batch_szie`"),
        "{stderr}"
    );
}

#[test]
fn the_shipped_presets_load() {
    for preset in ["mnist-dcgan", "fashion-mnist-dcgan"] {
        let config =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../configs/{preset}.toml"));
        gantry_trainer::training::TrainingConfig::from_file(&config).unwrap();
    }
}
