//! Datasets in their standard files, their download, and batching.
//!
//! - [`idx`]: the IDX format of MNIST and Fashion-MNIST (raw or gzipped), parsed defensively.
//! - [`lfw`], [`cifar`], [`svhn`], [`celeba`], [`folder`]: the other datasets' loaders, on
//!   [`npy`] (NumPy), [`mat`] (MATLAB v5) and [`decode`] (image files, in parallel).
//! - [`resize`]: fitting images to a model's shape; [`augment`]: flips, rotations, shifts, zooms.
//! - [`catalog`]: which datasets gantry knows, their files, checksums and mirrors.
//! - [`images`]: an in-memory image dataset (`u8` pixels, labels, class names), and what a
//!   loader is asked for; [`loaders`]: the table of every dataset's loader ([`mnist`] on
//!   [`idx`], the others below).
//! - [`fetch`]: resumable, checksummed download of a dataset's files.
//! - [`batch`]: turning a shuffled index list into `[-1, 1]` image tensors.

pub mod augment;
pub mod batch;
pub mod catalog;
pub mod celeba;
pub mod cifar;
pub mod decode;
pub mod error;
pub mod fetch;
pub mod folder;
pub mod idx;
pub mod images;
pub mod lfw;
pub mod loaders;
pub mod mat;
pub mod mnist;
pub mod npy;
pub mod resize;
pub mod svhn;

pub use augment::Augment;
pub use batch::Batcher;
pub use catalog::DatasetName;
pub use error::DataError;
pub use images::{ImageDataset, ImageFit, LoadRequest, Split};
