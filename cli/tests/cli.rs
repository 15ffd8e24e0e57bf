//! The `gantry` command as a user runs it.

mod common;

use common::data_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gantry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .output()
        .unwrap()
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

/// `gantry train` on [`TINY_TOML`] into `dir/run`.
fn train_tiny(dir: &Path) -> PathBuf {
    let config = dir.join("tiny.toml");
    std::fs::write(&config, TINY_TOML).unwrap();
    let run = dir.join("run");
    ok(&gantry(&[
        "train",
        "--config",
        path(&config),
        "--out",
        path(&run),
        "--data-dir",
        path(&data_dir()),
    ]));
    run
}

#[test]
fn train_from_a_toml_config_then_sample() {
    let dir = tempfile::tempdir().unwrap();
    let run = train_tiny(dir.path());
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

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fréchet distance from `gantry eval`'s first line.
fn frechet(stdout: &str) -> f64 {
    let line = stdout.lines().next().unwrap();
    let after = line.split("): ").nth(1).unwrap();
    after.split_whitespace().next().unwrap().parse().unwrap()
}

/// classifier → train a conditional preset a few steps → eval → export: the figures travel
/// from `gantry eval` into the checkpoint and the ONNX metadata, and real-vs-real is far
/// closer than a barely trained generator.
#[test]
fn classifier_then_eval_then_export_carries_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir();
    let classifier = dir.path().join("classifier");
    let out = ok(&gantry(&[
        "classifier",
        "train",
        "--dataset",
        "mnist",
        "--epochs",
        "1",
        "--limit",
        "3000",
        "--out",
        path(&classifier),
        "--data-dir",
        path(&data),
    ]));
    assert!(out.contains("test accuracy"), "{out}");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(classifier.join("classifier.json")).unwrap())
            .unwrap();
    // 3000 images, one epoch: far from the full run's 99%, far above chance.
    assert!(card["test_accuracy"].as_f64().unwrap() > 0.8, "{card}");

    let run = dir.path().join("run");
    ok(&gantry(&[
        "train",
        "--preset",
        "mnist-cgan-mlp",
        "--limit",
        "256",
        "--epochs",
        "1",
        "--out",
        path(&run),
        "--data-dir",
        path(&data),
    ]));
    let eval = ok(&gantry(&[
        "eval",
        "--checkpoint",
        path(&run),
        "--classifier",
        path(&classifier),
        "--samples",
        "1000",
        "--data-dir",
        path(&data),
    ]));
    println!("{eval}");
    assert!(
        eval.contains("over 1000 samples vs 10000 real test images"),
        "{eval}"
    );
    assert!(eval.contains("class accuracy"), "{eval}");
    let fd = frechet(&eval);
    let baseline: f64 = eval
        .split("(real train vs test: ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        baseline < 0.1 * fd,
        "real vs real {baseline} should be far below 8 steps of training {fd}"
    );
    let checkpoint = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .max()
        .unwrap();
    assert!(checkpoint.join("quality.json").exists());

    let onnx = dir.path().join("g.onnx");
    ok(&gantry(&[
        "export",
        "--checkpoint",
        path(&run),
        "--out",
        path(&onnx),
    ]));
    let bytes = std::fs::read(&onnx).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("gantry.quality"), "metadata key");
    assert!(
        text.contains("\"class_accuracy\""),
        "quality figures in the metadata"
    );

    // The exported file measures like the checkpoint (same samples, same seed).
    let from_onnx = ok(&gantry(&[
        "eval",
        "--onnx",
        path(&onnx),
        "--classifier",
        path(&classifier),
        "--samples",
        "1000",
        "--data-dir",
        path(&data),
    ]));
    let diff = (frechet(&from_onnx) - fd).abs() / fd;
    assert!(diff < 1e-3, "onnx {from_onnx} vs checkpoint {eval}");
}

/// A checkpoint that meets a full disk: the error names the file, the space the checkpoint
/// needs and the space free; the partial folder is removed and the last good checkpoint
/// stays, so once space is freed `--resume` goes on. The disk is a 16 MiB tmpfs in a user
/// and mount namespace (`unshare -rm`), filled to half a checkpoint short.
#[test]
fn a_full_disk_during_a_checkpoint_loses_nothing() {
    const SCRIPT: &str = r#"
set -u
T=$1; G=$2; CFG=$3; DATA=$4
mount -t tmpfs -o size=16m tmpfs "$T" || exit 90
"$G" train --config "$CFG" --out "$T/run" --data-dir "$DATA" --max-steps 2 >/dev/null 2>&1 || exit 91
ck=$(du -sb "$T/run/checkpoints/step-00000002" | cut -f1)
avail=$(df -B1 --output=avail "$T" | tail -1)
dd if=/dev/zero of="$T/filler" bs=4096 count=$(( (avail - ck / 2) / 4096 )) 2>/dev/null
"$G" train --resume "$T/run" --data-dir "$DATA" --max-steps 3; echo "full-rc=$?"
echo "after-full: $(ls -a "$T/run/checkpoints" | tr '\n' ' ')"
rm "$T/filler"
"$G" train --resume "$T/run" --data-dir "$DATA" --max-steps 3; echo "freed-rc=$?"
echo "after-freed: $(ls -a "$T/run/checkpoints" | tr '\n' ' ')"
"#;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ck.toml");
    // Six steps an epoch: the steps written here are all inside the first.
    let toml = TINY_TOML.replace("limit = 64", "limit = 192\ncheckpoint_every = 1");
    std::fs::write(&config, toml).unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", SCRIPT, "sh"])
        .args([
            path(&disk),
            env!("CARGO_BIN_EXE_gantry"),
            path(&config),
            path(&data_dir()),
        ])
        .output()
        .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rc {:?}\n{stdout}\n{stderr}",
        out.status.code()
    );
    assert!(stdout.contains("full-rc=1"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("the disk is full")
            && stderr.contains("this needs")
            && stderr.contains("free"),
        "{stderr}"
    );
    let after_full = stdout
        .lines()
        .find(|l| l.starts_with("after-full:"))
        .unwrap();
    assert!(
        after_full.contains("step-00000002"),
        "the last good one stays: {after_full}"
    );
    assert!(
        !after_full.contains(".tmp-"),
        "the partial one is removed: {after_full}"
    );
    assert!(stdout.contains("freed-rc=0"), "{stdout}\n{stderr}");
    let after_freed = stdout
        .lines()
        .find(|l| l.starts_with("after-freed:"))
        .unwrap();
    assert!(after_freed.contains("step-00000003"), "{after_freed}");
}

#[test]
fn a_dead_generator_is_exported_with_a_warning_and_a_live_one_without() {
    let dir = tempfile::tempdir().unwrap();
    // The guard would stop this run; here it is loosened so a dead model gets as far as export.
    let loose = "\n[divergence]\nmax_loss = 1e30\nmax_saturated = 1.0\npatience = 100000\n";
    let config = dir.path().join("dead.toml");
    std::fs::write(
        &config,
        TINY_TOML.replace("batch_size = 32", "batch_size = 16") + loose,
    )
    .unwrap();
    let export_warning = |run: &Path, lr: &str| {
        ok(&gantry(&[
            "train",
            "--config",
            path(&config),
            "--out",
            path(run),
            "--lr",
            lr,
            "--data-dir",
            path(&data_dir()),
        ]));
        let onnx = run.with_extension("onnx");
        let out = gantry(&[
            "export",
            "--checkpoint",
            path(run),
            "--out",
            path(&onnx),
            "--no-verify",
        ]);
        ok(&out);
        assert!(onnx.is_file(), "the file is written either way");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let dead = export_warning(&dir.path().join("dead"), "1000");
    assert!(
        dead.contains("warning: this generator may be dead: 100.0% of its output values are at ±1"),
        "{dead}"
    );
    let live = export_warning(&dir.path().join("live"), "0.0002");
    assert!(!live.contains("warning"), "{live}");
}

#[test]
fn presets_show_prints_a_preset_that_set_overrides() {
    let toml = ok(&gantry(&["presets", "show", "mnist-dcgan"]));
    assert!(toml.contains("kind = \"dcgan28\""), "{toml}");
    let out = gantry(&["presets", "show", "mnist-dcgans"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no preset `mnist-dcgans`"));

    // The printed preset, edited only by flags: the run's config.json says what was set.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("preset.toml");
    std::fs::write(&config, &toml).unwrap();
    let run = dir.path().join("run");
    let out = gantry(&[
        "train",
        "--config",
        path(&config),
        "--out",
        path(&run),
        "--data-dir",
        path(&data_dir()),
        "--limit",
        "32",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--nz",
        "16",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--lr-d",
        "0.0001",
        "--set",
        "eps=1e-8",
        "--set",
        "sample_count=4",
    ]);
    ok(&out);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(saved["model"]["latent_dim"], 16);
    assert_eq!(saved["model"]["generator_features"], 4);
    assert_eq!(saved["model"]["discriminator_features"], 4);
    assert_eq!(saved["eps"].as_f64().map(|e| e as f32), Some(1e-8));
    assert_eq!(saved["lr_d"], 1e-4);
    assert_eq!(saved["lr_g"], serde_json::Value::Null);

    // An unknown setting is refused before anything is written.
    let refused = dir.path().join("refused");
    let out = gantry(&[
        "train",
        "--config",
        path(&config),
        "--out",
        path(&refused),
        "--set",
        "model.latent_dims=16",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown setting `model.latent_dims`"), "{err}");
    assert!(!refused.exists());
}

#[test]
fn sample_out_dir_writes_one_png_per_image_for_fid_tools() {
    let dir = tempfile::tempdir().unwrap();
    let run = train_tiny(dir.path());
    // More than one batch of generation, and not a square number.
    let files = dir.path().join("fid");
    let out = gantry(&[
        "sample",
        "--checkpoint",
        path(&run),
        "--n",
        "260",
        "--out-dir",
        path(&files),
    ]);
    ok(&out);
    let mut names: Vec<String> = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 260);
    assert_eq!(
        (names[0].as_str(), names[259].as_str()),
        ("000000.png", "000259.png")
    );
    let first = image::open(files.join("000000.png")).unwrap().to_rgb8();
    assert_eq!(first.dimensions(), (28, 28), "the image alone, no border");
    let last = image::open(files.join("000259.png")).unwrap().to_rgb8();
    assert_ne!(first.as_raw(), last.as_raw());
    // Grey repeated to RGB.
    assert!(first.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));

    // The folder is not written into twice.
    let again = gantry(&[
        "sample",
        "--checkpoint",
        path(&run),
        "--n",
        "4",
        "--out-dir",
        path(&files),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}
