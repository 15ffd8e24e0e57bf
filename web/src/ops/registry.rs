//! Which operators the runtime runs: one list, read by the loader, the docs and the tests.

/// Every operator this runtime runs (ONNX default domain) and what of it: the one list
/// the loader checks files against and `web/README.md`'s table is generated from
/// (`web/tests/readme.rs` fails when they drift, and checks each name reaches `ops::run`).
pub const OPERATORS: &[(&str, &str)] = &[
    (
        "Add",
        "NumPy broadcasting on floats; integer shape arithmetic (overflow refused)",
    ),
    (
        "BatchNormalization",
        "inference (`training_mode` 0), any epsilon",
    ),
    ("Cast", "to float32, int32, int64"),
    (
        "Clip",
        "bounds as inputs (opset 11+) or `min`/`max` attributes; either may be absent",
    ),
    (
        "Concat",
        "floats of rank ≤ 4, parts equal off the axis; integer vectors",
    ),
    (
        "Constant",
        "`value`, `value_float`, `value_int`, `value_ints`",
    ),
    (
        "ConstantOfShape",
        "float or integer `value`, at most 2^28 values",
    ),
    (
        "Conv",
        "2-D, explicit `pads` (`auto_pad` NOTSET), `strides`, `dilations`, `group`",
    ),
    (
        "ConvTranspose",
        "2-D, symmetric `pads`, `output_padding`, `strides`, `dilations`, `group`; no `output_shape`",
    ),
    ("Div", "as Add"),
    ("Dropout", "inference: passes its input through"),
    (
        "Expand",
        "NumPy broadcasting to the shape input, within the memory budget",
    ),
    ("Flatten", "any `axis`"),
    (
        "Gather",
        "any `axis`: embedding lookups and shape arithmetic",
    ),
    ("Gemm", "`transA`, `transB`, `alpha`, `beta`, optional C"),
    ("Identity", ""),
    ("InstanceNormalization", "any epsilon"),
    ("LeakyRelu", "`alpha`"),
    ("MatMul", "ranks 2–4, equal batch axes"),
    ("Mul", "as Add"),
    (
        "Pad",
        "`constant` mode; `pads`, `constant_value`, `axes` as inputs (opsets 11, 18)",
    ),
    ("Relu", ""),
    (
        "Reshape",
        "0 and −1 in the shape; `allowzero` when the shape has no 0",
    ),
    (
        "Resize",
        "nearest (equal integer factors on height and width) and linear (any factors; half_pixel, pytorch_half_pixel, align_corners, asymmetric), by `scales` or `sizes` (opset 10 form, opset 18 `axes`)",
    ),
    ("Shape", "`start`, `end`"),
    ("Sigmoid", ""),
    (
        "Slice",
        "`starts`, `ends`, `axes`, `steps` as inputs, negative steps",
    ),
    ("Squeeze", "`axes` as attribute or input (opset 13+)"),
    ("Sub", "as Add"),
    ("Tanh", ""),
    ("Tile", "`repeats` input, within the memory budget"),
    ("Transpose", "`perm`"),
    ("Unsqueeze", "`axes` as attribute or input (opset 13+)"),
];

/// Whether `op` is one of [`OPERATORS`].
pub fn is_supported(op: &str) -> bool {
    OPERATORS.iter().any(|(name, _)| *name == op)
}
