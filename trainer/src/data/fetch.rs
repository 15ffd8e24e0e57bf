//! Download of a dataset's official files: resumable, checksummed, with a progress bar.
//!
//! Each file goes to `<file>.gz.part` first; an interrupted download resumes from there with
//! an HTTP `Range` request. The finished file is checked against the SHA-256 of its
//! decompressed content before it is renamed into place, so the data directory never holds
//! a file that is partial or wrong.
//!
//! CIFAR-10 and SVHN publish no checksums of their own: their files are checked by loading
//! them (every record whole, every label in range) before they are put in place, and
//! CIFAR-10's archive is unpacked into a temporary folder first.

use super::catalog::{DatasetName, IdxFile};
use super::error::DataError;
use super::idx;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where to download from, and how loudly.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Base URLs tried in order; each file is `<base><name>.gz`. Empty: the dataset's mirrors.
    pub mirrors: Vec<String>,
    pub show_progress: bool,
}

/// Download every file of `name` missing from `data_dir/<name>/`; returns that folder.
pub fn fetch(
    name: DatasetName,
    data_dir: &Path,
    options: &FetchOptions,
) -> Result<PathBuf, DataError> {
    let dir = name.dir(data_dir);
    fs::create_dir_all(&dir).map_err(|source| DataError::Io {
        path: dir.clone(),
        source,
    })?;
    let mirrors: Vec<String> = if options.mirrors.is_empty() {
        name.mirrors().iter().map(|s| s.to_string()).collect()
    } else {
        options.mirrors.clone()
    };
    match name {
        DatasetName::Cifar10 => return fetch_cifar10(&dir, &mirrors, options.show_progress),
        DatasetName::Svhn => return fetch_svhn(&dir, &mirrors, options.show_progress),
        _ => {}
    }
    let Some(files) = name.files() else {
        return Err(DataError::NotDownloadable(format!(
            "gantry downloads MNIST, Fashion-MNIST, CIFAR-10 and SVHN; {name}: {}",
            name.how_to_get(data_dir)
        )));
    };
    for file in files.all() {
        let target = dir.join(format!("{}.gz", file.name));
        if target.exists() || dir.join(file.name).exists() {
            continue;
        }
        let mut last_error = None;
        for base in &mirrors {
            let url = format!("{base}{}.gz", file.name);
            match download_verified(&url, &target, file, options.show_progress) {
                Ok(()) => {
                    last_error = None;
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        if let Some(e) = last_error {
            return Err(e);
        }
    }
    Ok(dir)
}

fn download_verified(
    url: &str,
    target: &Path,
    file: IdxFile,
    show_progress: bool,
) -> Result<(), DataError> {
    let part = target.with_extension("gz.part");
    download_resumable(url, &part, show_progress)?;
    let io = |source| DataError::Io {
        path: part.clone(),
        source,
    };
    let content = idx::read_maybe_gz(&part).map_err(io)?;
    let digest = hex(&Sha256::digest(&content));
    if digest != file.sha256 {
        // A wrong file cannot be resumed into a right one: start over next time.
        fs::remove_file(&part).ok();
        return Err(DataError::Download {
            url: url.to_string(),
            reason: format!(
                "checksum mismatch for {}: content SHA-256 {digest}, expected {}",
                file.name, file.sha256
            ),
        });
    }
    fs::rename(&part, target).map_err(io)
}

/// Download `file` from the first mirror that serves it into `part` (resuming).
fn download_from_mirrors(
    mirrors: &[String],
    file: &str,
    part: &Path,
    show_progress: bool,
) -> Result<(), DataError> {
    let mut last_error = None;
    for base in mirrors {
        match download_resumable(&format!("{base}{file}"), part, show_progress) {
            Ok(()) => return Ok(()),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| DataError::NotDownloadable(format!("no mirror for {file}"))))
}

/// `cifar-10-binary.tar.gz`, unpacked to `dir/cifar-10-batches-bin/` once both splits load.
fn fetch_cifar10(
    dir: &Path,
    mirrors: &[String],
    show_progress: bool,
) -> Result<PathBuf, DataError> {
    const ARCHIVE: &str = "cifar-10-binary.tar.gz";
    let batches = dir.join(super::cifar::FOLDER);
    if batches.join("data_batch_1.bin").exists() {
        return Ok(dir.to_path_buf());
    }
    let part = dir.join(format!("{ARCHIVE}.part"));
    download_from_mirrors(mirrors, ARCHIVE, &part, show_progress)?;
    let unpacked = dir.join(format!("unpack.tmp-{}", std::process::id()));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let rejected = |reason: String| {
        // A wrong archive cannot be resumed into a right one: start over next time.
        fs::remove_file(&part).ok();
        fs::remove_dir_all(&unpacked).ok();
        DataError::Download {
            url: ARCHIVE.to_string(),
            reason,
        }
    };
    let archive = fs::File::open(&part).map_err(io(&part))?;
    tar::Archive::new(flate2::read::GzDecoder::new(archive))
        .unpack(&unpacked)
        .map_err(|e| rejected(format!("not a readable .tar.gz ({e})")))?;
    for split in [super::Split::Train, super::Split::Test] {
        let request = super::LoadRequest {
            name: super::DatasetName::Cifar10,
            folder: &unpacked,
            split,
            shape: super::DatasetName::Cifar10.image_shape(),
            limit: None,
            hint: "",
            fit: None,
        };
        super::cifar::load(&request)
            .map_err(|e| rejected(format!("the archive's batches do not load: {e}")))?;
    }
    fs::rename(unpacked.join(super::cifar::FOLDER), &batches).map_err(io(&batches))?;
    fs::remove_dir_all(&unpacked).ok();
    fs::remove_file(&part).ok();
    Ok(dir.to_path_buf())
}

/// `train_32x32.mat` and `test_32x32.mat`, each renamed into place once it parses.
fn fetch_svhn(dir: &Path, mirrors: &[String], show_progress: bool) -> Result<PathBuf, DataError> {
    for split in [super::Split::Train, super::Split::Test] {
        let file = super::svhn::file(split);
        let target = dir.join(file);
        if target.exists() {
            continue;
        }
        let part = dir.join(format!("{file}.part"));
        download_from_mirrors(mirrors, file, &part, show_progress)?;
        let bytes = fs::read(&part).map_err(|source| DataError::Io {
            path: part.clone(),
            source,
        })?;
        if let Err(reason) = super::svhn::parse(&bytes, None) {
            fs::remove_file(&part).ok();
            return Err(DataError::Download {
                url: file.to_string(),
                reason: format!("not an SVHN file: {reason}"),
            });
        }
        fs::rename(&part, &target).map_err(|source| DataError::Io {
            path: target.clone(),
            source,
        })?;
    }
    Ok(dir.to_path_buf())
}

/// Append the rest of `url` to `part`, resuming from its current length.
fn download_resumable(url: &str, part: &Path, show_progress: bool) -> Result<(), DataError> {
    let failed = |reason: String| DataError::Download {
        url: url.to_string(),
        reason,
    };
    let have = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut request = ureq::get(url);
    if have > 0 {
        request = request.set("Range", &format!("bytes={have}-"));
    }
    let response = match request.call() {
        Ok(r) => r,
        // The part file already holds everything.
        Err(ureq::Error::Status(416, _)) if have > 0 => return Ok(()),
        Err(e) => return Err(failed(e.to_string())),
    };
    // 206: the server resumes; 200: it sends the whole file again.
    let resumed = response.status() == 206;
    let start = if resumed { have } else { 0 };
    let total = response
        .header("Content-Length")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|len| len + start);
    let mut out = OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(part)
        .map_err(|e| failed(format!("{}: {e}", part.display())))?;

    let bar = if show_progress {
        let bar = ProgressBar::new(total.unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:32} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bar.set_message(
            part.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .replace(".part", ""),
        );
        bar.set_position(start);
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut reader = response.into_reader();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                // What arrived stays in the part file for the next attempt to resume from.
                out.sync_all().ok();
                let kept = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
                return Err(failed(format!(
                    "{e} ({kept} bytes kept in {}); run the command again to resume",
                    part.display()
                )));
            }
        };
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(|e| failed(format!("{}: {e}", part.display())))?;
        bar.inc(n as u64);
    }
    out.sync_all()
        .map_err(|e| failed(format!("{}: {e}", part.display())))?;
    bar.finish_and_clear();
    if let Some(total) = total {
        let got = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        if got != total {
            return Err(failed(format!(
                "connection closed after {got} of {total} bytes; run the command again to resume"
            )));
        }
    }
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
