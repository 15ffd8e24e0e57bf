//! The ONNX graph of a generator, built from its [`LayerSpec`]s and its burn module.
//!
//! Each spec variant maps to fixed ONNX nodes, and the weights come from the matching burn
//! layer, so the exported graph is the trained network by construction. Activations are
//! rank 4 throughout, as in the burn module (`[N, f, 1, 1]` for vectors); the batch axis is
//! dynamic (`N`), every Reshape keeps it with `-1`.

use burn::module::Param;
use burn::prelude::*;
use gantry_onnx::build::{
    Dim, attr_float, attr_int, attr_ints, attr_string, node, tensor_f32, tensor_i64, value_info,
};
use gantry_onnx::{
    GraphProto, IR_VERSION, ModelProto, NodeProto, OPSET_VERSION, OperatorSetIdProto, TensorProto,
    data_type,
};
use gantry_trainer::model::spec::infer_shapes;
use gantry_trainer::model::{GanSpec, Generator, Layer, LayerSpec, Network};

use gantry_onnx::contract::{
    GeneratorInput, IMAGE_OUTPUT, LABEL_INPUT, LATENT_INPUT, ModelMetadata, SOURCE_INPUT,
};

/// Why a network cannot be exported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    #[error("layer {index} ({layer}) cannot be exported: {reason}")]
    Unsupported {
        index: usize,
        layer: String,
        reason: String,
    },
    #[error("the network does not fit its input: {0}")]
    Shape(String),
}

fn values<const D: usize>(param: &Param<Tensor<D>>) -> (Vec<usize>, Vec<f32>) {
    let data = param.val().into_data().convert::<f32>();
    let shape = data.shape().to_vec();
    (shape, data.try_into_vec::<f32>().expect("float parameters"))
}

fn running<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("float statistics")
}

/// Accumulates nodes and initializers under unique, readable names.
struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl GraphBuilder {
    fn weight(&mut self, name: String, (shape, values): (Vec<usize>, Vec<f32>)) -> String {
        self.initializers.push(tensor_f32(&name, &shape, &values));
        name
    }

    fn shape_constant(&mut self, name: String, dims: [i64; 4]) -> String {
        self.initializers.push(tensor_i64(&name, &[4], &dims));
        name
    }

    /// The nodes of `specs` (weights from the matching burn `layers`), reading `input` and
    /// writing `output`; `shapes` are the inferred shapes, input first.
    fn layers(
        &mut self,
        specs: &[LayerSpec],
        layers: &[Layer],
        shapes: &[[usize; 3]],
        input: &str,
        output: &str,
    ) -> Result<(), ExportError> {
        if layers.len() != specs.len() {
            return Err(ExportError::Shape(format!(
                "{} layers in the module, {} in the spec",
                layers.len(),
                specs.len()
            )));
        }
        let mut current = input.to_string();
        // The values remembered for skip connections, by name.
        let mut saved: Vec<String> = Vec::new();
        // Layers that are the identity at inference (dropout) or only remember a value
        // (save_skip) emit no node; the last emitting layer writes straight into `image`.
        let last_emitting = specs
            .iter()
            .rposition(|s| !matches!(s, LayerSpec::Dropout { .. } | LayerSpec::SaveSkip))
            .ok_or_else(|| ExportError::Shape("the network has no layer".into()))?;

        for (index, (spec, layer)) in specs.iter().zip(layers).enumerate() {
            let prefix = format!("layers.{index}.{}", spec.kind());
            let out = if index == last_emitting {
                output.to_string()
            } else {
                format!("x{}", index + 1)
            };
            let unsupported = |reason: &str| ExportError::Unsupported {
                index,
                layer: spec.kind().to_string(),
                reason: reason.to_string(),
            };
            let emitted = match (spec, layer) {
                (LayerSpec::Linear { output, .. }, Layer::Linear(linear)) => {
                    let weight = self.weight(format!("{prefix}.weight"), values(&linear.weight));
                    let flat = format!("{prefix}.flat");
                    let gemm = format!("{prefix}.gemm");
                    self.nodes.push(node(
                        "Flatten",
                        &format!("{prefix}.flatten"),
                        &[&current],
                        &[&flat],
                        vec![attr_int("axis", 1)],
                    ));
                    let mut inputs = vec![flat.clone(), weight];
                    if let Some(bias) = &linear.bias {
                        inputs.push(self.weight(format!("{prefix}.bias"), values(bias)));
                    }
                    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                    self.nodes
                        .push(node("Gemm", &prefix, &inputs, &[&gemm], vec![]));
                    let shape =
                        self.shape_constant(format!("{prefix}.shape"), [-1, *output as i64, 1, 1]);
                    self.nodes.push(node(
                        "Reshape",
                        &format!("{prefix}.unflatten"),
                        &[&gemm, &shape],
                        &[&out],
                        vec![],
                    ));
                    true
                }
                (
                    LayerSpec::ConvTranspose2d {
                        kernel,
                        stride,
                        padding,
                        ..
                    }
                    | LayerSpec::Conv2d {
                        kernel,
                        stride,
                        padding,
                        ..
                    },
                    Layer::ConvTranspose2d(_) | Layer::Conv2d(_),
                ) => {
                    let (op, weight, bias) = match layer {
                        Layer::ConvTranspose2d(conv)
                            if matches!(spec, LayerSpec::ConvTranspose2d { .. }) =>
                        {
                            ("ConvTranspose", &conv.weight, &conv.bias)
                        }
                        Layer::Conv2d(conv) if matches!(spec, LayerSpec::Conv2d { .. }) => {
                            ("Conv", &conv.weight, &conv.bias)
                        }
                        _ => return Err(unsupported("the module's layer does not match the spec")),
                    };
                    let mut inputs = vec![
                        current.clone(),
                        self.weight(format!("{prefix}.weight"), values(weight)),
                    ];
                    if let Some(bias) = bias {
                        inputs.push(self.weight(format!("{prefix}.bias"), values(bias)));
                    }
                    let (k, s, p) = (*kernel as i64, *stride as i64, *padding as i64);
                    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                    let mut attributes = vec![
                        attr_ints("kernel_shape", &[k, k]),
                        attr_ints("strides", &[s, s]),
                        attr_ints("pads", &[p, p, p, p]),
                        attr_ints("dilations", &[1, 1]),
                        attr_int("group", 1),
                    ];
                    if let LayerSpec::ConvTranspose2d { output_padding, .. } = spec
                        && *output_padding > 0
                    {
                        let o = *output_padding as i64;
                        attributes.push(attr_ints("output_padding", &[o, o]));
                    }
                    self.nodes
                        .push(node(op, &prefix, &inputs, &[&out], attributes));
                    true
                }
                (LayerSpec::BatchNorm { .. }, Layer::BatchNorm(norm)) => {
                    let scale = self.weight(format!("{prefix}.scale"), values(&norm.gamma));
                    let bias = self.weight(format!("{prefix}.bias"), values(&norm.beta));
                    let n = norm.gamma.val().dims()[0];
                    let mean = self.weight(
                        format!("{prefix}.mean"),
                        (vec![n], running(norm.running_mean.value())),
                    );
                    let var = self.weight(
                        format!("{prefix}.var"),
                        (vec![n], running(norm.running_var.value())),
                    );
                    self.nodes.push(node(
                        "BatchNormalization",
                        &prefix,
                        &[&current, &scale, &bias, &mean, &var],
                        &[&out],
                        vec![attr_float("epsilon", norm.epsilon as f32)],
                    ));
                    true
                }
                (LayerSpec::InstanceNorm { features }, Layer::InstanceNorm(norm)) => {
                    let ones = (vec![*features], vec![1.0; *features]);
                    let zeros = (vec![*features], vec![0.0; *features]);
                    let scale = norm.gamma.as_ref().map_or(ones, values);
                    let bias = norm.beta.as_ref().map_or(zeros, values);
                    let scale = self.weight(format!("{prefix}.scale"), scale);
                    let bias = self.weight(format!("{prefix}.bias"), bias);
                    self.nodes.push(node(
                        "InstanceNormalization",
                        &prefix,
                        &[&current, &scale, &bias],
                        &[&out],
                        vec![attr_float("epsilon", norm.epsilon as f32)],
                    ));
                    true
                }
                (LayerSpec::Relu, Layer::Relu(_)) => {
                    self.nodes
                        .push(node("Relu", &prefix, &[&current], &[&out], vec![]));
                    true
                }
                (LayerSpec::LeakyRelu { slope }, Layer::LeakyRelu(_)) => {
                    self.nodes.push(node(
                        "LeakyRelu",
                        &prefix,
                        &[&current],
                        &[&out],
                        vec![attr_float("alpha", *slope as f32)],
                    ));
                    true
                }
                (LayerSpec::Tanh, Layer::Tanh(_)) => {
                    self.nodes
                        .push(node("Tanh", &prefix, &[&current], &[&out], vec![]));
                    true
                }
                (LayerSpec::Sigmoid, Layer::Sigmoid(_)) => {
                    self.nodes
                        .push(node("Sigmoid", &prefix, &[&current], &[&out], vec![]));
                    true
                }
                (LayerSpec::Dropout { .. }, Layer::Dropout(_)) => false,
                (LayerSpec::Upsample { scale }, Layer::Upsample(_)) => {
                    // Output pixel (i, j) = input pixel (⌊i/s⌋, ⌊j/s⌋), as burn's
                    // `upsample_nearest`: PyTorch's `Upsample(mode="nearest")` export.
                    let s = *scale as f32;
                    let scales = format!("{prefix}.scales");
                    self.initializers
                        .push(tensor_f32(&scales, &[4], &[1.0, 1.0, s, s]));
                    self.nodes.push(node(
                        "Resize",
                        &prefix,
                        &[&current, "", &scales],
                        &[&out],
                        vec![
                            attr_string("mode", "nearest"),
                            attr_string("coordinate_transformation_mode", "asymmetric"),
                            attr_string("nearest_mode", "floor"),
                        ],
                    ));
                    true
                }
                (LayerSpec::SaveSkip, Layer::SaveSkip(_)) => {
                    saved.push(current.clone());
                    false
                }
                (LayerSpec::ConcatSkip, Layer::ConcatSkip(_)) => {
                    let skip = saved
                        .pop()
                        .ok_or_else(|| unsupported("no saved value to concatenate"))?;
                    self.nodes.push(node(
                        "Concat",
                        &prefix,
                        &[&current, &skip],
                        &[&out],
                        vec![attr_int("axis", 1)],
                    ));
                    true
                }
                // Both are a Reshape to the shape the spec infers after the layer.
                (LayerSpec::Reshape { .. }, Layer::Reshape(_))
                | (LayerSpec::Flatten, Layer::Flatten(_)) => {
                    let [c, h, w] = shapes[index + 1];
                    let shape = self.shape_constant(
                        format!("{prefix}.shape"),
                        [-1, c as i64, h as i64, w as i64],
                    );
                    self.nodes.push(node(
                        "Reshape",
                        &prefix,
                        &[&current, &shape],
                        &[&out],
                        vec![],
                    ));
                    true
                }
                _ => return Err(unsupported("the module's layer does not match the spec")),
            };
            if emitted {
                current = out;
            }
        }
        Ok(())
    }
}

/// The ONNX `ModelProto` of a generator: input `z` `[N, latent]` (and `label` int64 `[N]`
/// for a conditional one) or, for a translation model, `image_lr` `[N, C, h, w]`; output
/// `image` `[N, C, H, W]` in [-1, 1], BatchNorm with its running statistics (inference).
pub fn generator_model(
    spec: &GanSpec,
    generator: &Generator,
    meta: &ModelMetadata,
) -> Result<ModelProto, ExportError> {
    let specs = &spec.generator;
    if meta.input != spec.input {
        return Err(ExportError::Shape(format!(
            "metadata ({}) does not describe the model ({})",
            meta.input, spec.input
        )));
    }
    let input = spec.generator_input();
    let shapes = infer_shapes(specs, input).map_err(|e| ExportError::Shape(e.to_string()))?;
    let [c, h, w] = *shapes.last().expect("input shape");
    if [c, h, w] != meta.image_shape {
        return Err(ExportError::Shape(format!(
            "network ends in {:?}, metadata says {:?}",
            [c, h, w],
            meta.image_shape
        )));
    }
    let mut g = GraphBuilder {
        nodes: Vec::new(),
        initializers: Vec::new(),
    };
    let batch = || Dim::Named("N".into());
    let inputs = match spec.input {
        GeneratorInput::Source {
            shape: [sc, sh, sw],
            ..
        } => {
            // A translation generator's layers read the source image as it is.
            g.layers(
                specs,
                &generator.network.layers,
                &shapes,
                SOURCE_INPUT,
                IMAGE_OUTPUT,
            )?;
            vec![value_info(
                SOURCE_INPUT,
                data_type::FLOAT,
                &[batch(), Dim::Fixed(sc), Dim::Fixed(sh), Dim::Fixed(sw)],
            )]
        }
        GeneratorInput::Latent { dim, classes } => {
            latent_input(&mut g, spec, generator, input[0])?;
            g.layers(
                specs,
                &generator.network.layers,
                &shapes,
                "x0",
                IMAGE_OUTPUT,
            )?;
            std::iter::once(value_info(
                LATENT_INPUT,
                data_type::FLOAT,
                &[batch(), Dim::Fixed(dim)],
            ))
            .chain(classes.map(|_| value_info(LABEL_INPUT, data_type::INT64, &[batch()])))
            .collect()
        }
    };
    let graph = GraphProto {
        name: format!("gantry_{}_generator", meta.model_kind),
        node: g.nodes,
        initializer: g.initializers,
        input: inputs,
        output: vec![value_info(
            IMAGE_OUTPUT,
            data_type::FLOAT,
            &[batch(), Dim::Fixed(c), Dim::Fixed(h), Dim::Fixed(w)],
        )],
        doc_string: format!(
            "{} generator trained on {} by gantry",
            meta.model_kind, meta.dataset
        ),
        ..Default::default()
    };
    let doc = if let GeneratorInput::Source { .. } = spec.input {
        "A Pix2Pix generator: a low-resolution image in [-1, 1] to the full-size image in [-1, 1]."
    } else {
        "A GAN generator: latent z (standard normal) to images in [-1, 1]."
    };
    Ok(model_proto(graph, doc, meta.to_props()))
}

/// The nodes from `z` (and `label`) to `x0`, what a latent generator's layers read:
/// `[N, latent (+ embedding), 1, 1]`.
fn latent_input(
    g: &mut GraphBuilder,
    spec: &GanSpec,
    generator: &Generator,
    width: usize,
) -> Result<(), ExportError> {
    // A conditional generator's layers see [z, embedding(label)], as in the burn module.
    let network_input = match (spec.input.is_conditional(), &generator.label_embedding) {
        (true, Some(embedding)) => {
            let table = g.weight("label_embedding.weight".into(), values(&embedding.weight));
            g.nodes.push(node(
                "Gather",
                "label_embedding",
                &[&table, LABEL_INPUT],
                &["label_embedded"],
                vec![attr_int("axis", 0)],
            ));
            g.nodes.push(node(
                "Concat",
                "z_and_label",
                &[LATENT_INPUT, "label_embedded"],
                &["z_label"],
                vec![attr_int("axis", 1)],
            ));
            "z_label"
        }
        (false, None) => LATENT_INPUT,
        _ => {
            return Err(ExportError::Shape(
                "the module's label embedding does not match the spec".into(),
            ));
        }
    };
    let shape = g.shape_constant("z_shape".into(), [-1, width as i64, 1, 1]);
    g.nodes.push(node(
        "Reshape",
        "z_to_nchw",
        &[network_input, &shape],
        &["x0"],
        vec![],
    ));
    Ok(())
}

fn model_proto(
    graph: GraphProto,
    doc: &str,
    metadata_props: Vec<gantry_onnx::StringStringEntryProto>,
) -> ModelProto {
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET_VERSION,
        }],
        producer_name: "gantry".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        model_version: 1,
        doc_string: doc.into(),
        graph: Some(graph),
        metadata_props,
        ..Default::default()
    }
}

/// The ONNX `ModelProto` of a plain feed-forward network: input `input` `[N, c, h, w]`,
/// output `output` `[N, c', h', w']` (a feature vector is `[N, f, 1, 1]`). Used to export
/// the evaluation classifier, so a feature network runs in any ONNX runtime.
pub fn network_model(
    specs: &[LayerSpec],
    network: &Network,
    input_shape: [usize; 3],
    name: &str,
) -> Result<ModelProto, ExportError> {
    let shapes = infer_shapes(specs, input_shape).map_err(|e| ExportError::Shape(e.to_string()))?;
    let mut g = GraphBuilder {
        nodes: Vec::new(),
        initializers: Vec::new(),
    };
    g.layers(specs, &network.layers, &shapes, "input", "output")?;
    let batch = || Dim::Named("N".into());
    let dims = |[c, h, w]: [usize; 3]| vec![batch(), Dim::Fixed(c), Dim::Fixed(h), Dim::Fixed(w)];
    let graph = GraphProto {
        name: name.into(),
        node: g.nodes,
        initializer: g.initializers,
        input: vec![value_info("input", data_type::FLOAT, &dims(input_shape))],
        output: vec![value_info(
            "output",
            data_type::FLOAT,
            &dims(*shapes.last().expect("input shape")),
        )],
        ..Default::default()
    };
    Ok(model_proto(graph, name, vec![]))
}
