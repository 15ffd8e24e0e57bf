//! The loaders of CIFAR-10, SVHN, CelebA, image folders and LFW, on files written here in
//! each dataset's exact upstream format (SVHN's `.mat` by scipy, as MATLAB files are read
//! everywhere), and on the real LFW crops where they are present.

mod common;

use gantry_trainer::data::{DatasetName, ImageDataset, ImageFit, Split};
use std::path::Path;

fn load(name: DatasetName, folder: &Path, split: Split, shape: [usize; 3]) -> ImageDataset {
    ImageDataset::load(name, folder, split, shape, None)
        .unwrap_or_else(|e| panic!("{name} in {}: {e}", folder.display()))
}

fn load_err(name: DatasetName, folder: &Path, split: Split) -> String {
    ImageDataset::load(name, folder, split, name.image_shape(), None)
        .unwrap_err()
        .to_string()
}

/// A CIFAR-10 record: label, then the red, green and blue planes.
fn cifar_record(label: u8, seed: u8) -> Vec<u8> {
    let mut record = vec![label];
    record.extend((0..3072).map(|i| (i as u8).wrapping_mul(seed).wrapping_add(label)));
    record
}

#[test]
fn cifar10_binary_batches_load_in_planar_order() {
    let dir = tempfile::tempdir().unwrap();
    let batches = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&batches).unwrap();
    for i in 1..=5u8 {
        let records = [cifar_record(i, 3), cifar_record(9 - i, 7)].concat();
        std::fs::write(batches.join(format!("data_batch_{i}.bin")), records).unwrap();
    }
    std::fs::write(batches.join("test_batch.bin"), cifar_record(0, 5)).unwrap();

    let train = load(DatasetName::Cifar10, dir.path(), Split::Train, [3, 32, 32]);
    assert_eq!(train.len(), 10);
    assert_eq!(train.labels, vec![1, 8, 2, 7, 3, 6, 4, 5, 5, 4]);
    assert_eq!(train.image(1), &cifar_record(8, 7)[1..]);
    assert_eq!(train.class_names[8], "ship");
    let test = load(DatasetName::Cifar10, dir.path(), Split::Test, [3, 64, 64]);
    assert_eq!(
        (test.len(), test.shape),
        (1, [3, 64, 64]),
        "resized 32 → 64 as the seed does"
    );

    std::fs::write(batches.join("test_batch.bin"), &cifar_record(0, 5)[..3000]).unwrap();
    let err = load_err(DatasetName::Cifar10, dir.path(), Split::Test);
    assert!(
        err.contains("test_batch.bin") && err.contains("3073-byte records"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let err = load_err(DatasetName::Cifar10, empty.path(), Split::Train);
    assert!(
        err.contains("data_batch_1.bin: file not found") && err.contains("cifar-10-binary.tar.gz"),
        "{err}"
    );
}

#[test]
fn svhn_mat_files_load_plain_and_compressed() {
    for compress in ["0", "1"] {
        let dir = tempfile::tempdir().unwrap();
        common::write_svhn_mat(&dir.path().join("train_32x32.mat"), compress == "1");
        let train = load(DatasetName::Svhn, dir.path(), Split::Train, [3, 32, 32]);
        assert_eq!(train.labels, vec![0, 3, 1], "label 10 is the digit 0");
        for (i, ch, row, col) in [(0, 0, 0, 0), (1, 2, 5, 9), (2, 1, 31, 30)] {
            let expected = ((row * 7 + col * 3 + ch * 50 + i) % 256) as u8;
            assert_eq!(
                train.image(i)[(ch * 32 + row) * 32 + col],
                expected,
                "compressed {compress}"
            );
        }
        let grey = load(DatasetName::Svhn, dir.path(), Split::Train, [1, 28, 28]);
        assert_eq!(grey.shape, [1, 28, 28]);

        let bytes = std::fs::read(dir.path().join("train_32x32.mat")).unwrap();
        std::fs::write(dir.path().join("test_32x32.mat"), &bytes[..bytes.len() / 2]).unwrap();
        let err = load_err(DatasetName::Svhn, dir.path(), Split::Test);
        assert!(err.contains("test_32x32.mat"), "{err}");
    }
}

/// The crafted-`.mat` panic: every structural byte of a real (scipy-written) file flipped
/// to three values, and every truncation, gives `Ok` or an error — never a panic.
#[test]
fn a_mutated_svhn_mat_file_never_panics() {
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train_32x32.mat");
        common::write_svhn_mat(&path, compress);
        let real = std::fs::read(&path).unwrap();
        let mut tried = 0;
        for at in 0..real.len().min(600) {
            for byte in [0x00, 0x80, 0xff] {
                let mut file = real.clone();
                file[at] = byte;
                let _ = gantry_trainer::data::svhn::parse(&file, None);
                tried += 1;
            }
        }
        for cut in (0..real.len()).step_by(7) {
            let _ = gantry_trainer::data::svhn::parse(&real[..cut], None);
            tried += 1;
        }
        assert!(tried > 1800, "{tried} files tried");
    }
}

fn write_portrait(path: &Path, top: [u8; 3], middle: [u8; 3]) {
    // CelebA's aligned size: 178 wide, 218 high. The top 20 rows fall outside the crop.
    let image = image::RgbImage::from_fn(178, 218, |_, y| {
        image::Rgb(if y < 20 { top } else { middle })
    });
    image.save(path).unwrap();
}

#[test]
fn celeba_is_split_by_its_partition_file_and_centre_cropped() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("img_align_celeba");
    std::fs::create_dir(&images).unwrap();
    for (i, colour) in [[200, 30, 30], [30, 200, 30], [30, 30, 200]]
        .into_iter()
        .enumerate()
    {
        write_portrait(
            &images.join(format!("{:06}.jpg", i + 1)),
            [255, 255, 255],
            colour,
        );
    }
    std::fs::write(
        dir.path().join("list_eval_partition.txt"),
        "000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n",
    )
    .unwrap();
    let train = load(DatasetName::Celeba, dir.path(), Split::Train, [3, 64, 64]);
    let test = load(DatasetName::Celeba, dir.path(), Split::Test, [3, 64, 64]);
    assert_eq!((train.len(), test.len()), (1, 1));
    // Centre-cropped: the white band at the top is gone, every pixel is the middle colour.
    let red = &train.image(0)[..64 * 64];
    assert!(red.iter().all(|&p| p > 170), "red plane {:?}", &red[..8]);
    let blue = &test.image(0)[2 * 64 * 64..];
    assert!(blue.iter().all(|&p| p > 170));
    // Squashed, as the CelebA seed resizes: the white bands stay, at the top and bottom.
    let squashed = ImageDataset::load_fitted(
        DatasetName::Celeba,
        dir.path(),
        Split::Train,
        [3, 64, 64],
        None,
        Some(ImageFit::Squash),
    )
    .unwrap();
    let (top, middle) = (
        &squashed.image(0)[64..128],
        &squashed.image(0)[32 * 64..33 * 64],
    );
    assert!(
        top.iter().all(|&p| p > 230) && middle.iter().all(|&p| p > 170),
        "top row {top:?}"
    );
    let green = &squashed.image(0)[64 * 64 + 64..64 * 64 + 128];
    assert!(
        green.iter().all(|&p| p > 230),
        "the top row is white: {green:?}"
    );

    std::fs::write(dir.path().join("list_eval_partition.txt"), "000001.jpg\n").unwrap();
    let err = load_err(DatasetName::Celeba, dir.path(), Split::Train);
    assert!(
        err.contains("list_eval_partition.txt") && err.contains("line 1"),
        "{err}"
    );
    std::fs::write(dir.path().join("list_eval_partition.txt"), "000009.jpg 0\n").unwrap();
    let err = load_err(DatasetName::Celeba, dir.path(), Split::Train);
    assert!(err.contains("000009.jpg"), "{err}");
}

#[test]
fn an_image_folder_has_one_class_per_sub_folder() {
    let dir = tempfile::tempdir().unwrap();
    for (class, size, value) in [("cats", 40, 50u8), ("dogs", 20, 220u8)] {
        std::fs::create_dir(dir.path().join(class)).unwrap();
        for i in 0..3 {
            let image = image::GrayImage::from_pixel(size, size + i, image::Luma([value]));
            image
                .save(dir.path().join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    std::fs::write(dir.path().join("cats/notes.txt"), "not an image").unwrap();
    let data = load(
        DatasetName::ImageFolder,
        dir.path(),
        Split::Train,
        [1, 28, 28],
    );
    assert_eq!(data.class_names, vec!["cats", "dogs"]);
    assert_eq!(data.labels, vec![0, 0, 0, 1, 1, 1]);
    assert!(data.image(0).iter().all(|&p| p == 50) && data.image(5).iter().all(|&p| p == 220));
    let rgb = load(
        DatasetName::ImageFolder,
        dir.path(),
        Split::Train,
        [3, 64, 64],
    );
    assert_eq!(rgb.image_len(), 3 * 64 * 64);

    std::fs::write(dir.path().join("dogs/broken.png"), b"\x89PNG not really").unwrap();
    let err = ImageDataset::load(
        DatasetName::ImageFolder,
        dir.path(),
        Split::Train,
        [1, 28, 28],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("broken.png") && err.contains("cannot decode"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let err = load_err(DatasetName::ImageFolder, empty.path(), Split::Train);
    assert!(err.contains("no images"), "{err}");
}

#[test]
fn the_real_lfw_crops_are_100_faces() {
    let folder = common::data_dir().join("lfw");
    let faces = load(DatasetName::Lfw, &folder, Split::Train, [1, 25, 25]);
    assert_eq!((faces.len(), faces.shape), (100, [1, 25, 25]));
    let mean = faces.pixels.iter().map(|&p| p as f64).sum::<f64>() / faces.pixels.len() as f64;
    assert!(
        (60.0..200.0).contains(&mean),
        "mean pixel {mean}: not a photo?"
    );
    let resized = load(DatasetName::Lfw, &folder, Split::Train, [1, 28, 28]);
    assert_eq!(resized.image_len(), 28 * 28);

    let empty = tempfile::tempdir().unwrap();
    let err = load_err(DatasetName::Lfw, empty.path(), Split::Train);
    assert!(
        err.contains("lfw_subset.npy: file not found") && err.contains("fetch-data-offline.sh"),
        "{err}"
    );
}
