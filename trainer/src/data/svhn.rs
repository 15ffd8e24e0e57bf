//! SVHN's cropped digits (`train_32x32.mat`, `test_32x32.mat`): `X` is 32×32×3×N `uint8`
//! in MATLAB's column-major order, `y` holds labels 1–10, where 10 stands for the digit 0.

use super::catalog::DatasetName;
use super::error::DataError;
use super::images::{ImageDataset, LoadRequest, Split};
use super::mat::{self, MatData};

pub fn file(split: Split) -> &'static str {
    match split {
        Split::Train => "train_32x32.mat",
        Split::Test => "test_32x32.mat",
    }
}

pub fn load(request: &LoadRequest) -> Result<ImageDataset, DataError> {
    let LoadRequest {
        folder,
        split,
        limit,
        hint,
        ..
    } = *request;
    let path = folder.join(file(split));
    let bytes = DataError::read(&path, hint)?;
    let (pixels, labels) = parse(&bytes, limit).map_err(|reason| DataError::Malformed {
        path: path.clone(),
        reason,
        hint: hint.to_string(),
    })?;
    let [c, h, w] = DatasetName::Svhn.image_shape();
    Ok(ImageDataset {
        name: DatasetName::Svhn.to_string(),
        pixels,
        labels,
        shape: [c, h, w],
        class_names: DatasetName::Svhn.class_names(),
    })
}

/// Planar `[n, 3, 32, 32]` pixels and labels 0–9 from a MAT-file's bytes (the first `limit`).
pub fn parse(bytes: &[u8], limit: Option<usize>) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut arrays = mat::parse(bytes)?;
    let x = arrays.remove("X").ok_or("no variable `X` (the images)")?;
    let y = arrays.remove("y").ok_or("no variable `y` (the labels)")?;
    let [c, h, w] = DatasetName::Svhn.image_shape();
    let MatData::U8(x_data) = &x.data else {
        return Err("`X` is not uint8".into());
    };
    if x.dims.len() != 4 || x.dims[..3] != [h, w, c] {
        return Err(format!(
            "`X` has dimensions {:?}, expected [32, 32, 3, n]",
            x.dims
        ));
    }
    let n = x.dims[3];
    let labels = y.to_f64();
    if labels.len() != n {
        return Err(format!("{} labels for {n} images", labels.len()));
    }
    let n = limit.map_or(n, |l| l.min(n));
    let mut label_bytes = Vec::with_capacity(n);
    for (i, &label) in labels[..n].iter().enumerate() {
        if !(1.0..=10.0).contains(&label) || label.fract() != 0.0 {
            return Err(format!("label {label} of image {i} is not in 1..=10"));
        }
        label_bytes.push((label as u8) % 10);
    }
    // Column-major (row, column, channel, image) to planar row-major [image, channel, row, column].
    let mut pixels = vec![0u8; n * c * h * w];
    for image in 0..n {
        for ch in 0..c {
            for col in 0..w {
                let source = h * (col + w * (ch + c * image));
                for row in 0..h {
                    pixels[((image * c + ch) * h + row) * w + col] = x_data[source + row];
                }
            }
        }
    }
    Ok((pixels, label_bytes))
}
