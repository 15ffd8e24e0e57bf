//! Loaders on the real MNIST / Fashion-MNIST files, and on broken ones.

mod common;

use flate2::Compression;
use flate2::write::GzEncoder;
use gantry_trainer::data::idx;
use gantry_trainer::data::{DataError, DatasetName, ImageDataset, Split};
use std::io::Write;
use std::path::Path;

#[test]
fn real_mnist_loads_with_the_official_sizes() {
    let data = common::data_dir();
    let train = ImageDataset::load_idx(DatasetName::Mnist, &data, Split::Train).unwrap();
    let test = ImageDataset::load_idx(DatasetName::Mnist, &data, Split::Test).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(train.shape, [1, 28, 28]);
    // Every digit is present, roughly a tenth each.
    for class in 0..10u8 {
        let count = train.labels.iter().filter(|&&l| l == class).count();
        assert!((5_000..7_000).contains(&count), "class {class}: {count}");
    }
    // Real digits: dark background, bright strokes.
    let mean = train.pixels.iter().map(|&p| p as f64).sum::<f64>() / train.pixels.len() as f64;
    assert!((30.0..40.0).contains(&mean), "mean pixel {mean}");
}

#[test]
fn real_fashion_mnist_loads_from_gz() {
    let data = common::data_dir();
    let test = ImageDataset::load_idx(DatasetName::FashionMnist, &data, Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    assert_eq!(test.class_names[9], "Ankle boot");
}

/// A data dir with a 3-image dataset whose files we can break one at a time.
fn small_dataset(dir: &Path, gz: bool) {
    let mnist = dir.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    let images: Vec<u8> = (0..3 * 28 * 28).map(|i| (i % 256) as u8).collect();
    let files = [
        (
            "train-images-idx3-ubyte",
            idx::encode(&[3, 28, 28], &images),
        ),
        ("train-labels-idx1-ubyte", idx::encode(&[3], &[1, 2, 3])),
    ];
    for (name, bytes) in files {
        if gz {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(&bytes).unwrap();
            std::fs::write(mnist.join(format!("{name}.gz")), encoder.finish().unwrap()).unwrap();
        } else {
            std::fs::write(mnist.join(name), bytes).unwrap();
        }
    }
}

fn load_err(dir: &Path) -> String {
    let err = ImageDataset::load_idx(DatasetName::Mnist, dir, Split::Train).unwrap_err();
    err.to_string()
}

#[test]
fn raw_and_gz_files_load_the_same() {
    let raw = tempfile::tempdir().unwrap();
    let gz = tempfile::tempdir().unwrap();
    small_dataset(raw.path(), false);
    small_dataset(gz.path(), true);
    let a = ImageDataset::load_idx(DatasetName::Mnist, raw.path(), Split::Train).unwrap();
    let b = ImageDataset::load_idx(DatasetName::Mnist, gz.path(), Split::Train).unwrap();
    assert_eq!(a.pixels, b.pixels);
    assert_eq!(a.labels, vec![1, 2, 3]);
}

#[test]
fn a_missing_file_names_it_and_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = ImageDataset::load_idx(DatasetName::Mnist, dir.path(), Split::Train).unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }));
    let text = err.to_string();
    assert!(text.contains("train-images-idx3-ubyte"), "{text}");
    assert!(text.contains("gantry data fetch mnist"), "{text}");
    assert!(text.contains("fetch-data-offline.sh"), "{text}");
}

#[test]
fn a_truncated_file_is_named_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), false);
    let path = dir.path().join("mnist/train-images-idx3-ubyte");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let text = load_err(dir.path());
    assert!(text.contains("train-images-idx3-ubyte"), "{text}");
    assert!(text.contains("truncated"), "{text}");
}

#[test]
fn a_wrong_magic_number_is_named_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), false);
    let path = dir.path().join("mnist/train-labels-idx1-ubyte");
    std::fs::write(&path, b"<html>404 Not Found</html>").unwrap();
    let text = load_err(dir.path());
    assert!(text.contains("train-labels-idx1-ubyte"), "{text}");
    assert!(text.contains("wrong magic number"), "{text}");
}

#[test]
fn a_corrupt_gzip_is_named_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), true);
    let path = dir.path().join("mnist/train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    let text = load_err(dir.path());
    assert!(text.contains("train-images-idx3-ubyte.gz"), "{text}");
    assert!(text.contains("gzip"), "{text}");
}

#[test]
fn labels_that_do_not_match_the_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), false);
    let path = dir.path().join("mnist/train-labels-idx1-ubyte");
    std::fs::write(&path, idx::encode(&[2], &[1, 2])).unwrap();
    assert!(load_err(dir.path()).contains("2 labels for 3 images"));
    std::fs::write(&path, idx::encode(&[3], &[1, 2, 10])).unwrap();
    assert!(load_err(dir.path()).contains("label 10 out of range"));
}
