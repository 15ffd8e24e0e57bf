//! Operators that change a value's shape or kind, not its numbers: Reshape, Flatten,
//! Squeeze, Unsqueeze, Shape, Gather, Concat, Constant, Cast.

use super::{Inputs, Op, axis, first, ints};
use crate::graph::{Attrs, tensor_value};
use crate::value::{Float, Ints, Value};
use burn::tensor::{Device, Tensor};

/// `Reshape`: 0 copies the input's axis, −1 is inferred.
#[derive(Debug)]
pub struct Reshape;

impl Reshape {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        // allowzero=1 (PyTorch's dynamo exporter writes it on every Reshape) only changes
        // what a 0 in the shape means: a literal empty axis instead of "copy the input's".
        // Without a 0 both read the same, so such files run; a 0 is refused when the shape
        // has one (an empty image is nothing a generator makes).
        if attrs.int("allowzero", 0) != 0 {
            Ok(Box::new(AllowZeroReshape))
        } else {
            Ok(Box::new(Reshape))
        }
    }
}

/// A `Reshape` with `allowzero=1`.
#[derive(Debug)]
pub struct AllowZeroReshape;

impl Op for AllowZeroReshape {
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String> {
        let target = ints(&inputs, 1)?.data;
        if target.contains(&0) {
            return Err(format!(
                "shape {target:?} with allowzero=1 asks for an empty tensor, which is not supported"
            ));
        }
        Reshape.eval(inputs, device)
    }
}

impl Op for Reshape {
    fn eval(&self, inputs: Inputs, _: &Device) -> Result<Value, String> {
        let target = ints(&inputs, 1)?.data;
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
}

/// `Flatten`: axes before `axis` into one, the rest into another.
#[derive(Debug)]
pub struct Flatten {
    axis: i64,
}

impl Flatten {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Flatten {
            axis: attrs.int("axis", 1),
        }))
    }
}

impl Op for Flatten {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let x = super::take_float(&mut inputs, 0)?;
        let dims = x.dims();
        let a = if self.axis < 0 {
            self.axis + dims.len() as i64
        } else {
            self.axis
        };
        let a = a.clamp(0, dims.len() as i64) as usize;
        let outer: usize = dims[..a].iter().product();
        let inner: usize = dims[a..].iter().product();
        Ok(Value::Float(x.reshape(&[outer, inner])?))
    }
}

/// `Squeeze` and `Unsqueeze`: `axes` as an attribute (before opset 13) or input 1.
#[derive(Debug)]
pub struct Squeeze {
    unsqueeze: bool,
    axes: Option<Vec<i64>>,
}

impl Squeeze {
    pub fn squeeze(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Squeeze {
            unsqueeze: false,
            axes: attrs.ints("axes"),
        }))
    }

    pub fn unsqueeze(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Squeeze {
            unsqueeze: true,
            axes: attrs.ints("axes"),
        }))
    }
}

impl Op for Squeeze {
    fn eval(&self, inputs: Inputs, _: &Device) -> Result<Value, String> {
        let axes = match inputs.get(1).cloned().flatten() {
            Some(Value::Int(v)) => Some(v.data),
            Some(Value::Float(_)) => return Err("axes must be integers".into()),
            None => self.axes.clone(),
        };
        let x = first(inputs)?;
        let dims = x.dims();
        let out: Vec<usize> = if self.unsqueeze {
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
}

/// `Shape`: the input's sizes from `start` to `end`.
#[derive(Debug)]
pub struct Shape {
    start: i64,
    end: Option<i64>,
}

impl Shape {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Shape {
            start: attrs.int("start", 0),
            end: attrs.has("end").then(|| attrs.int("end", 0)),
        }))
    }
}

impl Op for Shape {
    fn eval(&self, inputs: Inputs, _: &Device) -> Result<Value, String> {
        let dims = first(inputs)?.dims();
        let rank = dims.len() as i64;
        let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
        let start = clamp(self.start);
        let end = clamp(self.end.unwrap_or(rank));
        Ok(Value::Int(Ints::vector(
            dims[start..end.max(start)]
                .iter()
                .map(|&d| d as i64)
                .collect(),
        )))
    }
}

/// `Gather` along `axis`: embedding lookups (floats) and shape arithmetic (integers).
#[derive(Debug)]
pub struct Gather {
    axis: i64,
}

impl Gather {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Gather {
            axis: attrs.int("axis", 0),
        }))
    }
}

impl Op for Gather {
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String> {
        let indices = ints(&inputs, 1)?;
        let data = first(inputs)?;
        let dims = data.dims();
        let a = axis(self.axis, dims.len())?;
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
}

/// `Concat` along `axis`: floats of rank ≤ 4, integer vectors.
#[derive(Debug)]
pub struct Concat {
    axis: i64,
}

impl Concat {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Concat {
            axis: attrs.int("axis", 0),
        }))
    }
}

impl Op for Concat {
    fn eval(&self, inputs: Inputs, _: &Device) -> Result<Value, String> {
        let values: Vec<Value> = inputs.into_iter().flatten().collect();
        let first = values.first().ok_or("Concat of nothing")?;
        let rank = first.dims().len().max(1);
        let a = axis(self.axis, rank)?;
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
                Value::Int(_) => {
                    Err("Concat of float and integer tensors: insert a Cast".to_string())
                }
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
}

/// `Constant`: its value is read at load (`value`, `value_float`, `value_int`,
/// `value_ints`); the plan keeps it as a constant, so this op never runs per call.
#[derive(Debug)]
pub struct Constant {
    value: Value,
}

impl Constant {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        let device = Device::flex();
        let value = if let Some(t) = attrs.tensor("value") {
            tensor_value(t, &device)?
        } else if attrs.has("value_float") {
            Value::Float(Float::from_values(
                vec![attrs.float("value_float", 0.0)],
                &[1],
                &device,
            )?)
        } else if let Some(v) = attrs.ints("value_ints") {
            Value::Int(Ints::vector(v))
        } else if attrs.has("value_int") {
            Value::Int(Ints {
                dims: vec![],
                data: vec![attrs.int("value_int", 0)],
            })
        } else {
            return Err(
                "Constant without a supported value (value, value_float, value_int, value_ints)"
                    .into(),
            );
        };
        Ok(Box::new(Constant { value }))
    }
}

impl Op for Constant {
    fn eval(&self, _: Inputs, _: &Device) -> Result<Value, String> {
        Ok(self.value.clone())
    }
}

/// `Cast` to float32, int32 or int64.
#[derive(Debug)]
pub struct Cast {
    to: i32,
}

impl Cast {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        use gantry_onnx::data_type as dt;
        match attrs.int("to", 0) as i32 {
            to @ (dt::FLOAT | dt::INT64 | dt::INT32) => Ok(Box::new(Cast { to })),
            other => Err(format!("Cast to element type {other} is not supported")),
        }
    }
}

impl Op for Cast {
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String> {
        use gantry_onnx::data_type as dt;
        match (first(inputs)?, self.to) {
            (Value::Float(f), dt::FLOAT) => Ok(Value::Float(f)),
            (Value::Int(v), dt::FLOAT) => Ok(Value::Float(Float::from_values(
                v.data.iter().map(|&i| i as f32).collect(),
                &v.dims,
                device,
            )?)),
            (Value::Int(v), _) => Ok(Value::Int(v)),
            (Value::Float(f), _) => {
                let dims = f.dims();
                Ok(Value::Int(Ints {
                    dims,
                    data: f.values().iter().map(|&v| v as i64).collect(),
                }))
            }
        }
    }
}
