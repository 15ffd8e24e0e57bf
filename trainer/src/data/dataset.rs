//! An in-memory image dataset: `u8` pixels, labels and class names.

use super::catalog::{DatasetName, IdxFile};
use super::error::DataError;
use super::{celeba, cifar, folder, idx, lfw, resize, svhn};
use std::path::{Path, PathBuf};

/// Which part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// Images as `u8` (`[n, c, h, w]` row-major) with one label each. Kept as bytes, a quarter
/// of the memory of `f32`; [`super::Batcher`] normalises a batch at a time.
#[derive(Debug, Clone)]
pub struct ImageDataset {
    pub name: String,
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
    /// `[channels, height, width]`.
    pub shape: [usize; 3],
    pub class_names: Vec<String>,
}

impl ImageDataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// All but the first `n` images (those a run with `limit = n` never saw).
    pub fn skip(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.pixels.drain(..n * self.image_len());
        self.labels.drain(..n);
        self
    }

    /// The first `n` images only (quick runs and tests).
    pub fn truncate(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.pixels.truncate(n * self.image_len());
        self.labels.truncate(n);
        self
    }

    /// Load any dataset from its `folder` (usually `data_dir/<name>`) at `shape`: images are
    /// resized and converted between grey and RGB as needed. `limit` keeps the first N
    /// (image folders: N spread over all classes).
    pub fn load(
        name: DatasetName,
        folder: &Path,
        split: Split,
        shape: [usize; 3],
        limit: Option<usize>,
    ) -> Result<Self, DataError> {
        let data_dir = folder.parent().unwrap_or(Path::new("."));
        let hint = name.how_to_get(data_dir);
        let dataset = match name {
            DatasetName::Mnist | DatasetName::FashionMnist => {
                Self::load_idx_from(name, folder, split, &hint)?
            }
            DatasetName::Lfw => lfw::load(folder, &hint)?,
            DatasetName::Cifar10 => cifar::load(folder, split, limit, &hint)?,
            DatasetName::Svhn => svhn::load(folder, split, limit, &hint)?,
            DatasetName::Celeba => celeba::load(folder, split, shape, limit, &hint)?,
            DatasetName::ImageFolder => folder::load(folder, shape, limit, &hint)?,
        };
        let dataset = match limit {
            Some(n) => dataset.truncate(n),
            None => dataset,
        };
        Ok(dataset.fitted(shape))
    }

    /// Every image resized and channel-converted to `shape`.
    pub fn fitted(self, shape: [usize; 3]) -> Self {
        if self.shape == shape {
            return self;
        }
        let pixels = self
            .pixels
            .chunks_exact(self.image_len())
            .flat_map(|image| resize::fit(image, self.shape, shape))
            .collect();
        Self {
            pixels,
            shape,
            ..self
        }
    }

    /// Load MNIST or Fashion-MNIST from `data_dir/<name>/`, raw or `.gz` files.
    pub fn load_idx(name: DatasetName, data_dir: &Path, split: Split) -> Result<Self, DataError> {
        Self::load_idx_from(name, &name.dir(data_dir), split, &name.how_to_get(data_dir))
    }

    fn load_idx_from(
        name: DatasetName,
        dir: &Path,
        split: Split,
        hint: &str,
    ) -> Result<Self, DataError> {
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
        Ok(Self {
            name: name.to_string(),
            pixels: images.data,
            labels: labels.data,
            shape: [c, h, w],
            class_names: classes,
        })
    }
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
            reason: format!("corrupt gzip stream ({source})"),
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
