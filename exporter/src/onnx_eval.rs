//! ONNX files in `gantry eval`: an exported generator as the image source, and a user's
//! feature network (`--inception`, e.g. Inception-v3 pool3) as the feature extractor. Both
//! run in ONNX Runtime, the same engine the exports are verified with.

use crate::runtime::{OrtGenerator, environment};
use anyhow::{Context, bail};
use gantry_onnx::contract::ModelMetadata;
use gantry_onnx::{DimensionValue, ModelProto};
use gantry_trainer::eval::report::{FeatureExtractor, ImageSource};
use gantry_trainer::eval::stats::Features;
use ort::session::Session;
use ort::value::Tensor;
use prost::Message;
use std::path::{Path, PathBuf};

fn decode(path: &Path) -> anyhow::Result<ModelProto> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    ModelProto::decode(bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("{}: not an ONNX file ({e})", path.display()))
}

/// An exported gantry generator in ONNX Runtime.
pub struct OnnxGenerator {
    pub metadata: ModelMetadata,
    ort: OrtGenerator,
}

impl OnnxGenerator {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let model = decode(path)?;
        let not_ours = |why: String| {
            anyhow::anyhow!(
                "{}: not a gantry export ({why}); gantry eval reads the dataset and shapes from gantry's metadata",
                path.display()
            )
        };
        let metadata = ModelMetadata::from_props(&model.metadata_props)
            .map_err(not_ours)?
            .ok_or_else(|| not_ours("no gantry.format".into()))?;
        anyhow::ensure!(
            metadata.input.latent_dim().is_some(),
            "{}: a {} model translates images; gantry eval measures generators of z",
            path.display(),
            metadata.model_kind
        );
        Ok(Self {
            metadata,
            ort: OrtGenerator::open(path)?,
        })
    }
}

impl ImageSource for OnnxGenerator {
    fn latent_dim(&self) -> usize {
        self.metadata.input.latent_dim().unwrap_or(0)
    }

    fn classes(&self) -> Option<usize> {
        self.metadata.input.classes()
    }

    fn image_shape(&self) -> [usize; 3] {
        self.metadata.image_shape
    }

    fn generate(&mut self, z: &[f32], labels: Option<&[i64]>) -> anyhow::Result<Vec<f32>> {
        let n = z.len() / self.latent_dim().max(1);
        Ok(self.ort.generate(z, n, labels)?.0)
    }
}

/// A feature network from an ONNX file: first input `[N, 3 or 1, H, W]`, first output the
/// features (flattened per image). Images are resized (bilinear) to `H×W`, grey is repeated
/// to 3 channels if needed, and values stay in [-1, 1] (the range pytorch-fid's Inception
/// expects after its own normalisation).
pub struct OnnxFeatures {
    path: PathBuf,
    session: Session,
    input: String,
    output: String,
    /// `[channels, height, width]` the network reads.
    input_shape: [usize; 3],
}

impl OnnxFeatures {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let model = decode(path)?;
        let graph = model
            .graph
            .as_ref()
            .with_context(|| format!("{}: no graph", path.display()))?;
        let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let input = graph
            .input
            .iter()
            .find(|i| !initializers.contains(&i.name.as_str()))
            .with_context(|| format!("{}: the graph has no input", path.display()))?;
        let output = graph
            .output
            .first()
            .with_context(|| format!("{}: the graph has no output", path.display()))?;
        let dims: Vec<Option<usize>> = input
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .and_then(|t| t.shape.as_ref())
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match d.value {
                        Some(DimensionValue::DimValue(v)) if v > 0 => Some(v as usize),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Each image is resized to this before the network sees it: a side past the limit
        // would allocate terabytes per batch.
        const MAX_SIDE: usize = 2048;
        if let [_, _, Some(h), Some(w)] = dims.as_slice() {
            anyhow::ensure!(
                *h <= MAX_SIDE && *w <= MAX_SIDE,
                "{}: input `{}` takes {h}×{w} images; feature networks here take at most {MAX_SIDE}×{MAX_SIDE}",
                path.display(),
                input.name
            );
        }
        let input_shape = match dims.as_slice() {
            [_, Some(c), Some(h), Some(w)] if *c == 1 || *c == 3 => [*c, *h, *w],
            _ => bail!(
                "{}: input `{}` must be [N, 1 or 3, H, W] with fixed C, H, W (got {dims:?})",
                path.display(),
                input.name
            ),
        };
        let session = Session::builder(environment()?)
            .map_err(|e| anyhow::anyhow!("ONNX Runtime: {e}"))?
            .commit_from_file(path)
            .map_err(|e| anyhow::anyhow!("{}: ONNX Runtime cannot load it: {e}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            session,
            input: input.name.clone(),
            output: output.name.clone(),
            input_shape,
        })
    }
}

/// Bilinear resize of one `[c, h, w]` image to `[c, oh, ow]` (half-pixel centres, as
/// PyTorch's `interpolate(mode="bilinear", align_corners=False)`).
pub fn resize_bilinear(image: &[f32], [c, h, w]: [usize; 3], [oh, ow]: [usize; 2]) -> Vec<f32> {
    if [h, w] == [oh, ow] {
        return image.to_vec();
    }
    let coords = |out: usize, size: usize| -> Vec<(usize, usize, f32)> {
        (0..out)
            .map(|o| {
                let x = ((o as f32 + 0.5) * size as f32 / out as f32 - 0.5).max(0.0);
                let x0 = (x.floor() as usize).min(size - 1);
                let x1 = (x0 + 1).min(size - 1);
                (x0, x1, x - x0 as f32)
            })
            .collect()
    };
    let (ys, xs) = (coords(oh, h), coords(ow, w));
    let mut out = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        let plane = &image[ch * h * w..(ch + 1) * h * w];
        for &(y0, y1, fy) in &ys {
            for &(x0, x1, fx) in &xs {
                let top = plane[y0 * w + x0] * (1.0 - fx) + plane[y0 * w + x1] * fx;
                let bottom = plane[y1 * w + x0] * (1.0 - fx) + plane[y1 * w + x1] * fx;
                out.push(top * (1.0 - fy) + bottom * fy);
            }
        }
    }
    out
}

impl FeatureExtractor for OnnxFeatures {
    fn name(&self) -> String {
        format!("{}", self.path.display())
    }

    fn features(&mut self, images: &[f32], shape: [usize; 3]) -> anyhow::Result<Features> {
        let [c, ..] = shape;
        let [tc, th, tw] = self.input_shape;
        if c != tc && c != 1 {
            bail!(
                "{}: reads {tc}-channel images, the generator makes {c}",
                self.path.display()
            );
        }
        let image_len: usize = shape.iter().product();
        let n = images.len() / image_len;
        let mut features = Vec::new();
        let mut dim = 0;
        for chunk in images.chunks(100 * image_len) {
            let m = chunk.len() / image_len;
            let mut batch = Vec::with_capacity(m * tc * th * tw);
            for image in chunk.chunks(image_len) {
                let resized = resize_bilinear(image, shape, [th, tw]);
                for _ in 0..tc / c {
                    batch.extend_from_slice(&resized);
                }
            }
            let input = Tensor::from_array(([m, tc, th, tw], batch)).context("input tensor")?;
            let outputs = self
                .session
                .run(ort::inputs![self.input.as_str() => input])
                .map_err(|e| anyhow::anyhow!("{}: ONNX Runtime run: {e}", self.path.display()))?;
            let (_, values) = outputs[self.output.as_str()]
                .try_extract_tensor::<f32>()
                .map_err(|e| anyhow::anyhow!("{}: output: {e}", self.path.display()))?;
            dim = values.len() / m;
            features.extend_from_slice(values);
        }
        anyhow::ensure!(n > 0 && dim > 0, "{}: no features", self.path.display());
        Ok(Features::new(features, dim))
    }
}

#[cfg(test)]
mod tests {
    use super::resize_bilinear;

    #[test]
    fn bilinear_resize_keeps_constants_and_interpolates_between_pixels() {
        let flat = resize_bilinear(&[0.25; 2 * 3 * 3], [2, 3, 3], [7, 5]);
        assert_eq!(flat.len(), 2 * 7 * 5);
        assert!(flat.iter().all(|&v| (v - 0.25).abs() < 1e-7));
        // [0, 1] upsampled ×2: half-pixel centres give 0, 0.25, 0.75, 1.
        let up = resize_bilinear(&[0.0, 1.0], [1, 1, 2], [1, 4]);
        assert_eq!(up, vec![0.0, 0.25, 0.75, 1.0]);
    }
}
