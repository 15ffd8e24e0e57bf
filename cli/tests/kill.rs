//! `kill -9` at any moment loses nothing: a run killed over and over — before its first
//! checkpoint, in the middle of writing one, anywhere — and resumed each time ends with the
//! same losses, the same generator and the same sample grid as a run never interrupted.

mod common;

use common::data_dir;
use gantry_trainer::inference::{self, TrainedRun};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
dataset = "mnist"
limit = 64
epochs = 3
batch_size = 16
sample_count = 16
checkpoint_every = 1

[model]
kind = "dcgan28"
latent_dim = 100
channels = 1
generator_features = 8
discriminator_features = 8
"#;

/// `train` for a new run, `train --resume` once its `config.json` exists (before that
/// nothing was decided yet, and the same `train` starts it again).
fn start(config: &Path, run: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gantry"));
    command.arg("train");
    if run.join("config.json").exists() {
        command.arg("--resume").arg(run);
    } else {
        command.arg("--config").arg(config).arg("--out").arg(run);
    }
    command
        .arg("--data-dir")
        .arg(data_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> std::process::Output {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A checkpoint being written: the temp folder `checkpoint::save` renames when it is whole.
fn writing_checkpoint(run: &Path) -> bool {
    std::fs::read_dir(run.join("checkpoints")).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".tmp-"))
    })
}

fn has_checkpoint(run: &Path) -> bool {
    std::fs::read_dir(run.join("checkpoints")).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("step-"))
    })
}

/// When to kill one attempt.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// This long after the start.
    After(Duration),
    /// As soon as a checkpoint's temp folder is seen.
    MidCheckpoint,
    /// Not at all: let it finish.
    Never,
}

/// Start (or resume) the run, kill it at `moment`; `true` if it was killed, `false` if it
/// finished first.
fn attempt(config: &Path, run: &Path, moment: Moment) -> bool {
    let mut child = start(config, run);
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            finish(child);
            return false;
        }
        let now = match moment {
            Moment::After(delay) => started.elapsed() >= delay,
            Moment::MidCheckpoint => writing_checkpoint(run),
            Moment::Never => false,
        };
        if now || started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            // Killed, unless it happened to exit on its own in between.
            return !out.status.success();
        }
        if !matches!(moment, Moment::MidCheckpoint) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Each step's losses and discriminator outputs (the last record of a step wins: a resumed
/// run repeats the steps after its checkpoint). Speed is left out: it is not the model.
fn metrics(run: &Path) -> BTreeMap<u64, Vec<String>> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let mut steps = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("metrics.jsonl line {line:?}: {e}"));
        let fields = ["epoch", "loss_d", "loss_g", "d_real", "d_fake", "saturated"]
            .map(|k| record[k].to_string())
            .to_vec();
        steps.insert(record["step"].as_u64().unwrap(), fields);
    }
    steps
}

/// What the final generator draws for a fixed z (its `.bpk` bytes differ between any two
/// runs: burn gives each parameter a random id).
fn generated(run: &Path) -> Vec<f32> {
    let device = gantry_trainer::device::Device::flex();
    let trained = TrainedRun::open(run, &device).unwrap();
    let grid = inference::sample_grid(&trained.generator, trained.input(), 7, 16, None, &device);
    grid.unwrap().values
}

fn bytes(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_run_killed_at_random_moments_ends_exactly_like_one_never_killed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kill.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let straight = dir.path().join("straight");
    let started = Instant::now();
    finish(start(&config, &straight));
    let run_time = started.elapsed();

    // Twelve moments spread over half a run's length (a small LCG, so a failure replays), the
    // first two before anything is saved, every third while a checkpoint is being written.
    let killed = dir.path().join("killed");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let (mut kills, mut mid_checkpoint, mut before_first_checkpoint, mut rounds) = (0, 0, 0, 0);
    loop {
        rounds += 1;
        assert!(rounds <= 13, "the run never finished after {kills} kills");
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let moment = match rounds {
            1 => Moment::After(Duration::ZERO),
            2 => Moment::After(run_time / 8),
            r if r > 12 => Moment::Never,
            r if r % 3 == 0 && mid_checkpoint < 3 => Moment::MidCheckpoint,
            _ => Moment::After(run_time.mul_f64(0.5 * (seed >> 11) as f64 / (1u64 << 53) as f64)),
        };
        if !attempt(&config, &killed, moment) {
            break;
        }
        kills += 1;
        if matches!(moment, Moment::MidCheckpoint) && writing_checkpoint(&killed) {
            mid_checkpoint += 1;
        }
        if !has_checkpoint(&killed) {
            before_first_checkpoint += 1;
        }
    }
    eprintln!(
        "{kills} kills ({before_first_checkpoint} before the first checkpoint, {mid_checkpoint} \
         mid-checkpoint) over {rounds} rounds; one run takes {run_time:?}"
    );
    assert!(
        kills >= 6,
        "only {kills} kills landed before the run finished"
    );
    assert!(
        before_first_checkpoint >= 1,
        "no kill landed before the first checkpoint"
    );
    assert!(
        mid_checkpoint >= 1,
        "no kill landed while a checkpoint was being written"
    );
    assert!(
        !writing_checkpoint(&killed),
        "a temp folder outlived the run"
    );

    assert_eq!(metrics(&killed), metrics(&straight), "losses differ");
    assert!(
        generated(&killed) == generated(&straight),
        "the generators differ"
    );
    let grid = "samples/epoch-003.png";
    assert!(
        bytes(killed.join(grid)) == bytes(straight.join(grid)),
        "the grids differ"
    );
}
