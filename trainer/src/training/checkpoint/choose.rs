//! Which checkpoint a command uses: the newest sound one of a run (a damaged newer one is
//! reported and passed over), or the one the user names.

use super::verify::{Need, Verified, verify};
use super::{STATE_FILE, checkpoints_dir};
use anyhow::{Context, bail};
use std::fs;
use std::path::{Path, PathBuf};

/// The steps done of a folder the checkpoint writer named `step-NNNNNNNN`.
fn step_number(folder: &Path) -> Option<u64> {
    let digits = folder.file_name()?.to_str()?.strip_prefix("step-")?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())?
}

/// Folders the checkpoint writer names `step-NNNNNNNN`, oldest first, complete or not.
pub fn step_folders(run_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = checkpoints_dir(run_dir);
    if !dir.exists() {
        return Ok(vec![]);
    }
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && step_number(p).is_some())
        .collect();
    found.sort();
    Ok(found)
}

/// Complete checkpoints of a run (those with a `state.json`), oldest first.
pub fn list(run_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    Ok(step_folders(run_dir)?
        .into_iter()
        .filter(|p| p.join(STATE_FILE).exists())
        .collect())
}

/// The newest complete checkpoint of `run_dir` with at most `steps` steps done.
pub fn newest_at_most(run_dir: &Path, steps: u64) -> Option<PathBuf> {
    list(run_dir)
        .ok()?
        .into_iter()
        .rev()
        .find(|p| step_number(p).is_some_and(|n| n <= steps))
}

/// The checkpoint to use for `path`, verified: `path` itself when it is a checkpoint folder
/// (it must be sound: the user chose it), else the newest checkpoint of the run `path`
/// whose files `need` are sound. Each newer one passed over is reported on stderr with
/// what is wrong and which one is used instead.
pub fn choose(path: &Path, need: Need) -> anyhow::Result<Verified> {
    if path.join(STATE_FILE).exists() {
        return verify(path, need);
    }
    if !path.exists() {
        bail!("{}: no such run or checkpoint", path.display());
    }
    let mut passed_over = Vec::new();
    for folder in step_folders(path)?.iter().rev() {
        let verdict = if folder.join(STATE_FILE).exists() {
            verify(folder, need)
        } else {
            Err(anyhow::anyhow!(
                "{}: incomplete (no {STATE_FILE})",
                folder.display()
            ))
        };
        match verdict {
            Ok(verified) => {
                for why in &passed_over {
                    eprintln!("warning: {why:#}; using {} instead", folder.display());
                }
                return Ok(verified);
            }
            Err(why) => passed_over.push(why),
        }
    }
    match passed_over.first() {
        None => bail!(
            "{}: no checkpoint here (expected a run directory with checkpoints/step-*/ or a checkpoint folder with {STATE_FILE})",
            path.display()
        ),
        Some(newest) => bail!(
            "{}: no sound checkpoint: all {} are damaged; the newest: {newest:#}",
            path.display(),
            passed_over.len()
        ),
    }
}

/// The folder [`choose`] picks.
pub fn resolve_for(path: &Path, need: Need) -> anyhow::Result<PathBuf> {
    Ok(choose(path, need)?.path)
}

/// The newest sound checkpoint of a whole run, as a resumed run needs it.
pub fn resolve(path: &Path) -> anyhow::Result<PathBuf> {
    resolve_for(path, Need::Everything)
}

/// `name` (`step-00000120`, or a path) as a checkpoint of `run_dir`, verified for `need`.
pub fn named(run_dir: &Path, name: &str, need: Need) -> anyhow::Result<Verified> {
    let direct = Path::new(name);
    let folder = if direct.join(STATE_FILE).exists() {
        direct.to_path_buf()
    } else {
        checkpoints_dir(run_dir).join(name)
    };
    if !folder.join(STATE_FILE).exists() {
        let known: Vec<String> = list(run_dir)?
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        bail!(
            "{}: no such checkpoint (this run has: {})",
            folder.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    verify(&folder, need)
}

/// Resuming from `chosen` makes every newer step folder a future that will not happen:
/// each is renamed `superseded-step-N` (kept for inspection, never chosen again) so that
/// a later plain `--resume` cannot jump back to it. The renamed folders are returned.
pub fn supersede_newer(run_dir: &Path, chosen: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut moved = Vec::new();
    for folder in step_folders(run_dir)? {
        if folder.file_name() > chosen.file_name() {
            let name = folder.file_name().expect("step folder").to_string_lossy();
            let to = folder.with_file_name(format!("superseded-{name}"));
            if to.exists() {
                fs::remove_dir_all(&to)
                    .with_context(|| format!("{}: cannot replace", to.display()))?;
            }
            fs::rename(&folder, &to)
                .with_context(|| format!("{}: cannot set aside", folder.display()))?;
            moved.push(to);
        }
    }
    Ok(moved)
}

/// Remove what a killed writer left: hidden `.step-*.tmp-*` and `.best.*` folders. Called
/// when a run starts or resumes, when no writer of this run can be running. A kill between
/// the two renames of [`super::copy_as_best`] leaves the old best aside and none in place:
/// it is put back first.
pub fn remove_leftovers(run_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = checkpoints_dir(run_dir);
    let mut removed = Vec::new();
    if !dir.exists() {
        return Ok(removed);
    }
    let hidden = |prefix: &str| -> anyhow::Result<Vec<PathBuf>> {
        Ok(fs::read_dir(&dir)
            .with_context(|| format!("{}: cannot list", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
            })
            .collect())
    };
    let best = super::best_dir(run_dir);
    if !best.exists() {
        if let Some(old) = hidden(".best.old-")?.first() {
            fs::rename(old, &best)
                .with_context(|| format!("{}: cannot restore", best.display()))?;
        }
    }
    for path in hidden(".")? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !(name.contains(".tmp-") || name.starts_with(".best.")) {
            continue;
        }
        let gone = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        gone.with_context(|| format!("{}: cannot remove", path.display()))?;
        removed.push(path);
    }
    Ok(removed)
}
