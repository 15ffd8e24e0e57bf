//! An in-memory image dataset (`u8` pixels, labels and class names), and what a loader
//! is asked for. Every loader builds one of these; none knows the others (the table of
//! loaders is [`super::loaders`]).

use super::catalog::DatasetName;
use super::resize;
use std::path::Path;

/// What a dataset's loader is asked for.
#[derive(Debug, Clone, Copy)]
pub struct LoadRequest<'a> {
    pub name: DatasetName,
    /// The dataset's folder (usually `data_dir/<name>`).
    pub folder: &'a Path,
    pub split: Split,
    /// The model's image shape (loaders that decode files may decode straight to it).
    pub shape: [usize; 3],
    /// Keep the first N images (image folders: N spread over all classes).
    pub limit: Option<usize>,
    /// How to get the files, for error messages.
    pub hint: &'a str,
    /// How a decoded photo of another aspect ratio becomes the model's square; `None`:
    /// the dataset's own way (CelebA crops, an image folder squashes).
    pub fit: Option<ImageFit>,
}

/// How a loader makes a photo of another aspect ratio square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageFit {
    /// The largest centred square, then resized (DCGAN work on CelebA).
    Crop,
    /// The whole image resized to the square, stretched (`transforms.Resize((64, 64))`,
    /// as the CelebA seed does).
    Squash,
}

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
}
