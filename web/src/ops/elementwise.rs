//! Element-wise operators: activations, Clip, Identity, and Add / Sub / Mul / Div (float
//! tensors with NumPy broadcasting, or host integers for shape arithmetic).

use super::{Inputs, Op, first, map, optional_float, take_float};
use crate::graph::Attrs;
use crate::value::{Float, Ints, Value};
use burn::tensor::Device;
use burn::tensor::activation::{leaky_relu, relu, sigmoid, tanh};

/// `Identity`, and `Dropout` at inference: the input passes through.
#[derive(Debug, Default)]
pub struct Identity;

impl Op for Identity {
    fn eval(&self, inputs: Inputs, _: &Device) -> Result<Value, String> {
        first(inputs)
    }
}

/// A parameter-free activation.
#[derive(Debug, Clone, Copy)]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    LeakyRelu { alpha: f64 },
}

impl Activation {
    pub fn relu(_: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Activation::Relu))
    }
    pub fn tanh(_: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Activation::Tanh))
    }
    pub fn sigmoid(_: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Activation::Sigmoid))
    }
    pub fn leaky_relu(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Activation::LeakyRelu {
            alpha: attrs.float("alpha", 0.01) as f64,
        }))
    }
}

impl Op for Activation {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let x = take_float(&mut inputs, 0)?;
        Ok(Value::Float(match *self {
            Activation::Relu => map(x, relu),
            Activation::Tanh => map(x, tanh),
            Activation::Sigmoid => map(x, sigmoid),
            Activation::LeakyRelu { alpha } => map(x, |t| leaky_relu(t, alpha)),
        }))
    }
}

/// `Clip` (PyTorch's Hardtanh, ReLU6): bounds from inputs 1 and 2 (opset 11+) or the
/// `min` / `max` attributes (before); either may be absent.
#[derive(Debug)]
pub struct Clip {
    min: Option<f32>,
    max: Option<f32>,
}

impl Clip {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        let bound = |name: &str| attrs.has(name).then(|| attrs.float(name, 0.0));
        Ok(Box::new(Clip {
            min: bound("min"),
            max: bound("max"),
        }))
    }
}

impl Op for Clip {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let bound = |i: usize, attr: Option<f32>| -> Result<Option<f32>, String> {
            match optional_float(&inputs, i)? {
                Some(b) if b.dims().iter().product::<usize>() == 1 => {
                    Ok(b.values().first().copied())
                }
                Some(b) => Err(format!(
                    "input {i} of shape {:?}: a bound is one value",
                    b.dims()
                )),
                None => Ok(attr),
            }
        };
        let (min, max) = (bound(1, self.min)?, bound(2, self.max)?);
        let x = take_float(&mut inputs, 0)?;
        Ok(Value::Float(map(x, |t| match (min, max) {
            (Some(lo), Some(hi)) => t.clamp(lo, hi),
            (Some(lo), None) => t.clamp_min(lo),
            (None, Some(hi)) => t.clamp_max(hi),
            (None, None) => t,
        })))
    }
}

/// `Add`, `Sub`, `Mul`, `Div`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arithmetic {
    Add,
    Sub,
    Mul,
    Div,
}

impl Arithmetic {
    pub fn add(_: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Arithmetic::Add))
    }
    pub fn sub(_: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Arithmetic::Sub))
    }
    pub fn mul(_: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Arithmetic::Mul))
    }
    pub fn div(_: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Arithmetic::Div))
    }

    fn ints(self, x: i64, y: i64) -> Option<i64> {
        match self {
            Arithmetic::Add => x.checked_add(y),
            Arithmetic::Sub => x.checked_sub(y),
            Arithmetic::Mul => x.checked_mul(y),
            Arithmetic::Div => x.checked_div(y),
        }
    }
}

impl Op for Arithmetic {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let op = *self;
        let mut get = |i: usize| {
            inputs
                .get_mut(i)
                .and_then(Option::take)
                .ok_or(format!("input {i} is missing"))
        };
        match (get(0)?, get(1)?) {
            (Value::Int(a), Value::Int(b)) => shape_arithmetic(op, a, b).map(Value::Int),
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
                            Arithmetic::Add => $x + $y,
                            Arithmetic::Sub => $x - $y,
                            Arithmetic::Mul => $x * $y,
                            Arithmetic::Div => $x / $y,
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
                "{op:?} of a float and an integer tensor: insert a Cast"
            )),
        }
    }
}

/// Shape arithmetic: element-wise on the host, a scalar broadcasting over a vector;
/// overflow and division by zero are errors (the numbers come from the file).
fn shape_arithmetic(op: Arithmetic, a: Ints, b: Ints) -> Result<Ints, String> {
    let n = a.data.len().max(b.data.len());
    let at = |v: &Ints, i: usize| {
        if v.data.len() == 1 {
            v.data[0]
        } else {
            v.data[i]
        }
    };
    if (a.data.len() != n && a.data.len() != 1) || (b.data.len() != n && b.data.len() != 1) {
        return Err(format!(
            "cannot broadcast integer shapes {:?} and {:?}",
            a.dims, b.dims
        ));
    }
    let data = (0..n)
        .map(|i| {
            let (x, y) = (at(&a, i), at(&b, i));
            op.ints(x, y)
                .ok_or_else(|| format!("{op:?} of {x} and {y} overflows or divides by zero"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let dims = if a.data.len() >= b.data.len() {
        a.dims
    } else {
        b.dims
    };
    Ok(Ints { dims, data })
}
