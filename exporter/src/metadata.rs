//! The `metadata_props` every gantry export carries, so that a consumer (the web page, a
//! script) can present the model without guessing.

use gantry_onnx::StringStringEntryProto;
use gantry_onnx::build::metadata;
use serde::{Deserialize, Serialize};

/// Keys are prefixed `gantry.`; values are plain strings, lists and shapes as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Architecture (`dcgan28`, …).
    pub model_kind: String,
    pub dataset: String,
    /// Class names in label order (empty for unconditional models on unlabelled data).
    pub class_names: Vec<String>,
    /// Whether the model takes a `label` input.
    pub conditional: bool,
    pub latent_dim: usize,
    /// `[channels, height, width]` of one image.
    pub image_shape: [usize; 3],
    /// A translation model's (Pix2Pix) input image shape: it takes `image_lr` of this shape
    /// instead of `z` (`latent_dim` is 0).
    pub source_shape: Option<[usize; 3]>,
    /// The range of the output pixel values.
    pub value_range: [f32; 2],
    pub epochs: usize,
    pub steps: u64,
    /// Quality figures the run recorded (name → value), e.g. a Fréchet distance.
    pub quality: Vec<(String, f64)>,
}

impl ModelMetadata {
    /// The graph's inputs, comma-separated.
    pub fn inputs(&self) -> &'static str {
        match (self.source_shape, self.conditional) {
            (Some(_), _) => crate::graph::SOURCE_INPUT,
            (None, true) => "z,label",
            (None, false) => "z",
        }
    }

    pub fn to_props(&self) -> Vec<StringStringEntryProto> {
        let mut props = vec![
            metadata("gantry.format", "1"),
            metadata("gantry.model_kind", &*self.model_kind),
            metadata("gantry.dataset", &*self.dataset),
            metadata("gantry.class_names", json(&self.class_names)),
            metadata("gantry.conditional", self.conditional.to_string()),
            metadata("gantry.latent_dim", self.latent_dim.to_string()),
            metadata("gantry.image_shape", json(&self.image_shape)),
            metadata("gantry.value_range", json(&self.value_range)),
            metadata("gantry.epochs", self.epochs.to_string()),
            metadata("gantry.steps", self.steps.to_string()),
            metadata(
                "gantry.quality",
                json(
                    &self
                        .quality
                        .iter()
                        .cloned()
                        .collect::<std::collections::BTreeMap<_, _>>(),
                ),
            ),
            metadata("gantry.inputs", self.inputs()),
            metadata("gantry.outputs", "image"),
        ];
        if let Some(shape) = self.source_shape {
            props.push(metadata("gantry.source_shape", json(&shape)));
        }
        props
    }

    /// Read the metadata back from `metadata_props` (what the web runtime and tests do).
    pub fn from_props(props: &[StringStringEntryProto]) -> Result<Self, String> {
        let get = |key: &str| {
            props
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.value.as_str())
                .ok_or_else(|| format!("metadata {key} missing"))
        };
        let parse = |key: &str| -> Result<serde_json::Value, String> {
            serde_json::from_str(get(key)?).map_err(|e| format!("metadata {key}: {e}"))
        };
        let from = |key: &str| -> Result<String, String> { Ok(get(key)?.to_string()) };
        let number = |key: &str| -> Result<u64, String> {
            get(key)?
                .parse()
                .map_err(|e| format!("metadata {key}: {e}"))
        };
        let quality: std::collections::BTreeMap<String, f64> =
            serde_json::from_value(parse("gantry.quality")?).map_err(|e| e.to_string())?;
        Ok(Self {
            model_kind: from("gantry.model_kind")?,
            dataset: from("gantry.dataset")?,
            class_names: serde_json::from_value(parse("gantry.class_names")?)
                .map_err(|e| e.to_string())?,
            conditional: get("gantry.conditional")? == "true",
            latent_dim: number("gantry.latent_dim")? as usize,
            image_shape: serde_json::from_value(parse("gantry.image_shape")?)
                .map_err(|e| e.to_string())?,
            source_shape: match get("gantry.source_shape") {
                Ok(_) => Some(
                    serde_json::from_value(parse("gantry.source_shape")?)
                        .map_err(|e| e.to_string())?,
                ),
                Err(_) => None,
            },
            value_range: serde_json::from_value(parse("gantry.value_range")?)
                .map_err(|e| e.to_string())?,
            epochs: number("gantry.epochs")? as usize,
            steps: number("gantry.steps")?,
            quality: quality.into_iter().collect(),
        })
    }
}

/// JSON text of plain data.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}
