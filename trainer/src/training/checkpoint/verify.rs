//! Reading a checkpoint back only after proving it is the one that was written: the
//! SHA-256 of `state.json` itself (format 2), then of each file a reader needs.

use super::{CheckpointState, FILES, FORMAT, GENERATOR_EMA_FILE, GENERATOR_FILE, STATE_FILE};
use crate::data::fetch::hex;
use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// What a reader of a checkpoint needs sound: a resumed run needs every file, `sample`
/// and `export` only the generator and its moving average (a bad optimiser file must not
/// stop them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Everything,
    Generator,
}

impl Need {
    fn wants(self, file: &str) -> bool {
        self == Need::Everything || file == GENERATOR_FILE || file == GENERATOR_EMA_FILE
    }
}

/// A checkpoint whose checksums held, with the files its reader needs already in memory:
/// choosing a checkpoint and loading it read each file once.
#[derive(Debug)]
pub struct Verified {
    pub path: PathBuf,
    pub state: CheckpointState,
    pub(super) files: BTreeMap<String, Vec<u8>>,
}

/// [`read_state`], kept with its folder for loading.
pub fn verify(checkpoint: &Path, need: Need) -> anyhow::Result<Verified> {
    let (state, files) = read_state(checkpoint, need)?;
    Ok(Verified {
        path: checkpoint.to_path_buf(),
        state,
        files,
    })
}

pub(super) fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `state.json`'s text with its own checksum filled in: the SHA-256 of the same state
/// written with an empty checksum.
pub fn sealed_json(state: &CheckpointState) -> anyhow::Result<Vec<u8>> {
    let mut state = state.clone();
    state.state_sha256 = String::new();
    let unsealed = serde_json::to_vec_pretty(&state)?;
    state.state_sha256 = sha256(&unsealed);
    Ok(serde_json::to_vec_pretty(&state)?)
}

/// Read `state.json`, prove it unaltered (format 2; format 1 had no such checksum), then
/// read and prove the files `need` asks for. The error names the file at fault.
pub fn read_state(
    checkpoint: &Path,
    need: Need,
) -> anyhow::Result<(CheckpointState, BTreeMap<String, Vec<u8>>)> {
    let state_path = checkpoint.join(STATE_FILE);
    let text =
        fs::read(&state_path).with_context(|| format!("{}: cannot read", state_path.display()))?;
    let state: CheckpointState = serde_json::from_slice(&text)
        .with_context(|| format!("{}: not a gantry checkpoint state", state_path.display()))?;
    if !(1..=FORMAT).contains(&state.format) {
        bail!(
            "{}: checkpoint format {} (this gantry reads 1 to {FORMAT})",
            state_path.display(),
            state.format
        );
    }
    if state.format >= 2 && sealed_json(&state)? != text {
        bail!(
            "{}: altered or corrupt (its content does not match the SHA-256 {} it was written with)",
            state_path.display(),
            state.state_sha256
        );
    }
    // The names come from the file: only a checkpoint's own are ever joined to its path.
    if let Some(stranger) = state.files.keys().find(|f| !FILES.contains(&f.as_str())) {
        bail!(
            "{}: lists {stranger:?}, which is not a checkpoint file ({})",
            state_path.display(),
            FILES.join(", ")
        );
    }
    let mut contents = BTreeMap::new();
    for (file, expected) in state.files.iter().filter(|(f, _)| need.wants(f)) {
        let path = checkpoint.join(file);
        let bytes = fs::read(&path)
            .with_context(|| format!("{}: missing from the checkpoint", path.display()))?;
        let actual = sha256(&bytes);
        if &actual != expected {
            bail!(
                "{}: corrupt or truncated ({} bytes, SHA-256 {actual}, expected {expected})",
                path.display(),
                bytes.len(),
            );
        }
        contents.insert(file.clone(), bytes);
    }
    Ok((state, contents))
}
