//! The `metadata_props` every gantry export carries, so that a consumer (the web page, a
//! script) can present the model without guessing. Keys are prefixed `gantry.`; values
//! are plain strings, lists and shapes as JSON.

use super::io::{GeneratorInput, IMAGE_OUTPUT};
use crate::StringStringEntryProto;
use crate::build::metadata;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The keys, in one place.
pub mod keys {
    /// The metadata format's version (`1`).
    pub const FORMAT: &str = "gantry.format";
    pub const MODEL_KIND: &str = "gantry.model_kind";
    pub const DATASET: &str = "gantry.dataset";
    /// Class names in label order, JSON.
    pub const CLASS_NAMES: &str = "gantry.class_names";
    /// `true` when the model takes a label input.
    pub const CONDITIONAL: &str = "gantry.conditional";
    /// The number of classes of a conditional model (files before it: the class names').
    pub const CLASSES: &str = "gantry.classes";
    /// The latent size; 0 for an upscaler.
    pub const LATENT_DIM: &str = "gantry.latent_dim";
    /// `[c, h, w]` of one output image, JSON.
    pub const IMAGE_SHAPE: &str = "gantry.image_shape";
    /// An upscaler's input image shape `[c, h, w]`, JSON; absent for generators of z.
    pub const SOURCE_SHAPE: &str = "gantry.source_shape";
    /// `[lo, hi]` of the output values, JSON.
    pub const VALUE_RANGE: &str = "gantry.value_range";
    pub const EPOCHS: &str = "gantry.epochs";
    pub const STEPS: &str = "gantry.steps";
    /// Quality figures (name → value), JSON.
    pub const QUALITY: &str = "gantry.quality";
    /// The input names, comma-separated.
    pub const INPUTS: &str = "gantry.inputs";
    pub const OUTPUTS: &str = "gantry.outputs";
}

/// What a gantry export says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Architecture (`dcgan28`, …).
    pub model_kind: String,
    pub dataset: String,
    /// Class names in label order (empty for unconditional models on unlabelled data).
    pub class_names: Vec<String>,
    /// What the generator takes.
    pub input: GeneratorInput,
    /// `[channels, height, width]` of one image.
    pub image_shape: [usize; 3],
    /// The range of the output pixel values.
    pub value_range: [f32; 2],
    pub epochs: usize,
    pub steps: u64,
    /// Quality figures the run recorded (name → value), e.g. a Fréchet distance.
    pub quality: Vec<(String, f64)>,
}

impl ModelMetadata {
    /// The graph's inputs, comma-separated (`gantry.inputs`).
    pub fn inputs(&self) -> String {
        self.input.names().join(",")
    }

    pub fn to_props(&self) -> Vec<StringStringEntryProto> {
        let quality: BTreeMap<_, _> = self.quality.iter().cloned().collect();
        let mut props = vec![
            metadata(keys::FORMAT, "1"),
            metadata(keys::MODEL_KIND, &*self.model_kind),
            metadata(keys::DATASET, &*self.dataset),
            metadata(keys::CLASS_NAMES, json(&self.class_names)),
            metadata(keys::CONDITIONAL, self.input.is_conditional().to_string()),
            metadata(
                keys::LATENT_DIM,
                self.input.latent_dim().unwrap_or(0).to_string(),
            ),
            metadata(keys::IMAGE_SHAPE, json(&self.image_shape)),
            metadata(keys::VALUE_RANGE, json(&self.value_range)),
            metadata(keys::EPOCHS, self.epochs.to_string()),
            metadata(keys::STEPS, self.steps.to_string()),
            metadata(keys::QUALITY, json(&quality)),
            metadata(keys::INPUTS, self.inputs()),
            metadata(keys::OUTPUTS, IMAGE_OUTPUT),
        ];
        if let Some(classes) = self.input.classes() {
            props.push(metadata(keys::CLASSES, classes.to_string()));
        }
        if let Some(shape) = self.input.source_shape() {
            props.push(metadata(keys::SOURCE_SHAPE, json(&shape)));
        }
        props
    }

    /// Read the metadata back from `metadata_props`; `None` when the file is not a gantry
    /// export (no `gantry.format`), an error naming the key when a value is wrong.
    pub fn from_props(props: &[StringStringEntryProto]) -> Result<Option<Self>, String> {
        let props = Props(props);
        if props.get(keys::FORMAT).is_none() {
            return Ok(None);
        }
        let image_shape: [usize; 3] = props.json(keys::IMAGE_SHAPE)?;
        let class_names: Vec<String> = props.json(keys::CLASS_NAMES)?;
        let input = match props.get(keys::SOURCE_SHAPE) {
            Some(_) => {
                let shape: [usize; 3] = props.json(keys::SOURCE_SHAPE)?;
                GeneratorInput::Source {
                    shape,
                    scale: image_shape[1] / shape[1].max(1),
                }
            }
            None => {
                let conditional = props.required(keys::CONDITIONAL)? == "true";
                let classes = match (conditional, props.get(keys::CLASSES)) {
                    (false, _) => None,
                    (true, Some(_)) => Some(props.count(keys::CLASSES)?),
                    (true, None) => Some(class_names.len()),
                };
                GeneratorInput::Latent {
                    dim: props.count(keys::LATENT_DIM)?,
                    classes,
                }
            }
        };
        input
            .check(image_shape)
            .map_err(|e| format!("metadata {}: {e}", keys::INPUTS))?;
        let quality: BTreeMap<String, f64> = props.json(keys::QUALITY)?;
        Ok(Some(Self {
            model_kind: props.required(keys::MODEL_KIND)?.to_string(),
            dataset: props.required(keys::DATASET)?.to_string(),
            class_names,
            input,
            image_shape,
            value_range: props.json(keys::VALUE_RANGE)?,
            epochs: props.count(keys::EPOCHS)?,
            steps: props.number(keys::STEPS)?,
            quality: quality.into_iter().collect(),
        }))
    }
}

struct Props<'a>(&'a [StringStringEntryProto]);

impl Props<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }

    fn required(&self, key: &str) -> Result<&str, String> {
        self.get(key)
            .ok_or_else(|| format!("metadata {key} missing"))
    }

    fn number(&self, key: &str) -> Result<u64, String> {
        self.required(key)?
            .parse()
            .map_err(|e| format!("metadata {key}: {e}"))
    }

    /// A number used as a size: refused rather than truncated where `usize` is 32 bits
    /// (wasm32), so the limits checked after it see the value the file holds.
    fn count(&self, key: &str) -> Result<usize, String> {
        let n = self.number(key)?;
        usize::try_from(n).map_err(|_| format!("metadata {key}: {n} is too large"))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, String> {
        serde_json::from_str(self.required(key)?).map_err(|e| format!("metadata {key}: {e}"))
    }
}

/// JSON text of plain data.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(input: GeneratorInput, image_shape: [usize; 3]) -> ModelMetadata {
        ModelMetadata {
            model_kind: "cgan_mlp".into(),
            dataset: "mnist".into(),
            class_names: (0..10).map(|k| k.to_string()).collect(),
            input,
            image_shape,
            value_range: [-1.0, 1.0],
            epochs: 3,
            steps: 2811,
            quality: vec![("frechet_distance".into(), 12.5)],
        }
    }

    #[test]
    fn props_round_trip_for_every_kind() {
        for (input, shape) in [
            (
                GeneratorInput::Latent {
                    dim: 100,
                    classes: None,
                },
                [1, 28, 28],
            ),
            (
                GeneratorInput::Latent {
                    dim: 64,
                    classes: Some(10),
                },
                [1, 28, 28],
            ),
            (
                GeneratorInput::Source {
                    shape: [3, 16, 16],
                    scale: 4,
                },
                [3, 64, 64],
            ),
        ] {
            let meta = example(input, shape);
            let props = meta.to_props();
            assert_eq!(
                ModelMetadata::from_props(&props).unwrap(),
                Some(meta.clone())
            );
            let inputs = props.iter().find(|p| p.key == keys::INPUTS).unwrap();
            assert_eq!(inputs.value, input.names().join(","));
        }
    }

    #[test]
    fn a_file_without_gantry_metadata_is_not_an_error() {
        assert_eq!(ModelMetadata::from_props(&[]).unwrap(), None);
    }

    #[test]
    fn a_wrong_value_is_named() {
        let mut props = example(
            GeneratorInput::Latent {
                dim: 100,
                classes: None,
            },
            [1, 28, 28],
        )
        .to_props();
        for p in &mut props {
            if p.key == keys::LATENT_DIM {
                p.value = "0".into();
            }
        }
        let error = ModelMetadata::from_props(&props).unwrap_err();
        assert!(error.contains("latent size is 0"), "{error}");
    }
}
