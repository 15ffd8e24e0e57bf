//! Element-wise operators: activations, Clip, Identity, and Add / Sub / Mul / Div (float
//! tensors with NumPy broadcasting, or host integers for shape arithmetic).

use super::{Inputs, Op, first, map, optional_float, take_float};
use crate::graph::Attrs;
use crate::value::{Float, Ints, Value};
use burn::tensor::Device;
use burn::tensor::activation::relu;

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
    fn eval(&self, mut inputs: Inputs, device: &Device) -> Result<Value, String> {
        let x = take_float(&mut inputs, 0)?;
        Ok(Value::Float(match *self {
            Activation::Relu => map(x, relu),
            Activation::Tanh => each_value(x, tanh, device)?,
            Activation::Sigmoid => each_value(x, sigmoid, device)?,
            Activation::LeakyRelu { alpha } => {
                let alpha = alpha as f32;
                each_value(
                    x,
                    move |v| {
                        let below = alpha * v;
                        if v >= 0.0 { v } else { below }
                    },
                    device,
                )?
            }
        }))
    }
}

/// `f` of every value, in one loop the compiler vectorises (simd128 in the browser). burn
/// flex runs tanh and the sigmoid as a libm call per value and LeakyReLU as a mask, a
/// product and a select, each its own pass.
fn each_value(x: Float, f: impl Fn(f32) -> f32, device: &Device) -> Result<Float, String> {
    let dims = x.dims();
    let mut values = x.values();
    values.iter_mut().for_each(|v| *v = f(*v));
    Float::from_values(values, &dims, device)
}

/// tanh as a rational function of degrees 13 / 6, the one Eigen and ONNX Runtime's MLAS
/// use: within 5e-7 of tanh, clamped at ±7.905311 where it reaches ±1 (so it never
/// exceeds 1), with no branch and no libm call, so a loop of it vectorises.
pub fn tanh(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    const ONE_FROM: f32 = 7.905_311;
    let x = x.clamp(-ONE_FROM, ONE_FROM);
    let x2 = x * x;
    let p = ALPHA.iter().rev().fold(0.0, |p, a| p * x2 + a) * x;
    let q = BETA.iter().rev().fold(0.0, |q, b| q * x2 + b);
    p / q
}

/// The logistic function from [`tanh`]: `σ(x) = (1 + tanh(x / 2)) / 2`.
pub fn sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * tanh(0.5 * x)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::run;

    /// Every 1/1000 from −12 to 12, against f64's tanh and logistic function.
    #[test]
    fn tanh_and_sigmoid_are_within_5e_7() {
        let (mut worst_tanh, mut worst_sigmoid) = (0f64, 0f64);
        for i in -12_000..=12_000 {
            let x = i as f32 / 1000.0;
            let exact = (x as f64).tanh();
            worst_tanh = worst_tanh.max((tanh(x) as f64 - exact).abs());
            let logistic = 1.0 / (1.0 + (-(x as f64)).exp());
            worst_sigmoid = worst_sigmoid.max((sigmoid(x) as f64 - logistic).abs());
            assert!(tanh(x).abs() <= 1.0, "tanh({x}) = {}", tanh(x));
        }
        assert!(worst_tanh < 5e-7, "tanh off by {worst_tanh:e}");
        assert!(worst_sigmoid < 5e-7, "sigmoid off by {worst_sigmoid:e}");
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
    }

    /// LeakyReLU as burn's, value for value, whatever the rank.
    #[test]
    fn leaky_relu_is_burns() {
        let values: Vec<f32> = (0..24).map(|i| i as f32 / 3.0 - 4.0).collect();
        let x = Float::from_values(values.clone(), &[2, 3, 4], &Device::flex()).unwrap();
        let (ours, dims) = run(&Activation::LeakyRelu { alpha: 0.2 }, vec![Some(x.clone())]);
        let burns = burn::tensor::activation::leaky_relu(x.lift(4).unwrap().as4().unwrap(), 0.2);
        assert_eq!(dims, vec![2, 3, 4]);
        assert_eq!(ours, Float::R4(burns).values());
    }
}
