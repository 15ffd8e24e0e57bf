//! The LFW face crops that scikit-image ships (`skimage/data/lfw_subset.npy`): 200 grey
//! 25×25 images in [0, 1], of which the first 100 are faces (the rest are background
//! patches, not used). There is no test split: both splits are the 100 faces.

use super::catalog::DatasetName;
use super::error::DataError;
use super::images::{ImageDataset, LoadRequest};
use super::npy;

pub const FILE: &str = "lfw_subset.npy";
const FACES: usize = 100;

pub fn load(request: &LoadRequest) -> Result<ImageDataset, DataError> {
    let LoadRequest { folder, hint, .. } = *request;
    let path = folder.join(FILE);
    let bytes = DataError::read(&path, hint)?;
    let malformed = |reason: String| DataError::Malformed {
        path: path.clone(),
        reason,
        hint: hint.to_string(),
    };
    let array = npy::parse(&bytes).map_err(malformed)?;
    let [_, h, w] = DatasetName::Lfw.image_shape();
    if array.shape.len() != 3 || array.shape[0] < FACES || array.shape[1..] != [h, w] {
        return Err(malformed(format!(
            "shape {:?}, expected [200, {h}, {w}] (100 faces, then 100 backgrounds)",
            array.shape
        )));
    }
    if let Some(bad) = array.data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(malformed(format!("pixel value {bad} outside [0, 1]")));
    }
    let pixels = array.data[..FACES * h * w]
        .iter()
        .map(|v| (v * 255.0).round() as u8)
        .collect();
    Ok(ImageDataset {
        name: DatasetName::Lfw.to_string(),
        pixels,
        labels: vec![0; FACES],
        shape: [1, h, w],
        class_names: DatasetName::Lfw.class_names(),
    })
}
