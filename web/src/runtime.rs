//! [`Generator`]: an ONNX generator loaded from bytes, ready to make images.

use crate::graph::{Graph, IoInfo};
use crate::ops;
use crate::value::{Float, Ints, Value};
use burn::tensor::Device;
use gantry_onnx::ModelProto;
use prost::Message;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    #[error("not an ONNX model: {0}")]
    Decode(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("bad input: {0}")]
    Input(String),
    #[error("{node}: {reason}")]
    Node { node: String, reason: String },
}

/// A generator: latent `z` `[n, latent]` (and `label` `[n]` for conditional models) in,
/// images `[n, c, h, w]` out; or, for a translation model (Pix2Pix), a source image
/// `[n, c, h, w]` (`image_lr`) in and the larger image out.
#[derive(Debug, Clone)]
pub struct Generator {
    graph: Graph,
    device: Device,
    /// The float input (latent vector or source image), the optional label input, and the
    /// image output.
    latent: IoInfo,
    label: Option<IoInfo>,
    output: IoInfo,
}

impl Generator {
    /// Parse and check an ONNX file. Anything this runtime cannot run is refused here, with
    /// the operator and node named, before any image is asked for.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RuntimeError> {
        let model = ModelProto::decode(bytes).map_err(|e| RuntimeError::Decode(e.to_string()))?;
        if model.graph.is_none() {
            return Err(RuntimeError::Decode("no graph in the file".into()));
        }
        let device = Device::flex();
        let graph = Graph::from_model(&model, &device).map_err(RuntimeError::Unsupported)?;
        let floats: Vec<&IoInfo> = graph
            .inputs
            .iter()
            .filter(|i| i.elem_type == gantry_onnx::data_type::FLOAT)
            .collect();
        let latent = match floats.as_slice() {
            [one] => (*one).clone(),
            _ => {
                return Err(RuntimeError::Unsupported(format!(
                    "a generator has one float input (the latent vector or a source image); this model has {}",
                    floats.len()
                )));
            }
        };
        if !matches!(latent.dims.len(), 2 | 4) || latent.dims[1..].iter().any(Result::is_err) {
            return Err(RuntimeError::Unsupported(format!(
                "input `{}` must be [N, latent] or an image [N, C, H, W], with fixed sizes but N",
                latent.name
            )));
        }
        let others: Vec<&IoInfo> = graph
            .inputs
            .iter()
            .filter(|i| i.name != latent.name)
            .collect();
        let label = match others.as_slice() {
            [] => None,
            [one]
                if matches!(
                    one.elem_type,
                    gantry_onnx::data_type::INT64 | gantry_onnx::data_type::INT32
                ) =>
            {
                Some((*one).clone())
            }
            _ => {
                return Err(RuntimeError::Unsupported(
                    "besides the latent vector, a generator may take one integer label input"
                        .into(),
                ));
            }
        };
        let output = graph.outputs[0].clone();
        Ok(Self {
            graph,
            device,
            latent,
            label,
            output,
        })
    }

    /// The size of one input: a latent vector's length, or a source image's `c·h·w`.
    fn input_len(&self) -> usize {
        self.input_shape().iter().product()
    }

    /// One input's shape without the batch axis: `[latent]` or `[c, h, w]`.
    pub fn input_shape(&self) -> Vec<usize> {
        self.latent.dims[1..]
            .iter()
            .map(|d| *d.as_ref().expect("checked in from_bytes"))
            .collect()
    }

    /// The latent size; 0 for a translation model (its input is an image).
    pub fn latent_dim(&self) -> usize {
        match self.input_shape().as_slice() {
            [latent] => *latent,
            _ => 0,
        }
    }

    /// A translation model's source image shape `[c, h, w]`.
    pub fn source_shape(&self) -> Option<[usize; 3]> {
        match self.input_shape().as_slice() {
            &[c, h, w] => Some([c, h, w]),
            _ => None,
        }
    }

    pub fn is_conditional(&self) -> bool {
        self.label.is_some()
    }

    pub fn metadata(&self) -> &[(String, String)] {
        &self.graph.metadata
    }

    pub fn inputs(&self) -> Vec<IoInfo> {
        self.graph.inputs.clone()
    }

    pub fn outputs(&self) -> Vec<IoInfo> {
        self.graph.outputs.clone()
    }

    /// Everything a page needs to present the model, as JSON: `metadata_props` as an object,
    /// and the inputs and outputs with their shapes (dynamic axes by name).
    pub fn describe(&self) -> serde_json::Value {
        let io = |list: Vec<IoInfo>| {
            list.into_iter()
                .map(|i| {
                    let dims: Vec<serde_json::Value> = i
                        .dims
                        .iter()
                        .map(|d| match d {
                            Ok(n) => serde_json::json!(n),
                            Err(name) => serde_json::json!(name),
                        })
                        .collect();
                    let dtype = match i.elem_type {
                        gantry_onnx::data_type::FLOAT => "float32",
                        gantry_onnx::data_type::INT64 => "int64",
                        gantry_onnx::data_type::INT32 => "int32",
                        _ => "other",
                    };
                    serde_json::json!({ "name": i.name, "dtype": dtype, "shape": dims })
                })
                .collect::<Vec<_>>()
        };
        let props: serde_json::Map<String, serde_json::Value> = self
            .graph
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::json!({
            "props": props,
            "inputs": io(self.inputs()),
            "outputs": io(self.outputs()),
            "latentDim": self.latent_dim(),
            "sourceShape": self.source_shape(),
            "conditional": self.is_conditional(),
        })
    }

    /// Images for `n` latent vectors (`z.len() = n · latent`) and, for conditional models,
    /// one label each; for a translation model, `z` holds `n` source images (NCHW values in
    /// [-1, 1]). Returns the values (NCHW, row-major) and the shape.
    pub fn generate(
        &self,
        z: &[f32],
        labels: Option<&[i64]>,
    ) -> Result<(Vec<f32>, Vec<usize>), RuntimeError> {
        let size = self.input_len();
        if z.is_empty() || z.len() % size != 0 {
            let what = match self.source_shape() {
                Some(shape) => format!("the source image size {shape:?}"),
                None => format!("the latent size {size}"),
            };
            return Err(RuntimeError::Input(format!(
                "the input has {} values, not a multiple of {what}",
                z.len()
            )));
        }
        let n = z.len() / size;
        let mut values: HashMap<String, Value> = HashMap::new();
        let dims: Vec<usize> = std::iter::once(n).chain(self.input_shape()).collect();
        let z = Float::from_values(z.to_vec(), &dims, &self.device).map_err(RuntimeError::Input)?;
        values.insert(self.latent.name.clone(), Value::Float(z));
        match (&self.label, labels) {
            (Some(info), Some(labels)) => {
                if labels.len() != n {
                    return Err(RuntimeError::Input(format!(
                        "{} labels for {n} latent vectors",
                        labels.len()
                    )));
                }
                values.insert(info.name.clone(), Value::Int(Ints::vector(labels.to_vec())));
            }
            (Some(info), None) => {
                return Err(RuntimeError::Input(format!(
                    "this model is conditional: give a `{}` per image",
                    info.name
                )));
            }
            (None, Some(_)) => {
                return Err(RuntimeError::Input("this model takes no labels".into()));
            }
            (None, None) => {}
        }
        for node in &self.graph.nodes {
            let inputs = node
                .inputs
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        None
                    } else {
                        values
                            .get(name)
                            .or_else(|| self.graph.initializers.get(name))
                            .cloned()
                    }
                })
                .collect();
            let outputs =
                ops::run(node, inputs, &self.device).map_err(|reason| RuntimeError::Node {
                    node: node.label(),
                    reason,
                })?;
            for (name, value) in node.outputs.iter().zip(outputs) {
                values.insert(name.clone(), value);
            }
        }
        match values.remove(&self.output.name) {
            Some(Value::Float(image)) => {
                let dims = image.dims();
                Ok((image.values(), dims))
            }
            Some(Value::Int(_)) => Err(RuntimeError::Unsupported(
                "the output is not a float tensor".into(),
            )),
            None => Err(RuntimeError::Unsupported(format!(
                "output `{}` was not computed",
                self.output.name
            ))),
        }
    }
}
