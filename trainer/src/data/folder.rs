//! Any folder of images. With sub-folders, each is a class (sorted by name, as
//! torchvision's `ImageFolder`); without, every image is of one class. Image folders have
//! no test split: both splits are the whole folder.

use super::catalog::DatasetName;
use super::decode;
use super::error::DataError;
use super::images::{ImageDataset, ImageFit, LoadRequest};
use std::path::{Path, PathBuf};

pub fn load(request: &LoadRequest) -> Result<ImageDataset, DataError> {
    let LoadRequest {
        folder,
        shape,
        limit,
        hint,
        fit,
        ..
    } = *request;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    if !folder.is_dir() {
        return Err(DataError::Missing {
            path: folder.to_path_buf(),
            hint: hint.to_string(),
        });
    }
    let mut class_dirs: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(io(folder))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    class_dirs.sort();
    let classes: Vec<(String, PathBuf)> = if class_dirs.is_empty() {
        vec![(
            DatasetName::ImageFolder.class_names()[0].clone(),
            folder.to_path_buf(),
        )]
    } else {
        class_dirs
            .into_iter()
            .map(|d| {
                (
                    d.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .to_string(),
                    d,
                )
            })
            .collect()
    };
    if classes.len() > 256 {
        return Err(DataError::Malformed {
            path: folder.to_path_buf(),
            reason: format!("{} class folders; at most 256 are supported", classes.len()),
            hint: hint.to_string(),
        });
    }
    let mut paths = Vec::new();
    let mut labels = Vec::new();
    for (label, (_, dir)) in classes.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && decode::is_image(p))
            .collect();
        files.sort();
        labels.extend(std::iter::repeat_n(label as u8, files.len()));
        paths.extend(files);
    }
    if paths.is_empty() {
        return Err(DataError::Malformed {
            path: folder.to_path_buf(),
            reason: format!("no images ({}) found", decode::EXTENSIONS.join(", ")),
            hint: hint.to_string(),
        });
    }
    if let Some(n) = limit {
        // Evenly spaced images keep every class represented.
        let stride = (paths.len() / n.max(1)).max(1);
        paths = paths.into_iter().step_by(stride).take(n).collect();
        labels = labels.into_iter().step_by(stride).take(n).collect();
    }
    let crop = fit == Some(ImageFit::Crop);
    let pixels = decode::decode_all(&paths, shape, crop, hint)?;
    Ok(ImageDataset {
        name: DatasetName::ImageFolder.to_string(),
        pixels,
        labels,
        shape,
        class_names: classes.into_iter().map(|(name, _)| name).collect(),
    })
}
