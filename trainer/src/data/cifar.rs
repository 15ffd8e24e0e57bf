//! CIFAR-10's binary batches (`cifar-10-binary.tar.gz`): records of one label byte and
//! 3,072 pixel bytes (the red plane, then green, then blue; rows top to bottom).

use super::catalog::DatasetName;
use super::error::DataError;
use super::images::{ImageDataset, LoadRequest, Split};
use std::path::{Path, PathBuf};

const RECORD: usize = 1 + 3 * 32 * 32;

/// The folder `cifar-10-binary.tar.gz` unpacks to.
pub const FOLDER: &str = "cifar-10-batches-bin";

fn files(split: Split) -> Vec<String> {
    match split {
        Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        Split::Test => vec!["test_batch.bin".to_string()],
    }
}

/// The batches live in `cifar-10-batches-bin/` (as the archive unpacks) or directly in the folder.
fn batch_dir(folder: &Path) -> PathBuf {
    let nested = folder.join(FOLDER);
    if nested.is_dir() {
        nested
    } else {
        folder.to_path_buf()
    }
}

pub fn load(request: &LoadRequest) -> Result<ImageDataset, DataError> {
    let LoadRequest {
        folder,
        split,
        limit,
        hint,
        ..
    } = *request;
    let dir = batch_dir(folder);
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for name in files(split) {
        if limit.is_some_and(|n| labels.len() >= n) {
            break;
        }
        let path = dir.join(&name);
        let bytes = DataError::read(&path, hint)?;
        let malformed = |reason: String| DataError::Malformed {
            path: path.clone(),
            reason,
            hint: hint.to_string(),
        };
        if bytes.is_empty() || bytes.len() % RECORD != 0 {
            return Err(malformed(format!(
                "{} bytes is not a whole number of {RECORD}-byte records (1 label + 3072 pixels)",
                bytes.len()
            )));
        }
        for (i, record) in bytes.chunks_exact(RECORD).enumerate() {
            if record[0] >= 10 {
                return Err(malformed(format!(
                    "record {i} has label {}, expected 0..10",
                    record[0]
                )));
            }
            labels.push(record[0]);
            pixels.extend_from_slice(&record[1..]);
        }
    }
    let dataset = ImageDataset {
        name: DatasetName::Cifar10.to_string(),
        pixels,
        labels,
        shape: DatasetName::Cifar10.image_shape(),
        class_names: DatasetName::Cifar10.class_names(),
    };
    Ok(match limit {
        Some(n) => dataset.truncate(n),
        None => dataset,
    })
}
