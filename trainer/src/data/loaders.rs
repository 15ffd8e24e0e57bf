//! Every dataset's loader, in one table: [`ImageDataset::load`] looks the dataset up here
//! and fits what the loader read to the model's shape.

use super::catalog::DatasetName;
use super::error::DataError;
use super::images::{ImageDataset, ImageFit, LoadRequest, Split};
use super::{celeba, cifar, folder, lfw, mnist, svhn};
use std::path::Path;

/// A dataset's loader.
pub type Loader = fn(&LoadRequest) -> Result<ImageDataset, DataError>;

/// The loader of each dataset.
pub const LOADERS: &[(DatasetName, Loader)] = &[
    (DatasetName::Mnist, mnist::load),
    (DatasetName::FashionMnist, mnist::load),
    (DatasetName::Lfw, lfw::load),
    (DatasetName::Cifar10, cifar::load),
    (DatasetName::Svhn, svhn::load),
    (DatasetName::Celeba, celeba::load),
    (DatasetName::ImageFolder, folder::load),
];

/// The loader of `name`.
pub fn loader(name: DatasetName) -> Loader {
    LOADERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, loader)| *loader)
        .expect("every dataset has a loader (tested)")
}

impl ImageDataset {
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
        Self::load_fitted(name, folder, split, shape, limit, None)
    }

    /// [`Self::load`], with photos of another aspect ratio made square by `fit` (`None`:
    /// the dataset's own way).
    pub fn load_fitted(
        name: DatasetName,
        folder: &Path,
        split: Split,
        shape: [usize; 3],
        limit: Option<usize>,
        fit: Option<ImageFit>,
    ) -> Result<Self, DataError> {
        let data_dir = folder.parent().unwrap_or(Path::new("."));
        let hint = name.how_to_get(data_dir);
        let request = LoadRequest {
            name,
            folder,
            split,
            shape,
            limit,
            hint: &hint,
            fit,
        };
        let dataset = loader(name)(&request)?;
        let dataset = match limit {
            Some(n) => dataset.truncate(n),
            None => dataset,
        };
        Ok(dataset.fitted(shape))
    }

    /// Load MNIST or Fashion-MNIST from `data_dir/<name>/`, raw or `.gz` files.
    pub fn load_idx(name: DatasetName, data_dir: &Path, split: Split) -> Result<Self, DataError> {
        mnist::load_idx(name, data_dir, split)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_dataset_has_one_loader() {
        for name in DatasetName::value_variants() {
            assert_eq!(
                LOADERS.iter().filter(|(n, _)| n == name).count(),
                1,
                "{name}"
            );
        }
    }
}
