//! ONNX operators, each a typed op built once at load from its node's attributes (the
//! [`registry`] maps op types to their builders), then run on burn tensors (floats) and
//! host integers (shape arithmetic) on every call.
//!
//! - [`registry`]: the op types this runtime runs, with what of each, and their builders.
//! - [`elementwise`]: activations, Clip, and the four arithmetic operators.
//! - [`conv`]: Conv and ConvTranspose.
//! - [`norm`]: BatchNormalization, InstanceNormalization, and the per-channel affine a
//!   BatchNorm becomes when its statistics are constants.
//! - [`linear`]: Gemm and MatMul.
//! - [`packed`]: a Gemm with its weights packed at load, split over the thread pool.
//! - [`shape`]: Reshape, Flatten, (Un)Squeeze, Shape, Gather, Concat, Constant, Cast.
//! - [`resize`]: Resize (nearest and bilinear).
//! - [`layout`]: Slice, Transpose, Pad, Expand, Tile, ConstantOfShape.

pub mod conv;
pub mod elementwise;
mod layout;
pub mod linear;
pub mod norm;
pub mod packed;
pub mod registry;
mod resize;
pub mod shape;

pub use registry::{OPERATORS, OpDef, find};

use crate::graph::Attrs;
use crate::value::{Float, Ints, Value};
use burn::tensor::{Device, Tensor};
use std::fmt::Debug;

/// A node's inputs in order, `None` for an omitted optional input.
pub type Inputs = Vec<Option<Value>>;

/// One operator with its attributes already read: what a plan step runs.
pub trait Op: Debug + Send + Sync {
    /// Run on `inputs`; the node's (first) output.
    fn eval(&self, inputs: Inputs, device: &Device) -> Result<Value, String>;

    /// This op with every input after the first known at load (`None`: an omitted
    /// optional input): one that holds those inputs in the layout its kernel reads and
    /// takes only the first. `None`: nothing to prepare, the op stays as it is.
    fn with_constants(&self, _: &[Option<&Float>]) -> Result<Option<Box<dyn Op>>, String> {
        Ok(None)
    }
}

/// Builds an op from its node's attributes: every attribute is read and checked here, once.
pub type Build = fn(&Attrs) -> Result<Box<dyn Op>, String>;

fn float(inputs: &Inputs, i: usize) -> Result<Float, String> {
    match inputs.get(i).cloned().flatten() {
        Some(Value::Float(f)) => Ok(f),
        Some(Value::Int(_)) => Err(format!("input {i} is an integer tensor, expected float")),
        None => Err(format!("input {i} is missing")),
    }
}

/// Input `i` by value (the plan hands each op the last reference to a value it no longer
/// needs, so burn can compute in place).
fn take_float(inputs: &mut Inputs, i: usize) -> Result<Float, String> {
    match inputs.get_mut(i).and_then(Option::take) {
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

/// Apply a rank-agnostic element-wise function at rank 4 and restore the shape.
fn map(x: Float, f: impl Fn(Tensor<4>) -> Tensor<4>) -> Float {
    let dims = x.dims();
    let r4 = x.lift(4).expect("rank ≤ 4").as4().expect("rank 4");
    Float::R4(f(r4)).reshape(&dims).expect("same size")
}

/// An op that ignores its attributes: built the same for every node.
fn stateless<T: Op + Default + 'static>(_: &Attrs) -> Result<Box<dyn Op>, String> {
    Ok(Box::new(T::default()))
}

/// What the ops' tests share: running an op on float inputs, and the same layer with its
/// constants handed over at load.
#[cfg(test)]
mod testing {
    use super::{Float, Op, Value};
    use burn::tensor::Device;

    /// `op` on `inputs`: its float output's values and shape.
    pub fn run(op: &dyn Op, inputs: Vec<Option<Float>>) -> (Vec<f32>, Vec<usize>) {
        let inputs = inputs.into_iter().map(|f| f.map(Value::Float)).collect();
        match op.eval(inputs, &Device::flex()).unwrap() {
            Value::Float(y) => {
                let dims = y.dims();
                (y.values(), dims)
            }
            Value::Int(_) => panic!("integer output"),
        }
    }

    /// `op` run on `x` and `constants` as inputs, and the op [`Op::with_constants`] makes of
    /// them run on `x` alone: `(prepared, plain)` outputs, or `None` where `op` declined.
    #[allow(clippy::type_complexity)]
    pub fn prepared_and_plain(
        op: &dyn Op,
        x: Float,
        constants: &[Option<Float>],
    ) -> Option<((Vec<f32>, Vec<usize>), (Vec<f32>, Vec<usize>))> {
        let mut inputs = vec![Some(x.clone())];
        inputs.extend(constants.iter().cloned());
        let plain = run(op, inputs);
        let refs: Vec<Option<&Float>> = constants.iter().map(Option::as_ref).collect();
        let prepared = op.with_constants(&refs).unwrap()?;
        Some((run(prepared.as_ref(), vec![Some(x)]), plain))
    }
}
