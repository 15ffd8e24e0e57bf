//! ONNX operators on burn tensors (floats) and host integers (shape arithmetic).

mod layout;
pub mod registry;

pub use registry::{OPERATORS, is_supported};

use crate::graph::{Node, tensor_value};
use crate::value::{Float, Ints, Value};
use burn::tensor::activation::{leaky_relu, relu, sigmoid, tanh};
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor};

type Inputs = Vec<Option<Value>>;

fn float(inputs: &Inputs, i: usize) -> Result<Float, String> {
    match inputs.get(i).cloned().flatten() {
        Some(Value::Float(f)) => Ok(f),
        Some(Value::Int(_)) => Err(format!("input {i} is an integer tensor, expected float")),
        None => Err(format!("input {i} is missing")),
    }
}

fn ints(inputs: &Inputs, i: usize) -> Result<Ints, String> {
    match inputs.get(i).cloned().flatten() {
        Some(Value::Int(v)) => Ok(v),
        Some(Value::Float(_)) => Err(format!("input {i} is a float tensor, expected integers")),
        None => Err(format!("input {i} is missing")),
    }
}

/// The first input, whatever its kind (operators that keep integer and float values alike).
fn first(inputs: Inputs) -> Result<Value, String> {
    inputs
        .into_iter()
        .next()
        .flatten()
        .ok_or_else(|| "input 0 is missing".to_string())
}

fn optional_float(inputs: &Inputs, i: usize) -> Result<Option<Float>, String> {
    match inputs.get(i).cloned().flatten() {
        None => Ok(None),
        Some(_) => float(inputs, i).map(Some),
    }
}

/// An axis attribute, negative counting from the end.
fn axis(axis: i64, rank: usize) -> Result<usize, String> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 0 || a as usize >= rank.max(1) {
        return Err(format!("axis {axis} out of range for rank {rank}"));
    }
    Ok(a as usize)
}

fn pair(values: Option<Vec<i64>>, default: usize, what: &str) -> Result<[usize; 2], String> {
    match values {
        None => Ok([default, default]),
        Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 0) => Ok([v[0] as usize, v[1] as usize]),
        Some(v) => Err(format!(
            "{what} {v:?}: expected two non-negative values (2-D operators only)"
        )),
    }
}

/// Strides and dilations: 0 would divide by zero (burn panics on it).
fn positive_pair(values: Option<Vec<i64>>, what: &str) -> Result<[usize; 2], String> {
    let p = pair(values, 1, what)?;
    if p.contains(&0) {
        return Err(format!("{what} {p:?}: must be at least 1"));
    }
    Ok(p)
}

/// Check the sizes burn would otherwise panic on: the kernel's reach must fit in the padded
/// input, and the bias must have one value per output channel.
fn check_window(
    input: [usize; 2],
    kernel: [usize; 2],
    pads: [(usize, usize); 2],
    dilations: [usize; 2],
    bias: Option<&Tensor<1>>,
    out_channels: usize,
) -> Result<(), String> {
    for i in 0..2 {
        let reach = dilations[i]
            .checked_mul(kernel[i].saturating_sub(1))
            .and_then(|r| r.checked_add(1));
        let room = input[i]
            .checked_add(pads[i].0)
            .and_then(|r| r.checked_add(pads[i].1));
        if kernel[i] == 0 || reach.zip(room).is_none_or(|(reach, room)| reach > room) {
            return Err(format!(
                "a {kernel:?} kernel (dilations {dilations:?}) does not fit a {input:?} input padded by {pads:?}"
            ));
        }
    }
    if let Some(b) = bias
        && b.dims()[0] != out_channels
    {
        return Err(format!(
            "{} bias values for {out_channels} output channels",
            b.dims()[0]
        ));
    }
    Ok(())
}

fn check_auto_pad(node: &Node) -> Result<(), String> {
    match node.attrs.string("auto_pad").as_deref() {
        None | Some("NOTSET") | Some("") => Ok(()),
        Some(other) => Err(format!(
            "auto_pad={other} is not supported (explicit pads are)"
        )),
    }
}

/// Run one node on its inputs (in order, `None` for omitted optional inputs).
pub fn run(node: &Node, inputs: Inputs, device: &Device) -> Result<Vec<Value>, String> {
    let one = |v: Value| Ok(vec![v]);
    match node.op.as_str() {
        "Identity" | "Dropout" => one(first(inputs)?),
        "Relu" => one(Value::Float(map(float(&inputs, 0)?, |t| relu(t)))),
        "Tanh" => one(Value::Float(map(float(&inputs, 0)?, |t| tanh(t)))),
        "Sigmoid" => one(Value::Float(map(float(&inputs, 0)?, |t| sigmoid(t)))),
        "LeakyRelu" => {
            let alpha = node.attrs.float("alpha", 0.01) as f64;
            one(Value::Float(map(float(&inputs, 0)?, |t| {
                leaky_relu(t, alpha)
            })))
        }
        "Conv" => one(Value::Float(Float::R4(conv(node, &inputs)?))),
        "ConvTranspose" => one(Value::Float(Float::R4(conv_transpose(node, &inputs)?))),
        "BatchNormalization" => one(Value::Float(batch_norm(node, &inputs)?)),
        "Gemm" => one(Value::Float(Float::R2(gemm(node, &inputs)?))),
        "MatMul" => one(Value::Float(matmul(
            float(&inputs, 0)?,
            float(&inputs, 1)?,
        )?)),
        "Add" | "Sub" | "Mul" | "Div" => one(binary(&node.op, inputs)?),
        "Reshape" => one(reshape(node, inputs)?),
        "Flatten" => {
            let x = float(&inputs, 0)?;
            let dims = x.dims();
            let a = if node.attrs.int("axis", 1) < 0 {
                node.attrs.int("axis", 1) + dims.len() as i64
            } else {
                node.attrs.int("axis", 1)
            };
            let a = a.clamp(0, dims.len() as i64) as usize;
            let outer: usize = dims[..a].iter().product();
            let inner: usize = dims[a..].iter().product();
            one(Value::Float(x.reshape(&[outer, inner])?))
        }
        "Unsqueeze" | "Squeeze" => one(squeeze_or_unsqueeze(node, inputs)?),
        "Shape" => {
            let dims = inputs
                .first()
                .cloned()
                .flatten()
                .ok_or("input 0 is missing")?
                .dims();
            let rank = dims.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
            let start = clamp(node.attrs.int("start", 0));
            let end = clamp(node.attrs.int("end", rank));
            one(Value::Int(Ints::vector(
                dims[start..end.max(start)]
                    .iter()
                    .map(|&d| d as i64)
                    .collect(),
            )))
        }
        "Gather" => one(gather(node, inputs, device)?),
        "Concat" => one(concat(node, inputs)?),
        "Constant" => one(constant(node, device)?),
        "Cast" => one(cast(node, inputs, device)?),
        "Resize" => one(Value::Float(Float::R4(resize(node, &inputs)?))),
        "Clip" => one(Value::Float(clip(node, &inputs)?)),
        "InstanceNormalization" => one(Value::Float(instance_norm(node, &inputs)?)),
        "Slice" => one(layout::slice(inputs, device)?),
        "Transpose" => one(layout::transpose(node, inputs, device)?),
        "Pad" => one(layout::pad(node, inputs, device)?),
        "ConstantOfShape" => one(layout::constant_of_shape(node, inputs, device)?),
        "Expand" => one(layout::expand(inputs, device)?),
        "Tile" => one(layout::tile(inputs, device)?),
        other => Err(format!("unsupported ONNX operator `{other}`")),
    }
}

/// `Resize`: nearest neighbour where it is an exact pixel repeat (integer factors on height
/// and width, output pixel `i` reading input pixel `⌊i/s⌋`: gantry's export, PyTorch's
/// `Upsample(mode="nearest")`), and bilinear (`linear`, PyTorch's `mode="bilinear"`) with
/// any positive factors under the half_pixel, pytorch_half_pixel, align_corners and
/// asymmetric mappings. Other modes are refused rather than approximated.
fn resize(node: &Node, inputs: &Inputs) -> Result<Tensor<4>, String> {
    let x = float(inputs, 0)?.as4()?;
    let dims = x.dims();
    let attr =
        |name: &str, default: &str| node.attrs.string(name).unwrap_or_else(|| default.into());
    let mode = attr("mode", "nearest");
    let transform = attr("coordinate_transformation_mode", "half_pixel");
    let rounding = attr("nearest_mode", "round_prefer_floor");
    let nearest = mode == "nearest"
        && matches!(
            (transform.as_str(), rounding.as_str()),
            ("asymmetric", "floor")
                | (
                    "half_pixel" | "pytorch_half_pixel",
                    "round_prefer_floor" | "round_prefer_ceil"
                )
        );
    let linear = mode == "linear"
        && matches!(
            transform.as_str(),
            "half_pixel" | "pytorch_half_pixel" | "align_corners" | "asymmetric"
        );
    if !nearest && !linear {
        return Err(format!(
            "Resize mode={mode} coordinate_transformation_mode={transform} nearest_mode={rounding} is not supported (nearest-neighbour repeats by integer factors, and linear, are)"
        ));
    }
    // Opset 10's Resize is (X, scales); later ones (X, roi, scales, sizes); opset 18's
    // `axes` names the axes the scales or sizes are for.
    let axes: Vec<usize> = match node.attrs.ints("axes") {
        None => (0..4).collect(),
        Some(a) => a.iter().map(|&a| axis(a, 4)).collect::<Result<_, _>>()?,
    };
    let scales_at = if inputs.len() == 2 { 1 } else { 2 };
    let (mut scales, mut out) = ([1.0f64; 4], dims);
    match (
        optional_float(inputs, scales_at)?,
        inputs.get(3).cloned().flatten(),
    ) {
        (Some(given), _) if given.dims().iter().product::<usize>() > 0 => {
            let given = given.values();
            if given.len() != axes.len() {
                return Err(format!("{} scales for axes {axes:?}", given.len()));
            }
            for (&a, &f) in axes.iter().zip(&given) {
                let f = f64::from(f);
                if !(f.is_finite() && f > 0.0) {
                    return Err(format!("scale {f} is not a positive number"));
                }
                scales[a] = f;
                out[a] = (dims[a] as f64 * f).floor() as usize;
            }
        }
        (_, Some(Value::Int(sizes))) => {
            if sizes.data.len() != axes.len() {
                return Err(format!("{} sizes for axes {axes:?}", sizes.data.len()));
            }
            for (&a, &size) in axes.iter().zip(&sizes.data) {
                out[a] = usize::try_from(size)
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("size {size} is not positive"))?;
                scales[a] = out[a] as f64 / dims[a].max(1) as f64;
            }
        }
        _ => return Err("Resize needs scales or sizes".into()),
    }
    let [n, c, h, w] = dims;
    if out[0] != n || out[1] != c {
        return Err(format!(
            "Resize of {dims:?} to {out:?}: only height and width may change"
        ));
    }
    crate::budget::check_values(&out, "the resized image")?;
    if linear {
        return Ok(bilinear(x, out, [scales[2], scales[3]], &transform));
    }
    let integer = |f: f64| (f >= 1.0 && f.fract() == 0.0).then_some(f as usize);
    match (integer(scales[2]), integer(scales[3])) {
        (Some(s), Some(t)) if s == t => Ok(x
            .reshape([n, c, h, 1, w, 1])
            .expand([n, c, h, s, w, s])
            .reshape([n, c, h * s, w * s])),
        _ => Err(format!(
            "nearest Resize by {:?}: only equal integer factors on height and width are supported",
            [scales[2], scales[3]]
        )),
    }
}

/// Bilinear resampling on the host, as ONNX's `linear` mode defines it: each output
/// coordinate mapped back by `transform`, the two nearest input pixels per axis blended,
/// coordinates outside the image clamped to its edge.
fn bilinear(
    x: Tensor<4>,
    [n, c, oh, ow]: [usize; 4],
    scales: [f64; 2],
    transform: &str,
) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let device = x.device();
    let input = Float::R4(x).values();
    // Per output index: (low, high, weight of high).
    let taps = |out: usize, len: usize, scale: f64| -> Vec<(usize, usize, f32)> {
        (0..out)
            .map(|i| {
                let i = i as f64;
                let source = match transform {
                    "align_corners" if out > 1 => i * (len as f64 - 1.0) / (out as f64 - 1.0),
                    "align_corners" => 0.0,
                    "asymmetric" => i / scale,
                    "pytorch_half_pixel" if out <= 1 => 0.0,
                    _ => (i + 0.5) / scale - 0.5,
                };
                let source = source.clamp(0.0, (len - 1) as f64);
                let low = source.floor() as usize;
                let high = (low + 1).min(len - 1);
                (low, high, (source - low as f64) as f32)
            })
            .collect()
    };
    let (rows, cols) = (taps(oh, h, scales[0]), taps(ow, w, scales[1]));
    let mut out = Vec::with_capacity(n * c * oh * ow);
    for plane in input.chunks_exact(h * w) {
        for &(y0, y1, wy) in &rows {
            for &(x0, x1, wx) in &cols {
                let at = |y: usize, x: usize| plane[y * w + x];
                let top = at(y0, x0) * (1.0 - wx) + at(y0, x1) * wx;
                let bottom = at(y1, x0) * (1.0 - wx) + at(y1, x1) * wx;
                out.push(top * (1.0 - wy) + bottom * wy);
            }
        }
    }
    Tensor::from_data(burn::tensor::TensorData::new(out, [n, c, oh, ow]), &device)
}

fn map(x: Float, f: impl Fn(Tensor<4>) -> Tensor<4>) -> Float {
    // Element-wise functions are rank-agnostic; run them at rank 4 and restore the shape.
    let dims = x.dims();
    let r4 = x.lift(4).expect("rank ≤ 4").as4().expect("rank 4");
    Float::R4(f(r4)).reshape(&dims).expect("same size")
}

fn conv(node: &Node, inputs: &Inputs) -> Result<Tensor<4>, String> {
    check_auto_pad(node)?;
    let x = float(inputs, 0)?.as4()?;
    let w = float(inputs, 1)?.as4()?;
    let bias = optional_float(inputs, 2)?.map(Float::as1).transpose()?;
    let strides = positive_pair(node.attrs.ints("strides"), "strides")?;
    let dilations = positive_pair(node.attrs.ints("dilations"), "dilations")?;
    let pads = match node.attrs.ints("pads") {
        None => [(0, 0), (0, 0)],
        Some(p) if p.len() == 4 && p.iter().all(|&v| v >= 0) => [
            (p[0] as usize, p[2] as usize),
            (p[1] as usize, p[3] as usize),
        ],
        Some(p) => return Err(format!("pads {p:?}: expected four non-negative values")),
    };
    let groups = node.attrs.int("group", 1).max(1) as usize;
    let [_, c, h, wi] = x.dims();
    let [out, wc, kh, kw] = w.dims();
    if Some(c) != wc.checked_mul(groups) || out % groups != 0 {
        return Err(format!(
            "input has {c} channels, the weight [{out}, {wc}, {kh}, {kw}] with {groups} groups expects {}",
            wc.saturating_mul(groups)
        ));
    }
    check_window([h, wi], [kh, kw], pads, dilations, bias.as_ref(), out)?;
    Ok(conv2d(
        x,
        w,
        bias,
        ConvOptions::new_with_padding(strides, pads, dilations, groups),
    ))
}

fn conv_transpose(node: &Node, inputs: &Inputs) -> Result<Tensor<4>, String> {
    check_auto_pad(node)?;
    if node.attrs.has("output_shape") {
        return Err(
            "the output_shape attribute is not supported (pads and output_padding are)".into(),
        );
    }
    let x = float(inputs, 0)?.as4()?;
    let w = float(inputs, 1)?.as4()?;
    let bias = optional_float(inputs, 2)?.map(Float::as1).transpose()?;
    let strides = positive_pair(node.attrs.ints("strides"), "strides")?;
    let dilations = positive_pair(node.attrs.ints("dilations"), "dilations")?;
    let output_padding = pair(node.attrs.ints("output_padding"), 0, "output_padding")?;
    let padding = match node.attrs.ints("pads") {
        None => [0, 0],
        Some(p) if p.len() == 4 && p[0] == p[2] && p[1] == p[3] && p.iter().all(|&v| v >= 0) => {
            [p[0] as usize, p[1] as usize]
        }
        Some(p) => {
            return Err(format!(
                "pads {p:?}: only symmetric padding is supported for ConvTranspose"
            ));
        }
    };
    let groups = node.attrs.int("group", 1).max(1) as usize;
    let [_, c, _, _] = x.dims();
    let [wc, per_group, kh, kw] = w.dims();
    if c != wc || c % groups != 0 {
        return Err(format!(
            "input has {c} channels, the weight expects {wc} in {groups} groups"
        ));
    }
    if output_padding[0] >= strides[0].max(dilations[0])
        || output_padding[1] >= strides[1].max(dilations[1])
    {
        return Err(format!(
            "output_padding {output_padding:?} must be smaller than the stride or dilation"
        ));
    }
    // The output must have at least one pixel: (in − 1)·s + d·(k − 1) + 1 + op > 2·pad.
    let [_, _, h, wi] = x.dims();
    for (i, (size, k)) in [(h, kh), (wi, kw)].into_iter().enumerate() {
        let full = size
            .saturating_sub(1)
            .saturating_mul(strides[i])
            .saturating_add(dilations[i].saturating_mul(k.saturating_sub(1)))
            .saturating_add(1 + output_padding[i]);
        if k == 0 || full <= 2 * padding[i] {
            return Err(format!(
                "pads {padding:?} leave no output for a {size}-pixel input and a {k}-wide kernel"
            ));
        }
    }
    let out_size = |i: usize, size: usize, k: usize| {
        (size.saturating_sub(1))
            .saturating_mul(strides[i])
            .saturating_add(dilations[i].saturating_mul(k.saturating_sub(1)))
            .saturating_add(1 + output_padding[i])
            .saturating_sub(2 * padding[i])
    };
    let [n, ..] = x.dims();
    crate::budget::check_values(
        &[
            n,
            per_group.saturating_mul(groups),
            out_size(0, h, kh),
            out_size(1, wi, kw),
        ],
        "the ConvTranspose output",
    )?;
    if let Some(b) = &bias
        && b.dims()[0] != per_group * groups
    {
        return Err(format!(
            "{} bias values for {} output channels",
            b.dims()[0],
            per_group * groups
        ));
    }
    Ok(conv_transpose2d(
        x,
        w,
        bias,
        ConvTransposeOptions::new(strides, padding, output_padding, dilations, groups),
    ))
}

fn batch_norm(node: &Node, inputs: &Inputs) -> Result<Float, String> {
    if node.attrs.int("training_mode", 0) != 0 {
        return Err("training_mode=1 is not supported (inference only)".into());
    }
    let x = float(inputs, 0)?;
    let dims = x.dims();
    if dims.len() < 2 {
        return Err(format!("input of shape {dims:?}: expected [N, C, ...]"));
    }
    let channels = dims[1];
    let eps = node.attrs.float("epsilon", 1e-5) as f64;
    // Per-channel parameters shaped [1, C, 1, 1] broadcast over a rank-4 view of x.
    let param = |i: usize| -> Result<Tensor<4>, String> {
        let p = float(inputs, i)?.as1()?;
        if p.dims()[0] != channels {
            return Err(format!(
                "input {i} has {} values for {channels} channels",
                p.dims()[0]
            ));
        }
        Ok(p.reshape([1, channels, 1, 1]))
    };
    let (scale, bias, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
    let spatial: usize = dims[2..].iter().product();
    let x4 = x.reshape(&[dims[0], channels, spatial, 1])?.as4()?;
    let y = (x4 - mean) / (var + eps).sqrt() * scale + bias;
    Float::R4(y).reshape(&dims)
}

/// `Clip` (PyTorch's Hardtanh, ReLU6): bounds from inputs 1 and 2 (opset 11+) or the
/// `min` / `max` attributes (before); either may be absent.
fn clip(node: &Node, inputs: &Inputs) -> Result<Float, String> {
    let bound = |i: usize, attr: &str| -> Result<Option<f32>, String> {
        match optional_float(inputs, i)? {
            Some(b) if b.dims().iter().product::<usize>() == 1 => Ok(b.values().first().copied()),
            Some(b) => Err(format!(
                "input {i} of shape {:?}: a bound is one value",
                b.dims()
            )),
            None => Ok(node.attrs.has(attr).then(|| node.attrs.float(attr, 0.0))),
        }
    };
    let (min, max) = (bound(1, "min")?, bound(2, "max")?);
    let x = float(inputs, 0)?;
    Ok(map(x, |t| match (min, max) {
        (Some(lo), Some(hi)) => t.clamp(lo, hi),
        (Some(lo), None) => t.clamp_min(lo),
        (None, Some(hi)) => t.clamp_max(hi),
        (None, None) => t,
    }))
}

/// `InstanceNormalization`: each (image, channel) normalised over its own pixels, then
/// scaled and shifted per channel (Pix2Pix's generators).
fn instance_norm(node: &Node, inputs: &Inputs) -> Result<Float, String> {
    let x = float(inputs, 0)?;
    let dims = x.dims();
    if dims.len() < 3 {
        return Err(format!("input of shape {dims:?}: expected [N, C, D1, ...]"));
    }
    let (n, channels) = (dims[0], dims[1]);
    let eps = node.attrs.float("epsilon", 1e-5) as f64;
    let param = |i: usize| -> Result<Tensor<3>, String> {
        let p = float(inputs, i)?.as1()?;
        if p.dims()[0] != channels {
            return Err(format!(
                "input {i} has {} values for {channels} channels",
                p.dims()[0]
            ));
        }
        Ok(p.reshape([1, channels, 1]))
    };
    let (scale, bias) = (param(1)?, param(2)?);
    let spatial: usize = dims[2..].iter().product();
    let x3: Tensor<3> = x
        .reshape(&[n, channels, spatial, 1])?
        .as4()?
        .reshape([n, channels, spatial]);
    let mean = x3.clone().mean_dim(2);
    let centred = x3 - mean;
    let var = centred.clone().powi_scalar(2).mean_dim(2);
    let y = centred / (var + eps).sqrt() * scale + bias;
    Float::R4(y.reshape([n, channels, spatial, 1])).reshape(&dims)
}

fn gemm(node: &Node, inputs: &Inputs) -> Result<Tensor<2>, String> {
    let mut a = float(inputs, 0)?.as2()?;
    let mut b = float(inputs, 1)?.as2()?;
    if node.attrs.int("transA", 0) != 0 {
        a = a.transpose();
    }
    if node.attrs.int("transB", 0) != 0 {
        b = b.transpose();
    }
    let (alpha, beta) = (
        node.attrs.float("alpha", 1.0),
        node.attrs.float("beta", 1.0),
    );
    let [_, k] = a.dims();
    let [kb, n] = b.dims();
    if k != kb {
        return Err(format!("cannot multiply [_, {k}] by [{kb}, {n}]"));
    }
    let mut y = a.matmul(b);
    if alpha != 1.0 {
        y = y * alpha;
    }
    if let Some(c) = optional_float(inputs, 2)? {
        let c = match c.lift(2)? {
            Float::R2(c) => c,
            other => return Err(format!("C of shape {:?}: expected rank ≤ 2", other.dims())),
        };
        y = y + c * beta;
    }
    Ok(y)
}

fn matmul(a: Float, b: Float) -> Result<Float, String> {
    let rank = a.rank().max(b.rank()).max(2);
    let (da, db) = (a.clone().lift(rank)?.dims(), b.clone().lift(rank)?.dims());
    // burn panics on these; the file decides them.
    if da[rank - 1] != db[rank - 2] || da[..rank - 2] != db[..rank - 2] {
        return Err(format!(
            "MatMul of shapes {da:?} and {db:?}: the sizes do not line up"
        ));
    }
    match (a.lift(rank)?, b.lift(rank)?) {
        (Float::R2(a), Float::R2(b)) => Ok(Float::R2(a.matmul(b))),
        (Float::R3(a), Float::R3(b)) => Ok(Float::R3(a.matmul(b))),
        (Float::R4(a), Float::R4(b)) => Ok(Float::R4(a.matmul(b))),
        (a, b) => Err(format!(
            "MatMul of shapes {:?} and {:?} is not supported",
            a.dims(),
            b.dims()
        )),
    }
}

fn binary(op: &str, inputs: Inputs) -> Result<Value, String> {
    let get = |i: usize| {
        inputs
            .get(i)
            .cloned()
            .flatten()
            .ok_or(format!("input {i} is missing"))
    };
    match (get(0)?, get(1)?) {
        (Value::Int(a), Value::Int(b)) => {
            // Shape arithmetic: element-wise on the host, a scalar broadcasting over a vector.
            let n = a.data.len().max(b.data.len());
            let at = |v: &Ints, i: usize| {
                if v.data.len() == 1 {
                    v.data[0]
                } else {
                    v.data[i]
                }
            };
            if (a.data.len() != n && a.data.len() != 1) || (b.data.len() != n && b.data.len() != 1)
            {
                return Err(format!(
                    "cannot broadcast integer shapes {:?} and {:?}",
                    a.dims, b.dims
                ));
            }
            let data = (0..n)
                .map(|i| {
                    let (x, y) = (at(&a, i), at(&b, i));
                    match op {
                        "Add" => x.checked_add(y),
                        "Sub" => x.checked_sub(y),
                        "Mul" => x.checked_mul(y),
                        _ => x.checked_div(y),
                    }
                    .ok_or_else(|| format!("{op} of {x} and {y} overflows or divides by zero"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let dims = if a.data.len() >= b.data.len() {
                a.dims
            } else {
                b.dims
            };
            Ok(Value::Int(Ints { dims, data }))
        }
        (Value::Float(a), Value::Float(b)) => {
            let rank = a.rank().max(b.rank());
            let (a, b) = (a.lift(rank)?, b.lift(rank)?);
            let (da, db) = (a.dims(), b.dims());
            if da
                .iter()
                .zip(&db)
                .any(|(x, y)| x != y && *x != 1 && *y != 1)
            {
                return Err(format!("cannot broadcast shapes {da:?} and {db:?}"));
            }
            macro_rules! apply {
                ($x:expr, $y:expr) => {
                    match op {
                        "Add" => $x + $y,
                        "Sub" => $x - $y,
                        "Mul" => $x * $y,
                        _ => $x / $y,
                    }
                };
            }
            Ok(Value::Float(match (a, b) {
                (Float::R1(x), Float::R1(y)) => Float::R1(apply!(x, y)),
                (Float::R2(x), Float::R2(y)) => Float::R2(apply!(x, y)),
                (Float::R3(x), Float::R3(y)) => Float::R3(apply!(x, y)),
                (Float::R4(x), Float::R4(y)) => Float::R4(apply!(x, y)),
                _ => unreachable!("lifted to the same rank"),
            }))
        }
        _ => Err(format!(
            "{op} of a float and an integer tensor: insert a Cast"
        )),
    }
}

fn reshape(node: &Node, inputs: Inputs) -> Result<Value, String> {
    let target = ints(&inputs, 1)?.data;
    // allowzero=1 (PyTorch's dynamo exporter writes it on every Reshape) only changes what
    // a 0 in the shape means: a literal empty axis instead of "copy the input's". Without a
    // 0 both read the same; an empty image is nothing a generator makes.
    if node.attrs.int("allowzero", 0) != 0 && target.contains(&0) {
        return Err(format!(
            "shape {target:?} with allowzero=1 asks for an empty tensor, which is not supported"
        ));
    }
    let x = first(inputs)?;
    let dims = x.dims();
    let total: usize = dims.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            0 => out.push(*dims.get(i).ok_or(format!(
                "shape {target:?}: 0 at axis {i} copies no input axis"
            ))?),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            t if t > 0 => out.push(t as usize),
            _ => return Err(format!("shape {target:?} is not valid")),
        }
    }
    // The target comes from the file: its product may overflow, and is then no match.
    let known = out.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if let Some(i) = infer {
        let known = known.filter(|&k| k != 0 && total % k == 0);
        let Some(known) = known else {
            return Err(format!("cannot reshape {dims:?} to {target:?}"));
        };
        out[i] = total / known;
    } else if known != Some(total) {
        return Err(format!(
            "cannot reshape {dims:?} ({total} values) to {target:?}"
        ));
    }
    match x {
        Value::Float(f) => Ok(Value::Float(f.reshape(&out)?)),
        Value::Int(mut v) => {
            if out.iter().product::<usize>() != v.data.len() {
                return Err(format!("cannot reshape {dims:?} to {target:?}"));
            }
            v.dims = out;
            Ok(Value::Int(v))
        }
    }
}

fn squeeze_or_unsqueeze(node: &Node, inputs: Inputs) -> Result<Value, String> {
    // Opset 13 moved `axes` from an attribute to an optional second input.
    let axes = match inputs.get(1).cloned().flatten() {
        Some(Value::Int(v)) => Some(v.data),
        Some(Value::Float(_)) => return Err("axes must be integers".into()),
        None => node.attrs.ints("axes"),
    };
    let x = first(inputs)?;
    let dims = x.dims();
    let out: Vec<usize> = if node.op == "Unsqueeze" {
        let axes = axes.ok_or("Unsqueeze needs axes")?;
        let rank = dims.len() + axes.len();
        let mut positions = axes
            .iter()
            .map(|&a| axis(a, rank))
            .collect::<Result<Vec<_>, _>>()?;
        positions.sort_unstable();
        if positions.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!("axes {axes:?} name an axis twice"));
        }
        let mut rest = dims.iter().copied();
        (0..rank)
            .map(|i| {
                if positions.contains(&i) {
                    1
                } else {
                    // Distinct positions leave exactly `dims.len()` slots.
                    rest.next().unwrap_or(1)
                }
            })
            .collect()
    } else {
        let positions = match axes {
            Some(axes) => axes
                .iter()
                .map(|&a| axis(a, dims.len()))
                .collect::<Result<Vec<_>, _>>()?,
            None => (0..dims.len()).filter(|&i| dims[i] == 1).collect(),
        };
        dims.iter()
            .enumerate()
            .filter(|(i, _)| !positions.contains(i))
            .map(|(_, &d)| d)
            .collect()
    };
    match x {
        Value::Int(mut v) => {
            v.dims = out;
            Ok(Value::Int(v))
        }
        Value::Float(f) if out.is_empty() => Ok(Value::Float(f.reshape(&[1])?)),
        Value::Float(f) => Ok(Value::Float(f.reshape(&out)?)),
    }
}

fn gather(node: &Node, inputs: Inputs, device: &Device) -> Result<Value, String> {
    let indices = ints(&inputs, 1)?;
    let data = first(inputs)?;
    let dims = data.dims();
    let a = axis(node.attrs.int("axis", 0), dims.len())?;
    let size = dims[a] as i64;
    let resolved: Vec<i64> = indices
        .data
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + size } else { i };
            if (0..size).contains(&j) {
                Ok(j)
            } else {
                Err(format!("index {i} out of range for axis of size {size}"))
            }
        })
        .collect::<Result<_, String>>()?;
    // Output shape: data dims with axis `a` replaced by the indices' dims.
    let mut out_dims = dims[..a].to_vec();
    out_dims.extend(&indices.dims);
    out_dims.extend(&dims[a + 1..]);
    match data {
        Value::Int(v) => {
            if dims.len() != 1 {
                return Err("Gather on integer tensors of rank > 1 is not supported".into());
            }
            Ok(Value::Int(Ints {
                dims: out_dims,
                data: resolved.iter().map(|&i| v.data[i as usize]).collect(),
            }))
        }
        Value::Float(f) => {
            let index = Ints::vector(resolved).to_tensor(device);
            let picked = match f {
                Float::R1(t) => Float::R1(t.select(a, index)),
                Float::R2(t) => Float::R2(t.select(a, index)),
                Float::R3(t) => Float::R3(t.select(a, index)),
                Float::R4(t) => Float::R4(t.select(a, index)),
            };
            let out_dims = if out_dims.is_empty() {
                vec![1]
            } else {
                out_dims
            };
            Ok(Value::Float(picked.reshape(&out_dims)?))
        }
    }
}

fn concat(node: &Node, inputs: Inputs) -> Result<Value, String> {
    let values: Vec<Value> = inputs.into_iter().flatten().collect();
    let first = values.first().ok_or("Concat of nothing")?;
    let rank = first.dims().len().max(1);
    let a = axis(node.attrs.int("axis", 0), rank)?;
    if values.iter().all(|v| matches!(v, Value::Int(_))) {
        if rank != 1 {
            return Err("Concat of integer tensors of rank > 1 is not supported".into());
        }
        let data: Vec<i64> = values
            .iter()
            .flat_map(|v| {
                if let Value::Int(i) = v {
                    i.data.clone()
                } else {
                    vec![]
                }
            })
            .collect();
        return Ok(Value::Int(Ints::vector(data)));
    }
    let floats: Vec<Float> = values
        .into_iter()
        .map(|v| match v {
            Value::Float(f) if f.rank() == rank => Ok(f),
            Value::Float(f) => Err(format!("Concat of ranks {rank} and {}", f.rank())),
            Value::Int(_) => Err("Concat of float and integer tensors: insert a Cast".to_string()),
        })
        .collect::<Result<_, _>>()?;
    // burn panics on parts that differ off the axis; a file must not be able to do that.
    let shape = floats[0].dims();
    if let Some(other) = floats.iter().map(Float::dims).find(|d| {
        d.iter()
            .zip(&shape)
            .enumerate()
            .any(|(i, (x, y))| i != a && x != y)
    }) {
        return Err(format!(
            "Concat on axis {a} of shapes {shape:?} and {other:?}: they differ off that axis"
        ));
    }
    macro_rules! cat {
        ($variant:ident) => {{
            let parts = floats
                .into_iter()
                .map(|f| match f {
                    Float::$variant(t) => Ok(t),
                    _ => Err("mixed ranks".to_string()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Float::$variant(Tensor::cat(parts, a))
        }};
    }
    Ok(Value::Float(match rank {
        1 => cat!(R1),
        2 => cat!(R2),
        3 => cat!(R3),
        4 => cat!(R4),
        r => return Err(format!("rank {r} is not supported")),
    }))
}

fn constant(node: &Node, device: &Device) -> Result<Value, String> {
    if let Some(t) = node.attrs.tensor("value") {
        return tensor_value(t, device);
    }
    if node.attrs.has("value_float") {
        return Ok(Value::Float(Float::from_values(
            vec![node.attrs.float("value_float", 0.0)],
            &[1],
            device,
        )?));
    }
    if let Some(v) = node.attrs.ints("value_ints") {
        return Ok(Value::Int(Ints::vector(v)));
    }
    if node.attrs.has("value_int") {
        return Ok(Value::Int(Ints {
            dims: vec![],
            data: vec![node.attrs.int("value_int", 0)],
        }));
    }
    Err("Constant without a supported value (value, value_float, value_int, value_ints)".into())
}

fn cast(node: &Node, inputs: Inputs, device: &Device) -> Result<Value, String> {
    use gantry_onnx::data_type as dt;
    let x = first(inputs)?;
    let to = node.attrs.int("to", 0) as i32;
    match (x, to) {
        (Value::Float(f), dt::FLOAT) => Ok(Value::Float(f)),
        (Value::Int(v), dt::INT64 | dt::INT32) => Ok(Value::Int(v)),
        (Value::Int(v), dt::FLOAT) => Ok(Value::Float(Float::from_values(
            v.data.iter().map(|&i| i as f32).collect(),
            &v.dims,
            device,
        )?)),
        (Value::Float(f), dt::INT64 | dt::INT32) => {
            let dims = f.dims();
            Ok(Value::Int(Ints {
                dims,
                data: f.values().iter().map(|&v| v as i64).collect(),
            }))
        }
        (_, other) => Err(format!("Cast to element type {other} is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::bilinear;
    use burn::tensor::{Device, Tensor, TensorData};

    fn row(values: &[f32]) -> Tensor<4> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [1, 1, 1, values.len()]),
            &Device::flex(),
        )
    }

    fn values(t: Tensor<4>) -> Vec<f32> {
        crate::value::Float::R4(t).values()
    }

    #[test]
    fn bilinear_follows_each_coordinate_mapping() {
        // align_corners: the ends stay put, the middle is halfway.
        let out = bilinear(row(&[0.0, 1.0]), [1, 1, 1, 3], [1.0, 1.5], "align_corners");
        assert_eq!(values(out), vec![0.0, 0.5, 1.0]);
        // asymmetric: x / scale, clamped at the right edge.
        let out = bilinear(row(&[0.0, 1.0]), [1, 1, 1, 4], [1.0, 2.0], "asymmetric");
        assert_eq!(values(out), vec![0.0, 0.5, 1.0, 1.0]);
        // half_pixel: (x + 0.5) / scale − 0.5, clamped at the left edge.
        let out = bilinear(row(&[0.0, 1.0]), [1, 1, 1, 4], [1.0, 2.0], "half_pixel");
        assert_eq!(values(out), vec![0.0, 0.25, 0.75, 1.0]);
    }
}
