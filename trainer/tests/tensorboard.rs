//! A run's TensorBoard event files, read back by TensorBoard's own reader (PyPI
//! `tensorboard`, installed by scripts/setup-tensorboard.sh): every step's figures as in
//! metrics.jsonl, and each epoch's grid as an image.

mod common;

use gantry_trainer::training::{metrics, resume, train};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What TensorBoard's EventAccumulator reads from `dir`, as JSON.
fn read_with_tensorboard(dir: &Path) -> serde_json::Value {
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/tensorboard");
    assert!(
        tools.join("tensorboard").exists(),
        "tensorboard missing: run scripts/setup-tensorboard.sh first"
    );
    let script = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0})
acc.Reload()
tags = acc.Tags()
print(json.dumps({
    "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
    "images": {t: [[e.step, e.width, e.height] for e in acc.Images(t)] for t in tags["images"]},
}))
"#;
    let out = Command::new("python3")
        .env("PYTHONPATH", &tools)
        .args(["-c", script])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tensorboard_reads_every_step_and_each_epochs_grid() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // Stopped after 8 of 12 steps and resumed: the second file continues the first.
    let config = common::tiny_config();
    train(&run, &config, &common::stopping_after(8)).unwrap();
    assert!(resume(&run, None, &common::options()).unwrap().finished);

    let read = read_with_tensorboard(&run.join("tb"));
    let records = metrics::read(&metrics::metrics_path(&run)).unwrap();
    assert_eq!(records.len(), 12);
    for (tag, field) in [
        ("loss/discriminator", 0),
        ("loss/generator", 1),
        ("D/real", 2),
        ("D/fake", 3),
    ] {
        let points = read["scalars"][tag]
            .as_array()
            .unwrap_or_else(|| panic!("{tag}: {read}"));
        // By step: a resume may repeat steps after its checkpoint (not here: the stop
        // checkpointed at step 8).
        let mut by_step = std::collections::BTreeMap::new();
        for point in points {
            by_step.insert(
                point[0].as_u64().unwrap(),
                point[1].as_f64().unwrap() as f32,
            );
        }
        assert_eq!(by_step.len(), 12, "{tag}");
        for r in &records {
            let want = [r.loss_d, r.loss_g, r.d_real, r.d_fake][field];
            assert_eq!(by_step[&r.step], want, "{tag} at step {}", r.step);
        }
    }
    let images = read["images"]["samples"].as_array().unwrap();
    let grid = image::open(run.join("samples/epoch-002.png")).unwrap();
    assert_eq!(images.len(), 2, "{images:?}");
    assert_eq!(images[1][0], 12);
    assert_eq!(images[1][1], grid.width());
    assert_eq!(images[1][2], grid.height());
}
