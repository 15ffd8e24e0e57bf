//! Which operators the runtime runs: one registry, keyed by ONNX op type, read by the loader
//! (each node's op is built by its entry), the docs and the tests.

use super::{Build, conv, elementwise, layout, linear, norm, resize, shape, stateless};

/// One operator this runtime runs (ONNX default domain).
pub struct OpDef {
    /// The ONNX op type.
    pub name: &'static str,
    /// What of it is supported, in words: `web/README.md`'s table.
    pub about: &'static str,
    /// Reads a node's attributes into the op a plan step runs.
    pub build: Build,
    /// The inputs whose values, not only their shapes, decide the output's shape (a
    /// Reshape's target shape): the plan infers shapes once per input size only where
    /// these come from constants or from shapes.
    pub shape_from: &'static [usize],
}

/// Every operator this runtime runs, in name order: the one list the loader checks files
/// against and `web/README.md`'s table is generated from (`web/tests/readme.rs` fails when
/// they drift).
pub const OPERATORS: &[OpDef] = &[
    OpDef {
        name: "Add",
        about: "NumPy broadcasting on floats; integer shape arithmetic (overflow refused)",
        build: elementwise::Arithmetic::add,
        shape_from: &[],
    },
    OpDef {
        name: "BatchNormalization",
        about: "inference (`training_mode` 0), any epsilon; with constant statistics, folded at load into the Conv, ConvTranspose or Gemm before it, or one multiply-add per channel",
        build: norm::BatchNorm::build,
        shape_from: &[],
    },
    OpDef {
        name: "Cast",
        about: "to float32, int32, int64",
        build: shape::Cast::build,
        shape_from: &[],
    },
    OpDef {
        name: "Clip",
        about: "bounds as inputs (opset 11+) or `min`/`max` attributes; either may be absent",
        build: elementwise::Clip::build,
        shape_from: &[],
    },
    OpDef {
        name: "Concat",
        about: "floats of rank ≤ 4, parts equal off the axis; integer vectors",
        build: shape::Concat::build,
        shape_from: &[],
    },
    OpDef {
        name: "Constant",
        about: "`value`, `value_float`, `value_int`, `value_ints`",
        build: shape::Constant::build,
        shape_from: &[],
    },
    OpDef {
        name: "ConstantOfShape",
        about: "float or integer `value`, at most 2^28 values",
        build: layout::ConstantOfShape::build,
        shape_from: &[0],
    },
    OpDef {
        name: "Conv",
        about: "2-D, explicit `pads` (`auto_pad` NOTSET), `strides`, `dilations`, `group`; with constant weights, one group, no dilation and symmetric pads, one whole-batch product (gantry-kernels, as in training)",
        build: conv::Conv::build,
        shape_from: &[],
    },
    OpDef {
        name: "ConvTranspose",
        about: "2-D, symmetric `pads`, `output_padding`, `strides`, `dilations`, `group`; no `output_shape`; with constant weights, one group and no dilation, one whole-batch product (gantry-kernels, as in training)",
        build: conv::ConvTranspose::build,
        shape_from: &[],
    },
    OpDef {
        name: "Div",
        about: "as Add",
        build: elementwise::Arithmetic::div,
        shape_from: &[],
    },
    OpDef {
        name: "Dropout",
        about: "inference: passes its input through",
        build: stateless::<elementwise::Identity>,
        shape_from: &[],
    },
    OpDef {
        name: "Expand",
        about: "NumPy broadcasting to the shape input, within the memory budget",
        build: stateless::<layout::Expand>,
        shape_from: &[1],
    },
    OpDef {
        name: "Flatten",
        about: "any `axis`",
        build: shape::Flatten::build,
        shape_from: &[],
    },
    OpDef {
        name: "Gather",
        about: "any `axis`: embedding lookups and shape arithmetic",
        build: shape::Gather::build,
        shape_from: &[],
    },
    OpDef {
        name: "Gemm",
        about: "`transA`, `transB`, `alpha`, `beta`, optional C; with constant B and a row (or scalar) C, packed at load: alpha·B as the `k × n` matrix gemm reads, beta·C the row each product starts from, columns split over the thread pool",
        build: linear::Gemm::build,
        shape_from: &[],
    },
    OpDef {
        name: "Identity",
        about: "",
        build: stateless::<elementwise::Identity>,
        shape_from: &[],
    },
    OpDef {
        name: "InstanceNormalization",
        about: "any epsilon",
        build: norm::InstanceNorm::build,
        shape_from: &[],
    },
    OpDef {
        name: "LeakyRelu",
        about: "`alpha`",
        build: elementwise::Activation::leaky_relu,
        shape_from: &[],
    },
    OpDef {
        name: "MatMul",
        about: "ranks 2–4, equal batch axes",
        build: stateless::<linear::MatMul>,
        shape_from: &[],
    },
    OpDef {
        name: "Mul",
        about: "as Add",
        build: elementwise::Arithmetic::mul,
        shape_from: &[],
    },
    OpDef {
        name: "Pad",
        about: "`constant` mode; `pads`, `constant_value`, `axes` as inputs (opsets 11, 18)",
        build: layout::Pad::build,
        shape_from: &[1, 3],
    },
    OpDef {
        name: "Relu",
        about: "",
        build: elementwise::Activation::relu,
        shape_from: &[],
    },
    OpDef {
        name: "Reshape",
        about: "0 and −1 in the shape; `allowzero` when the shape has no 0",
        build: shape::Reshape::build,
        shape_from: &[1],
    },
    OpDef {
        name: "Resize",
        about: "nearest (equal integer factors on height and width) and linear (any factors; half_pixel, pytorch_half_pixel, align_corners, asymmetric), by `scales` or `sizes` (opset 10 form, opset 18 `axes`)",
        build: resize::Resize::build,
        shape_from: &[1, 2, 3],
    },
    OpDef {
        name: "Shape",
        about: "`start`, `end`",
        build: shape::Shape::build,
        shape_from: &[],
    },
    OpDef {
        name: "Sigmoid",
        about: "`(1 + tanh(x/2)) / 2` with Tanh's approximation, within 5e-7",
        build: elementwise::Activation::sigmoid,
        shape_from: &[],
    },
    OpDef {
        name: "Slice",
        about: "`starts`, `ends`, `axes`, `steps` as inputs, negative steps",
        build: stateless::<layout::Slice>,
        shape_from: &[1, 2, 3, 4],
    },
    OpDef {
        name: "Squeeze",
        about: "`axes` as attribute or input (opset 13+)",
        build: shape::Squeeze::squeeze,
        shape_from: &[1],
    },
    OpDef {
        name: "Sub",
        about: "as Add",
        build: elementwise::Arithmetic::sub,
        shape_from: &[],
    },
    OpDef {
        name: "Tanh",
        about: "the rational approximation Eigen and ONNX Runtime's MLAS use (degrees 13 / 6), within 5e-7, vectorised",
        build: elementwise::Activation::tanh,
        shape_from: &[],
    },
    OpDef {
        name: "Tile",
        about: "`repeats` input, within the memory budget",
        build: stateless::<layout::Tile>,
        shape_from: &[1],
    },
    OpDef {
        name: "Transpose",
        about: "`perm`",
        build: layout::Transpose::build,
        shape_from: &[],
    },
    OpDef {
        name: "Unsqueeze",
        about: "`axes` as attribute or input (opset 13+)",
        build: shape::Squeeze::unsqueeze,
        shape_from: &[1],
    },
];

/// The registry's entry for `op`.
pub fn find(op: &str) -> Option<&'static OpDef> {
    OPERATORS.iter().find(|def| def.name == op)
}
