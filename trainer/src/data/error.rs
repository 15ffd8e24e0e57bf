//! Errors about data files: each names the file, what was wrong and how to get a good one.

use std::path::PathBuf;

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
