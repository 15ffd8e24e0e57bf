//! Errors about data files: each names the file, what was wrong and how to get a good one.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: file not found.\n  {hint}")]
    Missing { path: PathBuf, hint: String },

    #[error("{path}: {reason}.\n  {hint}")]
    Malformed {
        path: PathBuf,
        reason: String,
        hint: String,
    },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    NotDownloadable(String),

    #[error("download of {url} failed: {reason}")]
    Download { url: String, reason: String },
}

impl DataError {
    /// The bytes of a dataset file; a missing one is [`DataError::Missing`] with `hint`.
    pub fn read(path: &Path, hint: &str) -> Result<Vec<u8>, DataError> {
        std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => DataError::Missing {
                path: path.to_path_buf(),
                hint: hint.to_string(),
            },
            _ => DataError::Io {
                path: path.to_path_buf(),
                source,
            },
        })
    }
}
