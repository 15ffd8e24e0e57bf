//! Batches of `[-1, 1]` image tensors in a reproducible shuffled order.

use super::{Augment, ImageDataset};
use crate::latent::{self, Stream};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Cuts an epoch of a dataset into batches. The order of epoch `e` is a pure function of
/// `(seed, e)`, so a resumed run sees exactly the batches the uninterrupted run would.
/// The last incomplete batch is dropped: BatchNorm statistics of a tiny batch are noise.
#[derive(Debug, Clone)]
pub struct Batcher {
    pub batch_size: usize,
    pub seed: u64,
}

impl Batcher {
    pub fn new(batch_size: usize, seed: u64) -> Self {
        Self { batch_size, seed }
    }

    pub fn batches_per_epoch(&self, dataset: &ImageDataset) -> usize {
        dataset.len() / self.batch_size
    }

    /// The order of epoch `epoch`; batch `b` is `order[b * batch_size..(b + 1) * batch_size]`.
    pub fn epoch_order(&self, dataset: &ImageDataset, epoch: usize) -> Vec<usize> {
        latent::permutation(self.seed, Stream::Shuffle, epoch as u64, dataset.len())
    }

    /// The indices of batch `batch` in an epoch's `order`.
    pub fn batch<'a>(&self, order: &'a [usize], batch: usize) -> &'a [usize] {
        &order[batch * self.batch_size..(batch + 1) * self.batch_size]
    }

    /// [`Self::images`], each image transformed by `augment` (drawn per image and epoch).
    pub fn augmented_images(
        &self,
        dataset: &ImageDataset,
        indices: &[usize],
        augment: &Augment,
        epoch: usize,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        if augment.is_identity() {
            return Self::images(dataset, indices, device);
        }
        let shape = dataset.shape;
        let size = dataset.image_len();
        let mut values = Self::normalised(dataset, indices);
        for (image, &index) in values.chunks_exact_mut(size).zip(indices) {
            augment.apply(image, shape, self.seed, epoch, index);
        }
        Self::tensors(dataset, indices, values, device)
    }

    /// Images `[n, c, h, w]` scaled from `0..=255` to `[-1, 1]`, and their labels.
    pub fn images(
        dataset: &ImageDataset,
        indices: &[usize],
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        Self::tensors(dataset, indices, Self::normalised(dataset, indices), device)
    }

    fn normalised(dataset: &ImageDataset, indices: &[usize]) -> Vec<f32> {
        let mut values = Vec::with_capacity(indices.len() * dataset.image_len());
        for &i in indices {
            values.extend(dataset.image(i).iter().map(|&p| p as f32 / 127.5 - 1.0));
        }
        values
    }

    fn tensors(
        dataset: &ImageDataset,
        indices: &[usize],
        values: Vec<f32>,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        let [c, h, w] = dataset.shape;
        let labels: Vec<i64> = indices.iter().map(|&i| dataset.labels[i] as i64).collect();
        let images = Tensor::from_data(TensorData::new(values, [indices.len(), c, h, w]), device);
        let labels = Tensor::from_data(TensorData::new(labels, [indices.len()]), device);
        (images, labels)
    }
}
