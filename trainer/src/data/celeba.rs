//! CelebA's aligned portraits: `img_align_celeba/*.jpg` (178×218) and
//! `list_eval_partition.txt` (`000001.jpg 0`: 0 train, 1 validation, 2 test). Each image is
//! centre-cropped to 178×178 and resized to the model's size, as DCGAN work on CelebA does
//! (or, with `image_fit = "squash"`, resized whole, as the CelebA seed does).
//! `limit` takes the first N of a split (the CelebA seed trains on 5,000).

use super::catalog::DatasetName;
use super::decode;
use super::error::DataError;
use super::images::{ImageDataset, ImageFit, LoadRequest, Split};

pub const IMAGES: &str = "img_align_celeba";
pub const PARTITION: &str = "list_eval_partition.txt";

pub fn load(request: &LoadRequest) -> Result<ImageDataset, DataError> {
    let LoadRequest {
        folder,
        split,
        shape,
        limit,
        hint,
        fit,
        ..
    } = *request;
    let images = folder.join(IMAGES);
    if !images.is_dir() {
        return Err(DataError::Missing {
            path: images,
            hint: hint.to_string(),
        });
    }
    let partition = folder.join(PARTITION);
    let text = String::from_utf8(DataError::read(&partition, hint)?).map_err(|_| {
        DataError::Malformed {
            path: partition.clone(),
            reason: "not a text file".into(),
            hint: hint.to_string(),
        }
    })?;
    let wanted = match split {
        Split::Train => "0",
        Split::Test => "2",
    };
    let mut paths = Vec::new();
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut fields = line.split_whitespace();
        let (Some(file), Some(part), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(DataError::Malformed {
                path: partition.clone(),
                reason: format!(
                    "line {}: expected `<file> <0|1|2>`, got `{line}`",
                    number + 1
                ),
                hint: hint.to_string(),
            });
        };
        if part == wanted {
            paths.push(images.join(file));
        }
        if limit.is_some_and(|n| paths.len() >= n) {
            break;
        }
    }
    let crop = fit.unwrap_or(ImageFit::Crop) == ImageFit::Crop;
    let pixels = decode::decode_all(&paths, shape, crop, hint)?;
    Ok(ImageDataset {
        name: DatasetName::Celeba.to_string(),
        pixels,
        labels: vec![0; paths.len()],
        shape,
        class_names: DatasetName::Celeba.class_names(),
    })
}
