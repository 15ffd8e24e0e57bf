//! [`Generator`]: an ONNX generator loaded from bytes, ready to make images.

use crate::graph::{Graph, IoInfo};
use crate::plan::Plan;
use crate::value::{Float, Ints, Value};
use burn::tensor::Device;
use gantry_onnx::ModelProto;
use gantry_onnx::contract::{GeneratorInput, GridLayout, ModelMetadata};
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;

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
    #[error("unsupported ONNX operator `{op}` ({node}, opset {opset}); this runtime supports {}", crate::ops::OPERATORS.iter().map(|d| d.name).collect::<Vec<_>>().join(", "))]
    UnsupportedOperator {
        op: String,
        node: String,
        opset: i64,
    },
}

/// A generator: latent `z` `[n, latent]` or `[n, latent, 1, 1]` (and `label` `[n]` for
/// conditional models) in,
/// images `[n, c, h, w]` out; or, for a translation model (Pix2Pix), a source image
/// `[n, c, h, w]` (`image_lr`) in and the larger image out. Its kind is read from the
/// graph's input shapes and types, whatever the inputs are called.
#[derive(Debug, Clone)]
pub struct Generator {
    plan: Arc<Plan>,
    inputs: Vec<IoInfo>,
    outputs: Vec<IoInfo>,
    /// The file's `metadata_props`.
    props: Vec<(String, String)>,
    device: Device,
    /// What one image is made from, read from the graph.
    kind: GeneratorInput,
    /// The float input (latent vector or source image), the optional label input, and the
    /// image output.
    float_input: IoInfo,
    label: Option<LabelInput>,
    output: IoInfo,
    /// gantry's own metadata, when the file is a gantry export.
    metadata: Option<ModelMetadata>,
}

impl Generator {
    /// Parse and check an ONNX file. Anything this runtime cannot run is refused here, with
    /// the operator and node named, before any image is asked for.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RuntimeError> {
        Self::from_files(bytes, &HashMap::new())
    }

    /// [`Generator::from_bytes`] for a model whose weights are in files beside it (ONNX
    /// external data, PyTorch's `model.onnx.data`): `external` maps each file name to its
    /// bytes.
    pub fn from_files(
        bytes: &[u8],
        external: &HashMap<String, Vec<u8>>,
    ) -> Result<Self, RuntimeError> {
        let mut model =
            ModelProto::decode(bytes).map_err(|e| RuntimeError::Decode(e.to_string()))?;
        gantry_onnx::external::inline_external_data(&mut model, external)
            .map_err(RuntimeError::Unsupported)?;
        if model.graph.is_none() {
            return Err(RuntimeError::Decode("no graph in the file".into()));
        }
        let metadata =
            ModelMetadata::from_props(&model.metadata_props).map_err(RuntimeError::Unsupported)?;
        let device = Device::flex();
        let graph = Graph::from_model(&model, &device).map_err(RuntimeError::Unsupported)?;
        let (float_input, label) = choose_inputs(&graph.inputs)?;
        let rows = label
            .as_ref()
            .and_then(|l| embedding_rows(&graph, &l.info().name));
        let (inputs, outputs, props) = (
            graph.inputs.clone(),
            graph.outputs.clone(),
            graph.metadata.clone(),
        );
        let plan = Plan::compile(graph, &device)?;
        if !matches!(float_input.dims.len(), 2 | 4)
            || float_input.dims[1..].iter().any(Result::is_err)
        {
            return Err(RuntimeError::Unsupported(format!(
                "input `{}` must be [N, latent] or an image [N, C, H, W], with fixed sizes but N",
                float_input.name
            )));
        }
        let output = outputs[0].clone();
        let kind = read_kind(
            &plan,
            rows,
            &float_input,
            label.as_ref(),
            &output,
            metadata.as_ref(),
            &device,
        )?;
        if let Some(meta) = &metadata
            && meta.input != kind
        {
            return Err(RuntimeError::Unsupported(format!(
                "the file's metadata says its input is {}, its graph takes {kind}",
                meta.input
            )));
        }
        Ok(Self {
            plan: Arc::new(plan),
            inputs,
            outputs,
            props,
            device,
            kind,
            float_input,
            label,
            output,
            metadata,
        })
    }

    /// What one image is made from.
    pub fn kind(&self) -> GeneratorInput {
        self.kind
    }

    /// One input's shape without the batch axis: `[latent]` or `[c, h, w]`.
    pub fn input_shape(&self) -> Vec<usize> {
        match self.kind {
            GeneratorInput::Latent { dim, .. } => vec![dim],
            GeneratorInput::Source { shape, .. } => shape.to_vec(),
        }
    }

    /// The latent size; 0 for a translation model (its input is an image).
    pub fn latent_dim(&self) -> usize {
        self.kind.latent_dim().unwrap_or(0)
    }

    /// A translation model's source image shape `[c, h, w]`.
    pub fn source_shape(&self) -> Option<[usize; 3]> {
        self.kind.source_shape()
    }

    pub fn is_conditional(&self) -> bool {
        self.label.is_some()
    }

    /// gantry's metadata, if the file is a gantry export.
    pub fn gantry_metadata(&self) -> Option<&ModelMetadata> {
        self.metadata.as_ref()
    }

    /// The class names in label order: the file's, or the label numbers.
    pub fn class_names(&self) -> Vec<String> {
        let classes = self.kind.classes().unwrap_or(0);
        match &self.metadata {
            Some(meta) if meta.class_names.len() == classes => meta.class_names.clone(),
            _ => (0..classes).map(|k| k.to_string()).collect(),
        }
    }

    /// The range of the output values: the file's, or [-1, 1] (tanh, what GANs make).
    pub fn value_range(&self) -> [f32; 2] {
        self.metadata
            .as_ref()
            .map_or([-1.0, 1.0], |m| m.value_range)
    }

    /// Which images a sample grid of `count` shows (all of class `label`, or one row per
    /// class of a conditional model), as `gantry sample` lays it out.
    pub fn grid_layout(
        &self,
        count: usize,
        label: Option<i64>,
    ) -> Result<GridLayout, RuntimeError> {
        GridLayout::samples(count, self.kind.classes(), label).map_err(RuntimeError::Input)
    }

    pub fn metadata(&self) -> &[(String, String)] {
        &self.props
    }

    pub fn inputs(&self) -> Vec<IoInfo> {
        self.inputs.clone()
    }

    pub fn outputs(&self) -> Vec<IoInfo> {
        self.outputs.clone()
    }

    /// The compiled steps' op types, in order: what a call runs.
    pub fn steps(&self) -> Vec<&str> {
        self.plan.step_types()
    }

    /// How many of [`Generator::steps`] are shape arithmetic (`Shape` and what is computed
    /// from it alone), run once per batch size and then remembered.
    pub fn shape_steps(&self) -> usize {
        self.plan.shape_steps()
    }

    /// Everything a page needs to present the model, as JSON: the kind, class names, value
    /// range and (for gantry exports) what it was trained on; `metadata_props` as an
    /// object; the inputs and outputs with their shapes (dynamic axes by name).
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
            .props
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let meta = self.metadata.as_ref();
        serde_json::json!({
            "input": self.kind,
            "classNames": self.class_names(),
            "valueRange": self.value_range(),
            "modelKind": meta.map(|m| &m.model_kind),
            "dataset": meta.map(|m| &m.dataset),
            "epochs": meta.map(|m| m.epochs),
            "steps": meta.map(|m| m.steps),
            "props": props,
            "inputs": io(self.inputs()),
            "outputs": io(self.outputs()),
            "latentDim": self.latent_dim(),
            "sourceShape": self.source_shape(),
            "scale": self.kind.scale(),
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
        let size = self.kind.values_per_image();
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
        let mut values: Vec<(String, Value)> = Vec::new();
        // The float input's own layout: `[n, nz]`, `[n, nz, 1, 1]` or `[n, c, h, w]`.
        let dims: Vec<usize> = std::iter::once(n)
            .chain(
                self.float_input.dims[1..]
                    .iter()
                    .map(|d| *d.as_ref().unwrap_or(&0)),
            )
            .collect();
        let z = Float::from_values(z.to_vec(), &dims, &self.device).map_err(RuntimeError::Input)?;
        values.push((self.float_input.name.clone(), Value::Float(z)));
        match (&self.label, labels) {
            (Some(label), Some(labels)) => {
                if labels.len() != n {
                    return Err(RuntimeError::Input(format!(
                        "{} labels for {n} latent vectors",
                        labels.len()
                    )));
                }
                let value = match label {
                    LabelInput::Index(_) => Value::Int(Ints::vector(labels.to_vec())),
                    LabelInput::OneHot(_) => {
                        let classes = self.kind.classes().unwrap_or(0);
                        Value::Float(one_hot(labels, classes, &self.device)?)
                    }
                };
                values.push((label.info().name.clone(), value));
            }
            (Some(label), None) => {
                return Err(RuntimeError::Input(format!(
                    "this model is conditional: give a `{}` per image",
                    label.info().name
                )));
            }
            (None, Some(_)) => {
                return Err(RuntimeError::Input("this model takes no labels".into()));
            }
            (None, None) => {}
        }
        self.plan.run(values, &self.output.name, &self.device)
    }
}

/// How this runtime was compiled and runs: `{ simd, relaxedSimd, threads }` (wasm32 target
/// features; natively, whether the build has them is not a question, and both read false).
/// `threads` is the size of the pool generators run on: 1 unless this is the threaded build
/// and the page has called `initThreadPool(n)`. Ask after that call, not before: the first
/// question sets the pool up, on one thread, for good (rayon's global pool is built once).
pub fn build_info() -> serde_json::Value {
    serde_json::json!({
        "simd": cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
        "relaxedSimd": cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd")),
        "threads": threads(),
    })
}

/// The size of the pool generators run on (1 without the threaded build).
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub(crate) fn threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(not(all(target_arch = "wasm32", feature = "threads")))]
pub(crate) fn threads() -> usize {
    1
}

/// The kind of generator a graph is, from its input and output shapes and types: a float
/// `[N, d]` input is a latent vector (with an integer input, labels), a float image
/// `[N, C, h, w]` an upscaler's source, `scale` times smaller than the output.
fn read_kind(
    plan: &Plan,
    embedding_rows: Option<usize>,
    input: &IoInfo,
    label: Option<&LabelInput>,
    output: &IoInfo,
    metadata: Option<&ModelMetadata>,
    device: &Device,
) -> Result<GeneratorInput, RuntimeError> {
    let fixed = |i: usize| input.dims[i].clone().unwrap_or(0);
    // `[N, nz, 1, 1]` is a latent vector laid out for a first ConvTranspose
    // (pytorch/examples' DCGAN netG), not a one-pixel image to upscale.
    let latent_as_image = input.dims.len() == 4 && fixed(2) == 1 && fixed(3) == 1;
    if input.dims.len() == 4 && !latent_as_image {
        let [c, h, w] = [fixed(1), fixed(2), fixed(3)];
        // TorchScript exports leave the output's sizes symbolic: run one blank image
        // through the graph to learn them.
        let out_h = match output.dims.get(2).and_then(|d| d.clone().ok()) {
            Some(h) => Some(h),
            None => probe_height(plan, input, output, [c, h, w], device),
        };
        let scale = match out_h {
            Some(oh) if h > 0 && oh % h == 0 => oh / h,
            _ => {
                return Err(RuntimeError::Unsupported(format!(
                    "input `{}` is an image [N, {c}, {h}, {w}], but output `{}` has no fixed height that is a multiple of {h}",
                    input.name, output.name
                )));
            }
        };
        return Ok(GeneratorInput::Source {
            shape: [c, h, w],
            scale,
        });
    }
    let classes = label.map(|label| match label {
        LabelInput::OneHot(info) => info.dims[1].clone().unwrap_or(0),
        LabelInput::Index(_) => metadata
            .and_then(|m| m.input.classes())
            .or(embedding_rows)
            // A conditional generator that does not say: MNIST-like digits.
            .unwrap_or(10),
    });
    Ok(GeneratorInput::Latent {
        dim: fixed(1),
        classes,
    })
}

/// A conditional generator's label input: class indices (int64 `[N]`, looked up in an
/// embedding), or one-hot float vectors `[N, classes]` (concatenated to z).
#[derive(Debug, Clone)]
enum LabelInput {
    Index(IoInfo),
    OneHot(IoInfo),
}

impl LabelInput {
    fn info(&self) -> &IoInfo {
        match self {
            LabelInput::Index(info) | LabelInput::OneHot(info) => info,
        }
    }
}

/// Names PyTorch code gives a one-hot label input.
fn sounds_like_labels(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["label", "class", "onehot", "one_hot", "cond"]
        .iter()
        .any(|word| name.contains(word))
        || matches!(name.as_str(), "y" | "c")
}

/// Which input is z (or the source image) and which, if any, the labels: an integer input
/// is class indices; of two float inputs, the `[N, k]` one named like labels (`y`,
/// `labels`, `onehot`, …) is one-hot classes.
fn choose_inputs(inputs: &[IoInfo]) -> Result<(IoInfo, Option<LabelInput>), RuntimeError> {
    let is_float = |i: &&IoInfo| i.elem_type == gantry_onnx::data_type::FLOAT;
    let is_int = |i: &&IoInfo| {
        matches!(
            i.elem_type,
            gantry_onnx::data_type::INT64 | gantry_onnx::data_type::INT32
        )
    };
    let floats: Vec<&IoInfo> = inputs.iter().filter(is_float).collect();
    let ints: Vec<&IoInfo> = inputs.iter().filter(is_int).collect();
    let names = || {
        inputs
            .iter()
            .map(|i| format!("`{}`", i.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if floats.len() + ints.len() != inputs.len() {
        return Err(RuntimeError::Unsupported(format!(
            "inputs {}: a generator's inputs are float32 (z, a source image, one-hot labels) or int64/int32 (labels)",
            names()
        )));
    }
    match (floats.as_slice(), ints.as_slice()) {
        ([z], []) => Ok(((*z).clone(), None)),
        ([z], [label]) => Ok(((*z).clone(), Some(LabelInput::Index((*label).clone())))),
        ([a, b], []) => {
            let one_hot = |i: &IoInfo| i.dims.len() == 2 && sounds_like_labels(&i.name);
            let (z, label) = match (one_hot(a), one_hot(b)) {
                (false, true) => (a, b),
                (true, false) => (b, a),
                _ => {
                    return Err(RuntimeError::Unsupported(format!(
                        "two float inputs ({}): one must be one-hot labels [N, classes], named like `y` or `labels`",
                        names()
                    )));
                }
            };
            Ok(((*z).clone(), Some(LabelInput::OneHot((*label).clone()))))
        }
        _ => Err(RuntimeError::Unsupported(format!(
            "inputs {}: a generator takes one float input (z or a source image) and at most one label input",
            names()
        ))),
    }
}

/// `labels` as one-hot rows `[n, classes]`; a label outside the classes is an error.
fn one_hot(labels: &[i64], classes: usize, device: &Device) -> Result<Float, RuntimeError> {
    let mut values = vec![0.0; labels.len() * classes];
    for (row, &label) in labels.iter().enumerate() {
        let k = usize::try_from(label)
            .ok()
            .filter(|&k| k < classes)
            .ok_or_else(|| {
                RuntimeError::Input(format!("label {label}: this model has {classes} classes"))
            })?;
        values[row * classes + k] = 1.0;
    }
    Float::from_values(values, &[labels.len(), classes], device).map_err(RuntimeError::Input)
}

/// The output height for one blank `[1, c, h, w]` source, if the graph runs on it.
fn probe_height(
    plan: &Plan,
    input: &IoInfo,
    output: &IoInfo,
    [c, h, w]: [usize; 3],
    device: &Device,
) -> Option<usize> {
    let blank = Float::from_values(vec![0.0; c * h * w], &[1, c, h, w], device).ok()?;
    let values = vec![(input.name.clone(), Value::Float(blank))];
    let (_, dims) = plan.run(values, &output.name, device).ok()?;
    (dims.len() == 4).then(|| dims[2])
}

/// The rows of the embedding table a `Gather` looks `label` up in: the number of classes.
fn embedding_rows(graph: &Graph, label: &str) -> Option<usize> {
    graph.nodes.iter().find_map(|node| {
        if node.op != "Gather" || node.inputs.get(1).map(String::as_str) != Some(label) {
            return None;
        }
        match graph.initializers.get(node.inputs.first()?)? {
            Value::Float(table) => table.dims().first().copied(),
            Value::Int(_) => None,
        }
    })
}
