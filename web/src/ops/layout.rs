//! Operators that move values without arithmetic — Slice, Transpose, Pad, ConstantOfShape —
//! on both kinds of value: the shape arithmetic exporters emit (TorchScript writes a
//! ZeroPad2d as ConstantOfShape → Concat → Reshape → Slice with step −1 → Transpose → Cast)
//! and float activations. They run on the host over flat values: they are rare in
//! generators and never in an inner loop.

use super::{Inputs, Op, first, ints};
use crate::graph::Attrs;
use crate::value::{Float, Ints, Value};
use burn::tensor::Device;

/// A value's flat contents, of either kind, with its shape.
enum Flat {
    Float(Vec<f32>),
    Int(Vec<i64>),
}

fn flatten(value: Value) -> (Flat, Vec<usize>) {
    match value {
        Value::Float(f) => {
            let dims = f.dims();
            (Flat::Float(f.values()), dims)
        }
        Value::Int(i) => (Flat::Int(i.data), i.dims),
    }
}

fn rebuild(flat: Flat, dims: Vec<usize>, device: &Device) -> Result<Value, String> {
    Ok(match flat {
        Flat::Float(values) => Value::Float(Float::from_values(values, &dims, device)?),
        Flat::Int(data) => Value::Int(Ints { dims, data }),
    })
}

/// A value made from a file's numbers is refused past the memory budget before it is
/// allocated (a hostile ConstantOfShape or Pad).
fn count(dims: &[usize]) -> Result<usize, String> {
    crate::budget::check_values(dims, "a value")
}

fn strides(dims: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    strides
}

/// The output's values: for each output position, the flat input index `source` gives
/// (`None`: the padding value).
fn gather_flat<T: Copy>(
    input: &[T],
    out_dims: &[usize],
    pad: T,
    source: impl Fn(&[usize]) -> Option<usize>,
) -> Vec<T> {
    let total: usize = out_dims.iter().product();
    let mut index = vec![0usize; out_dims.len()];
    let mut out = Vec::with_capacity(total);
    for _ in 0..total {
        out.push(source(&index).map_or(pad, |i| input[i]));
        for axis in (0..index.len()).rev() {
            index[axis] += 1;
            if index[axis] < out_dims[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

fn remap(
    flat: Flat,
    out_dims: &[usize],
    pad: f32,
    source: impl Fn(&[usize]) -> Option<usize>,
) -> Flat {
    match flat {
        Flat::Float(v) => Flat::Float(gather_flat(&v, out_dims, pad, source)),
        Flat::Int(v) => Flat::Int(gather_flat(&v, out_dims, pad as i64, source)),
    }
}

/// [`remap`] where each output axis reads one input axis on its own (Slice, Pad, Expand,
/// Tile): `source(axis, i)` is the input index along `axis` for output index `i`, `None`
/// for padding. The output size is checked against the budget first.
fn per_axis(
    flat: Flat,
    in_dims: &[usize],
    out_dims: &[usize],
    pad: f32,
    source: impl Fn(usize, usize) -> Option<usize>,
) -> Result<Flat, String> {
    count(out_dims)?;
    let in_strides = strides(in_dims);
    Ok(remap(flat, out_dims, pad, |index| {
        index
            .iter()
            .enumerate()
            .map(|(a, &i)| source(a, i).map(|s| s * in_strides[a]))
            .sum()
    }))
}

fn axis(a: i64, rank: usize) -> Result<usize, String> {
    super::axis(a, rank)
}

/// `Transpose`: `perm` (default: reversed axes).
#[derive(Debug)]
pub struct Transpose {
    perm: Option<Vec<i64>>,
}

impl Transpose {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Transpose {
            perm: attrs.ints("perm"),
        }))
    }
}

impl Op for Transpose {
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String> {
        transpose(self.perm.as_deref(), inputs, device)
    }
}

fn transpose(perm: Option<&[i64]>, inputs: Inputs, device: &Device) -> Result<Value, String> {
    let (flat, dims) = flatten(first(inputs)?);
    let rank = dims.len();
    let perm: Vec<usize> = match perm {
        Some(p) => p.iter().map(|&a| axis(a, rank)).collect::<Result<_, _>>()?,
        None => (0..rank).rev().collect(),
    };
    let mut seen = perm.clone();
    seen.sort_unstable();
    if seen != (0..rank).collect::<Vec<_>>() {
        return Err(format!("perm {perm:?} is not a permutation of {rank} axes"));
    }
    let in_strides = strides(&dims);
    let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    let out = remap(flat, &out_dims, 0.0, |index| {
        Some(
            index
                .iter()
                .zip(&perm)
                .map(|(&i, &p)| i * in_strides[p])
                .sum(),
        )
    });
    rebuild(out, out_dims, device)
}

/// `Slice` (opset 10+: starts, ends, axes, steps as inputs), negative steps included.
#[derive(Debug, Default)]
pub struct Slice;

impl Op for Slice {
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String> {
        slice(inputs, device)
    }
}

fn slice(inputs: Inputs, device: &Device) -> Result<Value, String> {
    let starts = ints(&inputs, 1)?.data;
    let ends = ints(&inputs, 2)?.data;
    let given = |i: usize| inputs.get(i).cloned().flatten().is_some();
    let (flat, dims) = flatten(first(inputs.clone())?);
    let rank = dims.len();
    let axes: Vec<usize> = if given(3) {
        ints(&inputs, 3)?
            .data
            .iter()
            .map(|&a| axis(a, rank))
            .collect::<Result<_, _>>()?
    } else {
        (0..starts.len()).collect()
    };
    let steps = if given(4) {
        ints(&inputs, 4)?.data
    } else {
        vec![1; starts.len()]
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err("starts, ends, axes and steps must have one value per sliced axis".into());
    }
    // Per axis: the first index taken and the step; the output size.
    let mut first_index: Vec<i64> = vec![0; rank];
    let mut step_of: Vec<i64> = vec![1; rank];
    let mut out_dims = dims.clone();
    for (k, &a) in axes.iter().enumerate() {
        let size = dims[a] as i64;
        let step = steps[k];
        if step == 0 {
            return Err("a step of 0".into());
        }
        let resolve = |v: i64| if v < 0 { v.saturating_add(size) } else { v };
        let (start, end) = (resolve(starts[k]), resolve(ends[k]));
        // The ONNX clamping rules: [0, size] going forward; start in [0, size − 1] and
        // end in [−1, size − 1] going backward (an end of −1 reaches index 0).
        let (start, n) = if size == 0 {
            (0, 0)
        } else if step > 0 {
            let (s, e) = (start.clamp(0, size), end.clamp(0, size));
            (s, if e > s { (e - s + step - 1) / step } else { 0 })
        } else {
            let (s, e) = (start.clamp(0, size - 1), end.clamp(-1, size - 1));
            let back = step.saturating_neg();
            (s, if s > e { (s - e + back - 1) / back } else { 0 })
        };
        first_index[a] = start;
        step_of[a] = step;
        out_dims[a] = n as usize;
    }
    let out = per_axis(flat, &dims, &out_dims, 0.0, |a, i| {
        Some((first_index[a] + i as i64 * step_of[a]) as usize)
    })?;
    rebuild(out, out_dims, device)
}

/// `Pad` in `constant` mode (opset 11+: pads, constant_value and, from 18, axes as inputs).
#[derive(Debug)]
pub struct Pad;

impl Pad {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        match attrs.string("mode").as_deref() {
            None | Some("constant") => Ok(Box::new(Pad)),
            Some(mode) => Err(format!("mode={mode} is not supported (constant is)")),
        }
    }
}

impl Op for Pad {
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String> {
        pad(inputs, device)
    }
}

fn pad(inputs: Inputs, device: &Device) -> Result<Value, String> {
    let pads = ints(&inputs, 1)?.data;
    let value = match inputs.get(2).cloned().flatten() {
        Some(Value::Float(f)) => f.values().first().copied().unwrap_or(0.0),
        Some(Value::Int(i)) => i.data.first().copied().unwrap_or(0) as f32,
        None => 0.0,
    };
    let given_axes = inputs.get(3).cloned().flatten().is_some();
    let (flat, dims) = flatten(first(inputs.clone())?);
    let rank = dims.len();
    let axes: Vec<usize> = if given_axes {
        ints(&inputs, 3)?
            .data
            .iter()
            .map(|&a| axis(a, rank))
            .collect::<Result<_, _>>()?
    } else {
        (0..rank).collect()
    };
    if pads.len() != 2 * axes.len() {
        return Err(format!(
            "{} pads for {} axes: expected begin and end for each",
            pads.len(),
            axes.len()
        ));
    }
    let mut before = vec![0i64; rank];
    let mut out_dims = dims.clone();
    for (k, &a) in axes.iter().enumerate() {
        let (b, e) = (pads[k], pads[k + axes.len()]);
        let size = dims[a] as i64 + b + e;
        if size < 0 {
            return Err(format!("pads {pads:?} crop axis {a} below nothing"));
        }
        before[a] = b;
        out_dims[a] = size as usize;
    }
    let out = per_axis(flat, &dims, &out_dims, value, |a, i| {
        usize::try_from(i as i64 - before[a])
            .ok()
            .filter(|&source| source < dims[a])
    })?;
    rebuild(out, out_dims, device)
}

/// `Expand`: broadcast to `shape` (input 1) by the NumPy rules — sizes 1 stretch, the
/// shorter shape is aligned on the right.
#[derive(Debug, Default)]
pub struct Expand;

impl Op for Expand {
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String> {
        expand(inputs, device)
    }
}

fn expand(inputs: Inputs, device: &Device) -> Result<Value, String> {
    let shape = ints(&inputs, 1)?.data;
    let (flat, dims) = flatten(first(inputs)?);
    let rank = dims.len().max(shape.len());
    let pad = |v: &[usize]| -> Vec<usize> {
        std::iter::repeat_n(1, rank - v.len())
            .chain(v.iter().copied())
            .collect()
    };
    let target: Vec<usize> = shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("Expand to {shape:?}: a negative size")))
        .collect::<Result<_, _>>()?;
    let (input, target) = (pad(&dims), pad(&target));
    let mut out_dims = Vec::with_capacity(rank);
    for (&a, &b) in input.iter().zip(&target) {
        out_dims.push(match (a, b) {
            (a, b) if a == b || b == 1 => a,
            (1, b) => b,
            _ => return Err(format!("cannot expand {dims:?} to {shape:?}")),
        });
    }
    let out = per_axis(flat, &input, &out_dims, 0.0, |a, i| {
        Some(if input[a] == 1 { 0 } else { i })
    })?;
    rebuild(out, out_dims, device)
}

/// `Tile`: the input repeated `repeats[i]` times along each axis.
#[derive(Debug, Default)]
pub struct Tile;

impl Op for Tile {
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String> {
        tile(inputs, device)
    }
}

fn tile(inputs: Inputs, device: &Device) -> Result<Value, String> {
    let repeats = ints(&inputs, 1)?.data;
    let (flat, dims) = flatten(first(inputs)?);
    if repeats.len() != dims.len() {
        return Err(format!(
            "{} repeats for a rank-{} input",
            repeats.len(),
            dims.len()
        ));
    }
    let out_dims: Vec<usize> = dims
        .iter()
        .zip(&repeats)
        .map(|(&d, &r)| {
            usize::try_from(r)
                .ok()
                .and_then(|r| d.checked_mul(r))
                .ok_or_else(|| format!("repeats {repeats:?}: negative or too large"))
        })
        .collect::<Result<_, _>>()?;
    let out = per_axis(flat, &dims, &out_dims, 0.0, |a, i| Some(i % dims[a]))?;
    rebuild(out, out_dims, device)
}

/// `ConstantOfShape`: a tensor of the shape its input gives, filled with `value` (default
/// float 0).
#[derive(Debug)]
pub enum ConstantOfShape {
    Float(f32),
    Int(i64),
}

impl ConstantOfShape {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(match attrs.tensor("value") {
            Some(t) if t.data_type != gantry_onnx::data_type::FLOAT => {
                ConstantOfShape::Int(t.i64_values()?.first().copied().unwrap_or(0))
            }
            Some(t) => ConstantOfShape::Float(t.f32_values()?.first().copied().unwrap_or(0.0)),
            None => ConstantOfShape::Float(0.0),
        }))
    }
}

impl Op for ConstantOfShape {
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String> {
        constant_of_shape(self, inputs, device)
    }
}

fn constant_of_shape(
    value: &ConstantOfShape,
    inputs: Inputs,
    device: &Device,
) -> Result<Value, String> {
    let shape = ints(&inputs, 0)?.data;
    let dims: Vec<usize> = shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("shape {shape:?} has a negative size")))
        .collect::<Result<_, _>>()?;
    let n = count(&dims)?;
    match *value {
        ConstantOfShape::Int(v) => Ok(Value::Int(Ints {
            dims,
            data: vec![v; n],
        })),
        ConstantOfShape::Float(v) => rebuild(Flat::Float(vec![v; n]), dims, device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints_value(dims: &[usize], data: &[i64]) -> Option<Value> {
        Some(Value::Int(Ints {
            dims: dims.to_vec(),
            data: data.to_vec(),
        }))
    }

    fn data(v: Value) -> (Vec<usize>, Vec<i64>) {
        match v {
            Value::Int(i) => (i.dims, i.data),
            Value::Float(f) => (f.dims(), f.values().iter().map(|&x| x as i64).collect()),
        }
    }

    #[test]
    fn slice_transpose_and_pad_move_values_as_onnx_says() {
        let device = Device::flex();
        // TorchScript's ZeroPad2d chain: reverse the [begin, end] pairs with step -1.
        let pairs = ints_value(&[4, 2], &[0, 0, 0, 0, 1, 2, 1, 2]);
        let reversed = slice(
            vec![
                pairs,
                ints_value(&[1], &[-1]),
                ints_value(&[1], &[i64::MIN + 1]),
                ints_value(&[1], &[0]),
                ints_value(&[1], &[-1]),
            ],
            &device,
        )
        .unwrap();
        assert_eq!(
            data(reversed.clone()),
            (vec![4, 2], vec![1, 2, 1, 2, 0, 0, 0, 0])
        );
        let transposed = transpose(None, vec![Some(reversed)], &device).unwrap();
        assert_eq!(data(transposed), (vec![2, 4], vec![1, 1, 0, 0, 2, 2, 0, 0]));

        let x = Float::from_values(vec![1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2], &device).unwrap();
        let padded = pad(
            vec![
                Some(Value::Float(x)),
                ints_value(&[8], &[0, 0, 1, 0, 0, 0, 0, 1]),
            ],
            &device,
        )
        .unwrap();
        assert_eq!(
            data(padded),
            (vec![1, 1, 3, 3], vec![0, 0, 0, 1, 2, 0, 3, 4, 0])
        );
    }

    #[test]
    fn expand_and_tile_repeat_values_as_numpy_does() {
        let device = Device::flex();
        let column = ints_value(&[2, 1], &[1, 2]);
        let expanded = expand(vec![column.clone(), ints_value(&[2], &[2, 3])], &device).unwrap();
        assert_eq!(data(expanded), (vec![2, 3], vec![1, 1, 1, 2, 2, 2]));
        let lifted = expand(
            vec![ints_value(&[3], &[4, 5, 6]), ints_value(&[2], &[2, 1])],
            &device,
        );
        assert_eq!(data(lifted.unwrap()), (vec![2, 3], vec![4, 5, 6, 4, 5, 6]));
        assert!(expand(vec![column.clone(), ints_value(&[2], &[3, 3])], &device).is_err());
        let tiled = tile(vec![column, ints_value(&[2], &[2, 2])], &device).unwrap();
        assert_eq!(data(tiled), (vec![4, 2], vec![1, 1, 2, 2, 1, 1, 2, 2]));
    }

    #[test]
    fn hostile_sizes_are_refused_before_allocating() {
        let device = Device::flex();
        let huge = constant_of_shape(
            &ConstantOfShape::Float(0.0),
            vec![ints_value(&[2], &[1 << 20, 1 << 20])],
            &device,
        );
        assert!(huge.unwrap_err().contains("memory budget"));
        let negative = constant_of_shape(
            &ConstantOfShape::Float(0.0),
            vec![ints_value(&[1], &[-3])],
            &device,
        );
        assert!(negative.unwrap_err().contains("negative"));
        let x = ints_value(&[2], &[1, 2]);
        let big_pad = pad(vec![x.clone(), ints_value(&[2], &[0, 1 << 40])], &device);
        assert!(big_pad.unwrap_err().contains("memory budget"));
        let huge_expand = expand(
            vec![
                ints_value(&[1], &[1]),
                ints_value(&[2], &[1 << 31, 1 << 31]),
            ],
            &device,
        );
        assert!(huge_expand.unwrap_err().contains("memory budget"));
        let huge_tile = tile(
            vec![ints_value(&[1], &[1]), ints_value(&[1], &[1 << 40])],
            &device,
        );
        assert!(huge_tile.unwrap_err().contains("memory budget"));
        let zero_step = slice(
            vec![
                x,
                ints_value(&[1], &[0]),
                ints_value(&[1], &[2]),
                None,
                ints_value(&[1], &[0]),
            ],
            &device,
        );
        assert!(zero_step.unwrap_err().contains("step of 0"));
    }
}
