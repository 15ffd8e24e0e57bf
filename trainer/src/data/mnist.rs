//! MNIST and Fashion-MNIST from their IDX files (raw or `.gz`).

use super::catalog::{DatasetName, IdxFile};
use super::error::DataError;
use super::idx;
use super::images::{ImageDataset, LoadRequest, Split};
use std::path::{Path, PathBuf};

pub fn load(request: &LoadRequest) -> Result<ImageDataset, DataError> {
    let LoadRequest {
        name,
        folder,
        split,
        hint,
        ..
    } = *request;
    load_from(name, folder, split, hint)
}

/// Load MNIST or Fashion-MNIST from `data_dir/<name>/`, raw or `.gz` files.
pub fn load_idx(
    name: DatasetName,
    data_dir: &Path,
    split: Split,
) -> Result<ImageDataset, DataError> {
    load_from(name, &name.dir(data_dir), split, &name.how_to_get(data_dir))
}

fn load_from(
    name: DatasetName,
    dir: &Path,
    split: Split,
    hint: &str,
) -> Result<ImageDataset, DataError> {
    let files = name.files().expect("an IDX dataset");
    let (images_file, labels_file) = match split {
        Split::Train => (files.train_images, files.train_labels),
        Split::Test => (files.test_images, files.test_labels),
    };
    let hint = hint.to_string();
    let (images_path, images) = read_idx(dir, images_file, &hint)?;
    let (labels_path, labels) = read_idx(dir, labels_file, &hint)?;

    let malformed = |path: &PathBuf, reason: String| DataError::Malformed {
        path: path.clone(),
        reason,
        hint: hint.clone(),
    };
    let [c, h, w] = name.image_shape();
    if images.dims.len() != 3 || images.dims[1] != h || images.dims[2] != w {
        return Err(malformed(
            &images_path,
            format!("image dimensions {:?}, expected [n, {h}, {w}]", images.dims),
        ));
    }
    if labels.dims.len() != 1 {
        return Err(malformed(
            &labels_path,
            format!("label dimensions {:?}, expected [n]", labels.dims),
        ));
    }
    if labels.dims[0] != images.dims[0] {
        return Err(malformed(
            &labels_path,
            format!(
                "{} labels for {} images in {}",
                labels.dims[0],
                images.dims[0],
                images_path.display()
            ),
        ));
    }
    let classes = name.class_names();
    if let Some(bad) = labels.data.iter().find(|&&l| l as usize >= classes.len()) {
        return Err(malformed(
            &labels_path,
            format!("label {bad} out of range 0..{}", classes.len()),
        ));
    }
    Ok(ImageDataset {
        name: name.to_string(),
        pixels: images.data,
        labels: labels.data,
        shape: [c, h, w],
        class_names: classes,
    })
}

/// Find `name` or `name.gz` in `dir` and parse it.
fn read_idx(dir: &Path, file: IdxFile, hint: &str) -> Result<(PathBuf, idx::IdxArray), DataError> {
    let raw = dir.join(file.name);
    let gz = dir.join(format!("{}.gz", file.name));
    let path = if raw.exists() {
        raw
    } else if gz.exists() {
        gz
    } else {
        return Err(DataError::Missing {
            path: raw,
            hint: format!("(nor {}). {hint}", gz.display()),
        });
    };
    let bytes = idx::read_maybe_gz(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::InvalidInput
        | std::io::ErrorKind::InvalidData
        | std::io::ErrorKind::UnexpectedEof => DataError::Malformed {
            path: path.clone(),
            reason: format!("gzip stream: {source}"),
            hint: hint.to_string(),
        },
        _ => DataError::Io {
            path: path.clone(),
            source,
        },
    })?;
    let array = idx::parse(&bytes).map_err(|reason| DataError::Malformed {
        path: path.clone(),
        reason,
        hint: hint.to_string(),
    })?;
    Ok((path, array))
}
