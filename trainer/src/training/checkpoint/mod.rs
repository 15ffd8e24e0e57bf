//! Checkpoints that resume a run exactly, written so that a crash never costs a good one.
//!
//! A checkpoint is a folder `RUN_DIR/checkpoints/step-NNNNNNNN/` holding both networks and
//! both optimiser states (burnpack files) and `state.json`: where the run is, its random
//! streams, and the SHA-256 of every file. It is written under a temporary name and renamed
//! into place, so a folder named `step-*` is always complete; a truncated or altered file is
//! caught by its checksum before anything is loaded, and `state.json` carries the SHA-256
//! of its own content.
//!
//! - [`verify`]: reading a checkpoint back only once its checksums hold.
//! - [`choose`]: which checkpoint a command uses (the newest sound one, or a named one).

mod choose;
mod verify;

pub use choose::{
    choose, list, named, newest_at_most, remove_leftovers, resolve, resolve_for, step_folders,
    supersede_newer,
};
pub use verify::{Need, Verified, read_state, sealed_json, verify};

use super::config::TrainingConfig;
use super::step::GanState;
use crate::fs_atomic;
use crate::model::Generator;
use anyhow::{Context, bail};
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use verify::sha256;

/// 2: `state.json` holds its own SHA-256. Format 1 checkpoints are still read.
const FORMAT: u32 = 2;
const STATE_FILE: &str = "state.json";
const GENERATOR_FILE: &str = "generator.bpk";
const DISCRIMINATOR_FILE: &str = "discriminator.bpk";
const OPTIM_G_FILE: &str = "optim_g.bpk";
const OPTIM_D_FILE: &str = "optim_d.bpk";
/// The generator's moving average, in runs with `ema_decay`.
const GENERATOR_EMA_FILE: &str = "generator_ema.bpk";
/// Every file a checkpoint may hold beside `state.json`.
const FILES: [&str; 5] = [
    GENERATOR_FILE,
    DISCRIMINATOR_FILE,
    OPTIM_G_FILE,
    OPTIM_D_FILE,
    GENERATOR_EMA_FILE,
];

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
    /// SHA-256 of this file's own text written with this field empty (format 2).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state_sha256: String,
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
    let written = write_folder(&tmp_path, config, state, position).and_then(|()| {
        if final_path.exists() {
            // Same step written again (a resumed run stopping where it started): replace it.
            fs::remove_dir_all(&final_path)?;
        }
        fs::rename(&tmp_path, &final_path).with_context(|| {
            format!(
                "{}: cannot move checkpoint into place",
                final_path.display()
            )
        })
    });
    if let Err(error) = written {
        // A partial checkpoint is worth nothing and may hold the disk full.
        fs::remove_dir_all(&tmp_path).ok();
        return Err(error);
    }
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

/// The four files and `state.json` of a checkpoint, into the (temporary) folder `tmp`.
fn write_folder(
    tmp: &Path,
    config: &TrainingConfig,
    state: &GanState,
    position: Position,
) -> anyhow::Result<()> {
    // Recorded through `valid()`: burn's `RunningState` (BatchNorm statistics) holds its newest
    // update aside until the next read, and a plain `into_record` would save the value from
    // one step earlier; `valid()` folds the pending update in first. (Flags such as BatchNorm's
    // training switch are not part of records, so the validation snapshot records the same
    // tensors the training module holds.)
    let mut files: Vec<(&str, Bytes)> = vec![
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
    if let Some(ema) = &state.generator_ema {
        files.push((GENERATOR_EMA_FILE, ema.clone().into_record().into_bytes()?));
    }
    let needed: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    let mut checksums = BTreeMap::new();
    for (file, bytes) in &files {
        let path = tmp.join(file);
        fs::write(&path, &bytes[..]).map_err(|e| fs_atomic::write_error(&path, e, needed))?;
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
        state_sha256: String::new(),
    };
    let path = tmp.join(STATE_FILE);
    fs::write(&path, sealed_json(&meta)?).map_err(|e| fs_atomic::write_error(&path, e, needed))?;
    sync_dir(tmp);
    Ok(())
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

/// The run directory a checkpoint folder belongs to.
pub fn run_dir_of(checkpoint: &Path) -> Option<PathBuf> {
    checkpoint.parent()?.parent().map(Path::to_path_buf)
}

fn same_model(
    checkpoint: &Path,
    state: &CheckpointState,
    config: &TrainingConfig,
) -> anyhow::Result<()> {
    if state.model != config.model.name() {
        bail!(
            "{}: checkpoint of a {} model, but the config describes {}",
            checkpoint.display(),
            state.model,
            config.model.name()
        );
    }
    Ok(())
}

/// Load a checkpoint into fresh networks and optimisers built from `config`.
pub fn load(
    checkpoint: &Path,
    config: &TrainingConfig,
    device: &Device,
) -> anyhow::Result<(GanState, Position)> {
    load_verified(verify(checkpoint, Need::Everything)?, config, device)
}

/// [`load`] of a checkpoint already verified for [`Need::Everything`].
pub fn load_verified(
    verified: Verified,
    config: &TrainingConfig,
    device: &Device,
) -> anyhow::Result<(GanState, Position)> {
    let Verified {
        path: checkpoint,
        state,
        mut files,
    } = verified;
    same_model(&checkpoint, &state, config)?;
    let fresh = GanState::init(config, device);
    let generator = load_network(&checkpoint, &mut files, GENERATOR_FILE, fresh.generator)?;
    let discriminator = load_network(
        &checkpoint,
        &mut files,
        DISCRIMINATOR_FILE,
        fresh.discriminator,
    )?;
    let optimiser = |files: &mut BTreeMap<String, Vec<u8>>, file: &str| {
        take(&checkpoint, files, file).map(|bytes| (bytes, checkpoint.join(file)))
    };
    let (bytes, path) = optimiser(&mut files, OPTIM_G_FILE)?;
    let optim_g = decode(&path, || fresh.optim_g.from_bytes(bytes))?;
    let (bytes, path) = optimiser(&mut files, OPTIM_D_FILE)?;
    let optim_d = decode(&path, || fresh.optim_d.from_bytes(bytes))?;
    // A run given `ema_decay` on resume starts its average from the generator it resumes.
    let generator_ema = match fresh.generator_ema {
        Some(ema) if files.contains_key(GENERATOR_EMA_FILE) => Some(load_network(
            &checkpoint,
            &mut files,
            GENERATOR_EMA_FILE,
            ema,
        )?),
        Some(_) => Some(generator.valid()),
        None => None,
    };
    let gan = GanState {
        generator,
        discriminator,
        optim_g,
        optim_d,
        generator_ema,
    };
    Ok((gan, state.position))
}

/// Which weights of a checkpoint a generator holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratorWeights {
    /// The trained generator's own.
    Trained,
    /// Their exponential moving average (`ema_decay`).
    MovingAverage,
}

/// Only the generator of a checkpoint verified for [`Need::Generator`] (what `sample`,
/// `eval` and `export` need), in training form: its moving average when the checkpoint
/// has one, else the trained weights. The other files are neither read nor required to
/// be sound.
pub fn load_generator(
    verified: Verified,
    config: &TrainingConfig,
    device: &Device,
) -> anyhow::Result<(Generator, Position, GeneratorWeights)> {
    let Verified {
        path: checkpoint,
        state,
        mut files,
    } = verified;
    same_model(&checkpoint, &state, config)?;
    let (fresh, _) = config.model.init(device);
    let (file, weights) = if files.contains_key(GENERATOR_EMA_FILE) {
        (GENERATOR_EMA_FILE, GeneratorWeights::MovingAverage)
    } else {
        (GENERATOR_FILE, GeneratorWeights::Trained)
    };
    let generator = load_network(&checkpoint, &mut files, file, fresh)?;
    Ok((generator, state.position, weights))
}

/// A verified file's bytes, taken out of the checkpoint's files.
fn take(
    checkpoint: &Path,
    files: &mut BTreeMap<String, Vec<u8>>,
    file: &str,
) -> anyhow::Result<Bytes> {
    let bytes = files
        .remove(file)
        .with_context(|| format!("{}: checkpoint lists no {file}", checkpoint.display()))?;
    Ok(Bytes::from_bytes_vec(bytes))
}

/// A record decoded by burn, its errors and its panics alike turned into "unreadable": a
/// checkpoint whose checksums were recomputed over damaged bytes reaches burn's decoders,
/// and burn-optim panics on some ("Optimizer record tensors should carry a parameter id"),
/// found by `trainer/tests/fuzz.rs`.
fn decode<T, E: std::fmt::Display>(
    path: &Path,
    read: impl FnOnce() -> Result<T, E>,
) -> anyhow::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => bail!("{}: unreadable ({e})", path.display()),
        Err(_) => bail!("{}: unreadable (its records are damaged)", path.display()),
    }
}

/// `fresh` with the record of `file` loaded into it: unreadable bytes and a record of
/// another architecture are told apart.
fn load_network<M: Module>(
    checkpoint: &Path,
    files: &mut BTreeMap<String, Vec<u8>>,
    file: &str,
    fresh: M,
) -> anyhow::Result<M> {
    let path = checkpoint.join(file);
    let bytes = take(checkpoint, files, file)?;
    let record = decode(&path, || ModuleRecord::from_bytes(bytes))?;
    fresh.try_load_record(record).with_context(|| {
        format!(
            "{}: does not fit the model in the run's config.json (different architecture?)",
            path.display()
        )
    })
}
