//! Image files to planar `u8` pixels at a model's shape, decoded in parallel (a CelebA
//! epoch is 200k JPEGs: one core would keep a GPU waiting).

use super::error::DataError;
use super::resize;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// File extensions gantry decodes.
pub const EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "gif", "bmp"];

pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Decode `paths` in parallel, each centre-cropped to a square when `square` is set, then
/// fitted to `shape`; the pixels come back in the order of `paths`.
pub fn decode_all(
    paths: &[PathBuf],
    shape: [usize; 3],
    square: bool,
    hint: &str,
) -> Result<Vec<u8>, DataError> {
    let images: Vec<Vec<u8>> = paths
        .par_iter()
        .map(|path| decode(path, shape, square, hint))
        .collect::<Result<_, _>>()?;
    Ok(images.concat())
}

fn decode(
    path: &Path,
    [c, h, w]: [usize; 3],
    square: bool,
    hint: &str,
) -> Result<Vec<u8>, DataError> {
    let image = image::open(path).map_err(|e| DataError::Malformed {
        path: path.to_path_buf(),
        reason: format!("cannot decode image ({e})"),
        hint: hint.to_string(),
    })?;
    let (pixels, channels) = if c == 1 {
        (image.to_luma8().into_raw(), 1)
    } else {
        (image.to_rgb8().into_raw(), 3)
    };
    let source = [channels, image.height() as usize, image.width() as usize];
    let mut planes = resize::planar(&pixels, channels);
    let mut shape = source;
    if square {
        (planes, shape) = resize::centre_square(&planes, shape);
    }
    Ok(resize::fit(&planes, shape, [c, h, w]))
}
