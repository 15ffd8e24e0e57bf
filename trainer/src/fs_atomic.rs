//! Files written whole or not at all: the content goes to a temporary file beside the
//! target, which is then renamed over it (atomic within a filesystem). A crash, a full disk
//! or a failing encoder never leaves a half-written file where a good one was.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// A temporary name beside `path`, hidden and per process, keeping the extension (some
/// writers, like plotters, choose the format by it): `dir/.name.tmp-PID.ext`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}{ext}", std::process::id()))
}

/// Write `bytes` to `path` atomically, creating its folder if needed.
pub fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with(path, |tmp| write_plain(tmp, bytes))
}

/// Write `bytes` to `path` as it is (the `fill` of [`write_with`] for plain bytes).
pub fn write_plain(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// Let `fill` write the file at the temporary path it is given, then rename it to `path`;
/// if `fill` fails, the temporary file is removed and `path` is untouched.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create", parent.display()))?;
    }
    let tmp = temp_path(path);
    let result = fill(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
    });
    if result.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    result
}

/// The error of writing `path`, part of something of `needed` bytes. When the disk is full
/// it says so with the space the whole needs and the space left, so that a user knows how
/// much to free.
pub fn write_error(path: &Path, error: std::io::Error, needed: u64) -> anyhow::Error {
    let what = if error.kind() == std::io::ErrorKind::StorageFull {
        let free = path
            .parent()
            .and_then(free_bytes)
            .map(|b| format!(", {} free", megabytes(b)))
            .unwrap_or_default();
        format!(
            "{}: the disk is full ({error}): this needs {}{free}",
            path.display(),
            megabytes(needed)
        )
    } else {
        format!("{}: cannot write ({error})", path.display())
    };
    anyhow::Error::from(error).context(what)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Bytes free to an unprivileged writer on the filesystem holding `dir`.
#[cfg(unix)]
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a zeroed statvfs for the call to fill.
    let status = unsafe { libc::statvfs(path.as_ptr(), &mut stats) };
    (status == 0).then(|| stats.f_bavail as u64 * stats.f_frsize as u64)
}

#[cfg(not(unix))]
pub fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/grid.png");
        write(&path, b"first").unwrap();
        let err = write_with(&path, |tmp| {
            std::fs::write(tmp, b"half")?;
            anyhow::bail!("encoder failed")
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "encoder failed");
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["grid.png"]);
        assert!(temp_path(&path).to_string_lossy().ends_with(".png"));
    }
}
