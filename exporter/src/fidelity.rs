//! `gantry export --for torch-fidelity`: a generator as torch-fidelity reads an ONNX one
//! (`fidelity --input1 g.onnx --input1-model-z-size 100 [--input1-model-num-classes 10]`).
//!
//! torch-fidelity (`GenerativeModelONNX`) feeds the file's inputs in order: `z` float32
//! `[N, z_size]` from its noise source (`normal` by default, as gantry's z), then, for a
//! conditional model, labels int64 `[N]`; and it hands the first output straight to its
//! feature extractor, which takes uint8 images `[N, 3, H, W]` in 0–255. So this appends to
//! the float graph what turns its image into such bytes — exactly as gantry's PNGs are
//! made ([`grid::byte`]) — and repeats a grey image to three channels.
//!
//! [`grid::byte`]: gantry_onnx::contract::grid::byte

use crate::graph::ExportError;
use gantry_onnx::build::{Dim, attr_int, node, tensor_f32, value_info};
use gantry_onnx::contract::{GeneratorInput, IMAGE_OUTPUT, ModelMetadata};
use gantry_onnx::{ModelProto, data_type};

/// The float image inside the graph, once the output is the bytes.
const FLOAT_IMAGE: &str = "image_float";

/// `model` (the float export of a generator described by `meta`) with its output `image`
/// made uint8 `[N, 3, H, W]`.
pub fn for_torch_fidelity(
    mut model: ModelProto,
    meta: &ModelMetadata,
) -> Result<ModelProto, ExportError> {
    if let GeneratorInput::Source { .. } = meta.input {
        return Err(ExportError::Shape(
            "torch-fidelity draws from noise; an upscaler takes images \
             (use `gantry sample --out-dir` on its outputs instead)"
                .into(),
        ));
    }
    let [c, h, w] = meta.image_shape;
    if c != 1 && c != 3 {
        return Err(ExportError::Shape(format!(
            "torch-fidelity takes grey or RGB images, not {c} channels"
        )));
    }
    let graph = model.graph.as_mut().expect("an exported model has a graph");
    for n in &mut graph.node {
        for output in n.output.iter_mut().filter(|o| *o == IMAGE_OUTPUT) {
            *output = FLOAT_IMAGE.into();
        }
    }
    let [lo, hi] = meta.value_range;
    // grid::byte's steps, in its order, each a float32 op as there.
    let constants = [
        ("fidelity_lo", lo),
        ("fidelity_span", hi - lo),
        ("fidelity_zero", 0.0),
        ("fidelity_one", 1.0),
        ("fidelity_255", 255.0),
        ("fidelity_half", 0.5),
    ];
    graph.initializer.extend(
        constants
            .iter()
            .map(|(name, value)| tensor_f32(name, &[], &[*value])),
    );
    let steps: [(&str, &[&str], &str); 6] = [
        ("Sub", &[FLOAT_IMAGE, "fidelity_lo"], "fidelity_shifted"),
        (
            "Div",
            &["fidelity_shifted", "fidelity_span"],
            "fidelity_unit",
        ),
        (
            "Clip",
            &["fidelity_unit", "fidelity_zero", "fidelity_one"],
            "fidelity_clipped",
        ),
        (
            "Mul",
            &["fidelity_clipped", "fidelity_255"],
            "fidelity_scaled",
        ),
        (
            "Add",
            &["fidelity_scaled", "fidelity_half"],
            "fidelity_rounding",
        ),
        ("Floor", &["fidelity_rounding"], "fidelity_levels"),
    ];
    for (op, inputs, output) in steps {
        graph.node.push(node(op, output, inputs, &[output], vec![]));
    }
    let levels = if c == 1 {
        // Grey to RGB, as torch-fidelity's own image loader (PIL's convert('RGB')) does.
        graph.node.push(node(
            "Concat",
            "fidelity_grey_to_rgb",
            &["fidelity_levels"; 3],
            &["fidelity_rgb"],
            vec![attr_int("axis", 1)],
        ));
        "fidelity_rgb"
    } else {
        "fidelity_levels"
    };
    graph.node.push(node(
        "Cast",
        "fidelity_bytes",
        &[levels],
        &[IMAGE_OUTPUT],
        vec![attr_int("to", data_type::UINT8 as i64)],
    ));
    graph.output = vec![value_info(
        IMAGE_OUTPUT,
        data_type::UINT8,
        &[
            Dim::Named("N".into()),
            Dim::Fixed(3),
            Dim::Fixed(h),
            Dim::Fixed(w),
        ],
    )];
    model.doc_string = format!(
        "{} For torch-fidelity: images as uint8 [N, 3, H, W] in 0-255.",
        model.doc_string
    );
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(input: GeneratorInput, image_shape: [usize; 3]) -> ModelMetadata {
        ModelMetadata {
            model_kind: "test".into(),
            dataset: "test".into(),
            class_names: Vec::new(),
            input,
            image_shape,
            value_range: [-1.0, 1.0],
            epochs: 0,
            steps: 0,
            quality: Default::default(),
        }
    }

    #[test]
    fn an_upscaler_or_an_image_of_other_channels_is_refused() {
        let upscaler = meta(
            GeneratorInput::Source {
                shape: [3, 8, 8],
                scale: 4,
            },
            [3, 32, 32],
        );
        let err = for_torch_fidelity(ModelProto::default(), &upscaler).unwrap_err();
        assert!(err.to_string().contains("upscaler"), "{err}");
        let latent = GeneratorInput::Latent {
            dim: 100,
            classes: None,
        };
        let err =
            for_torch_fidelity(ModelProto::default(), &meta(latent, [2, 28, 28])).unwrap_err();
        assert!(err.to_string().contains("2 channels"), "{err}");
    }
}
