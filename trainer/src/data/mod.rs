//! Datasets in their standard files, their download, and batching.
//!
//! - [`idx`]: the IDX format of MNIST and Fashion-MNIST (raw or gzipped), parsed defensively.
//! - [`catalog`]: which datasets gantry knows, their files, checksums and mirrors.
//! - [`dataset`]: an in-memory image dataset (`u8` pixels, labels, class names).
//! - [`fetch`]: resumable, checksummed download of a dataset's files.
//! - [`batch`]: turning a shuffled index list into `[-1, 1]` image tensors.

pub mod batch;
pub mod catalog;
pub mod dataset;
pub mod error;
pub mod fetch;
pub mod idx;

pub use batch::Batcher;
pub use catalog::DatasetName;
pub use dataset::{ImageDataset, Split};
pub use error::DataError;
