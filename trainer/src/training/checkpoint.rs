//! Checkpoints that resume a run exactly, written so that a crash never costs a good one.
//!
//! A checkpoint is a folder `RUN_DIR/checkpoints/step-NNNNNNNN/` holding both networks and
//! both optimiser states (burnpack files) and `state.json`: where the run is, its random
//! streams, and the SHA-256 of every file. It is written under a temporary name and renamed
//! into place, so a folder named `step-*` is always complete; a truncated or altered file is
//! caught by its checksum before anything is loaded.

use super::config::TrainingConfig;
use super::step::GanState;
use crate::data::fetch::hex;
use anyhow::{Context, bail};
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const FORMAT: u32 = 1;
const STATE_FILE: &str = "state.json";
const GENERATOR_FILE: &str = "generator.bpk";
const DISCRIMINATOR_FILE: &str = "discriminator.bpk";
const OPTIM_G_FILE: &str = "optim_g.bpk";
const OPTIM_D_FILE: &str = "optim_d.bpk";

/// Where a run is: the next batch it will train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Position {
    /// Epoch of the next batch (0-based).
    pub epoch: usize,
    /// Batch within that epoch (0-based).
    pub batch: usize,
    /// Training steps completed so far.
    pub step: u64,
}

/// The random streams of a run (see [`crate::latent`]). They are counter-based, so their
/// state is the seed plus the counters, which [`Position`] already holds; recorded
/// explicitly so that the file says what it depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    pub algorithm: String,
    pub seed: u64,
    /// Epoch whose shuffle the next batch comes from.
    pub shuffle_epoch: usize,
    /// Step whose latent batch comes next.
    pub noise_step: u64,
}

/// The contents of `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    pub format: u32,
    pub position: Position,
    pub rng: RngState,
    pub model: String,
    /// SHA-256 of each file of the checkpoint.
    pub files: BTreeMap<String, String>,
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn checkpoints_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

/// Write a checkpoint of `state` at `position`; keep only the newest `keep`.
pub fn save(
    run_dir: &Path,
    config: &TrainingConfig,
    state: &GanState,
    position: Position,
) -> anyhow::Result<PathBuf> {
    let dir = checkpoints_dir(run_dir);
    fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let name = format!("step-{:08}", position.step);
    let final_path = dir.join(&name);
    let tmp_path = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp_path.exists() {
        fs::remove_dir_all(&tmp_path).ok();
    }
    fs::create_dir(&tmp_path).with_context(|| format!("{}: cannot create", tmp_path.display()))?;

    // Recorded through `valid()`: burn's `RunningState` (BatchNorm statistics) holds its newest
    // update aside until the next read, and a plain `into_record` would save the value from
    // one step earlier; `valid()` folds the pending update in first. (Flags such as BatchNorm's
    // training switch are not part of records, so the validation snapshot records the same
    // tensors the training module holds.)
    let files: [(&str, Bytes); 4] = [
        (
            GENERATOR_FILE,
            state.generator.valid().into_record().into_bytes()?,
        ),
        (
            DISCRIMINATOR_FILE,
            state.discriminator.valid().into_record().into_bytes()?,
        ),
        (OPTIM_G_FILE, state.optim_g.into_bytes()?),
        (OPTIM_D_FILE, state.optim_d.into_bytes()?),
    ];
    let mut checksums = BTreeMap::new();
    for (file, bytes) in &files {
        let path = tmp_path.join(file);
        fs::write(&path, &bytes[..])
            .with_context(|| format!("{}: cannot write", path.display()))?;
        checksums.insert(file.to_string(), sha256(bytes));
    }
    let meta = CheckpointState {
        format: FORMAT,
        position,
        rng: RngState {
            algorithm: "splitmix64 counter streams (gantry::latent)".into(),
            seed: config.seed,
            shuffle_epoch: position.epoch,
            noise_step: position.step,
        },
        model: config.model.name().into(),
        files: checksums,
    };
    fs::write(tmp_path.join(STATE_FILE), serde_json::to_vec_pretty(&meta)?)?;
    sync_dir(&tmp_path);
    if final_path.exists() {
        // Same step written again (a resumed run stopping where it started): replace it.
        fs::remove_dir_all(&final_path)?;
    }
    fs::rename(&tmp_path, &final_path).with_context(|| {
        format!(
            "{}: cannot move checkpoint into place",
            final_path.display()
        )
    })?;
    sync_dir(&dir);

    let all = list(run_dir)?;
    for old in all
        .iter()
        .take(all.len().saturating_sub(config.keep_checkpoints))
    {
        fs::remove_dir_all(old).ok();
    }
    Ok(final_path)
}

/// Make a directory's entries durable (best effort: not every platform can open a directory).
fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        handle.sync_all().ok();
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_file() {
            if let Ok(file) = fs::File::open(entry.path()) {
                file.sync_all().ok();
            }
        }
    }
}

/// The folder of the best checkpoint by Fréchet distance, when the run evaluates.
pub fn best_dir(run_dir: &Path) -> PathBuf {
    checkpoints_dir(run_dir).join("best")
}

/// Copy `checkpoint` to `checkpoints/best` (to a temporary folder first, then swapped in),
/// so the best weights survive the rotation of `keep_checkpoints`.
pub fn copy_as_best(run_dir: &Path, checkpoint: &Path) -> anyhow::Result<PathBuf> {
    let best = best_dir(run_dir);
    let tmp = checkpoints_dir(run_dir).join(format!(".best.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    for entry in fs::read_dir(checkpoint)
        .with_context(|| format!("{}: cannot list", checkpoint.display()))?
    {
        let entry = entry?;
        if entry.path().is_file() {
            fs::copy(entry.path(), tmp.join(entry.file_name()))
                .with_context(|| format!("{}: cannot copy", entry.path().display()))?;
        }
    }
    sync_dir(&tmp);
    let old = checkpoints_dir(run_dir).join(format!(".best.old-{}", std::process::id()));
    if best.exists() {
        fs::rename(&best, &old)?;
    }
    fs::rename(&tmp, &best).with_context(|| format!("{}: cannot write", best.display()))?;
    if old.exists() {
        fs::remove_dir_all(&old).ok();
    }
    Ok(best)
}

/// Complete checkpoints of a run, oldest first.
pub fn list(run_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = checkpoints_dir(run_dir);
    if !dir.exists() {
        return Ok(vec![]);
    }
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("step-"))
                && p.join(STATE_FILE).exists()
        })
        .collect();
    found.sort();
    Ok(found)
}

/// A checkpoint folder from a path that is either a checkpoint or a run (its newest).
pub fn resolve(path: &Path) -> anyhow::Result<PathBuf> {
    if path.join(STATE_FILE).exists() {
        return Ok(path.to_path_buf());
    }
    if !path.exists() {
        bail!("{}: no such run or checkpoint", path.display());
    }
    list(path)?.pop().with_context(|| {
        format!(
            "{}: no checkpoint here (expected a run directory with checkpoints/step-*/ or a checkpoint folder with {STATE_FILE})",
            path.display()
        )
    })
}

/// The run directory a checkpoint folder belongs to.
pub fn run_dir_of(checkpoint: &Path) -> Option<PathBuf> {
    checkpoint.parent()?.parent().map(Path::to_path_buf)
}

/// Read and verify `state.json` and the checksums of every file.
pub fn read_state(
    checkpoint: &Path,
) -> anyhow::Result<(CheckpointState, BTreeMap<String, Vec<u8>>)> {
    let state_path = checkpoint.join(STATE_FILE);
    let text =
        fs::read(&state_path).with_context(|| format!("{}: cannot read", state_path.display()))?;
    let state: CheckpointState = serde_json::from_slice(&text)
        .with_context(|| format!("{}: not a gantry checkpoint state", state_path.display()))?;
    if state.format != FORMAT {
        bail!(
            "{}: checkpoint format {} (this gantry reads {FORMAT})",
            state_path.display(),
            state.format
        );
    }
    let mut contents = BTreeMap::new();
    for (file, expected) in &state.files {
        let path = checkpoint.join(file);
        let bytes = fs::read(&path)
            .with_context(|| format!("{}: missing from the checkpoint", path.display()))?;
        let actual = sha256(&bytes);
        if &actual != expected {
            bail!(
                "{}: corrupt or truncated ({} bytes, SHA-256 {actual}, expected {expected}); use an older checkpoint in {}",
                path.display(),
                bytes.len(),
                checkpoint
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
        }
        contents.insert(file.clone(), bytes);
    }
    Ok((state, contents))
}

/// Load a checkpoint into fresh networks and optimisers built from `config`.
pub fn load(
    checkpoint: &Path,
    config: &TrainingConfig,
    device: &Device,
) -> anyhow::Result<(GanState, Position)> {
    let (state, mut files) = read_state(checkpoint)?;
    let position = state.position;
    if state.model != config.model.name() {
        bail!(
            "{}: checkpoint of a {} model, but the config describes {}",
            checkpoint.display(),
            state.model,
            config.model.name()
        );
    }
    let mut take = |file: &str| -> anyhow::Result<Bytes> {
        let bytes = files
            .remove(file)
            .with_context(|| format!("{}: checkpoint lists no {file}", checkpoint.display()))?;
        Ok(Bytes::from_bytes_vec(bytes))
    };
    let fresh = GanState::init(config, device);
    let record = |file: &str, bytes: Bytes| {
        ModuleRecord::from_bytes(bytes)
            .with_context(|| format!("{}: unreadable", checkpoint.join(file).display()))
    };
    let mismatch = |file: &str| {
        format!(
            "{}: does not fit the model in the run's config.json (different architecture?)",
            checkpoint.join(file).display()
        )
    };
    let generator = fresh
        .generator
        .try_load_record(record(GENERATOR_FILE, take(GENERATOR_FILE)?)?)
        .with_context(|| mismatch(GENERATOR_FILE))?;
    let discriminator = fresh
        .discriminator
        .try_load_record(record(DISCRIMINATOR_FILE, take(DISCRIMINATOR_FILE)?)?)
        .with_context(|| mismatch(DISCRIMINATOR_FILE))?;
    let optim_g = fresh
        .optim_g
        .from_bytes(take(OPTIM_G_FILE)?)
        .with_context(|| format!("{}: unreadable", checkpoint.join(OPTIM_G_FILE).display()))?;
    let optim_d = fresh
        .optim_d
        .from_bytes(take(OPTIM_D_FILE)?)
        .with_context(|| format!("{}: unreadable", checkpoint.join(OPTIM_D_FILE).display()))?;
    let gan = GanState {
        generator,
        discriminator,
        optim_g,
        optim_d,
    };
    Ok((gan, position))
}
