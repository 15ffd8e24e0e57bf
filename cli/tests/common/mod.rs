//! Shared by the `gantry` command's integration tests.

use std::path::PathBuf;

/// The real datasets: `GANTRY_DATA_DIR`, or `data/` at the workspace root, where
/// `scripts/fetch-data-offline.sh` puts them.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("GANTRY_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"));
    assert!(
        dir.join("mnist").exists(),
        "run scripts/fetch-data-offline.sh {} first",
        dir.display()
    );
    dir
}
