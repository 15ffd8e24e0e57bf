//! `Gemm` and `MatMul`.

use super::{Inputs, Op, float, optional_float, take_float};
use crate::graph::Attrs;
use crate::value::{Float, Value};
use burn::tensor::Device;

/// `Gemm`: `alpha·A'·B' + beta·C`, A' and B' transposed or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Gemm {
    pub trans_a: bool,
    pub trans_b: bool,
    pub alpha: f32,
    pub beta: f32,
}

impl Gemm {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Self::read(attrs)))
    }

    pub fn read(attrs: &Attrs) -> Self {
        Gemm {
            trans_a: attrs.int("transA", 0) != 0,
            trans_b: attrs.int("transB", 0) != 0,
            alpha: attrs.float("alpha", 1.0),
            beta: attrs.float("beta", 1.0),
        }
    }
}

impl Op for Gemm {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let mut a = take_float(&mut inputs, 0)?.as2()?;
        let mut b = float(&inputs, 1)?.as2()?;
        if self.trans_a {
            a = a.transpose();
        }
        if self.trans_b {
            b = b.transpose();
        }
        let [_, k] = a.dims();
        let [kb, n] = b.dims();
        if k != kb {
            return Err(format!("cannot multiply [_, {k}] by [{kb}, {n}]"));
        }
        let mut y = a.matmul(b);
        if self.alpha != 1.0 {
            y = y * self.alpha;
        }
        if let Some(c) = optional_float(&inputs, 2)? {
            let c = match c.lift(2)? {
                Float::R2(c) => c,
                other => return Err(format!("C of shape {:?}: expected rank ≤ 2", other.dims())),
            };
            let [m, _] = y.dims();
            let [cm, cn] = c.dims();
            if (cm != m && cm != 1) || (cn != n && cn != 1) {
                return Err(format!(
                    "C of shape [{cm}, {cn}] does not broadcast to [{m}, {n}]"
                ));
            }
            y = if self.beta == 1.0 {
                y + c
            } else {
                y + c * self.beta
            };
        }
        Ok(Value::Float(Float::R2(y)))
    }
}

/// `MatMul`, ranks 2–4 with equal batch axes.
#[derive(Debug, Default)]
pub struct MatMul;

impl Op for MatMul {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let (a, b) = (take_float(&mut inputs, 0)?, take_float(&mut inputs, 1)?);
        let rank = a.rank().max(b.rank()).max(2);
        let (da, db) = (a.clone().lift(rank)?.dims(), b.clone().lift(rank)?.dims());
        // burn panics on these; the file decides them.
        if da[rank - 1] != db[rank - 2] || da[..rank - 2] != db[..rank - 2] {
            return Err(format!(
                "MatMul of shapes {da:?} and {db:?}: the sizes do not line up"
            ));
        }
        Ok(Value::Float(match (a.lift(rank)?, b.lift(rank)?) {
            (Float::R2(a), Float::R2(b)) => Float::R2(a.matmul(b)),
            (Float::R3(a), Float::R3(b)) => Float::R3(a.matmul(b)),
            (Float::R4(a), Float::R4(b)) => Float::R4(a.matmul(b)),
            (a, b) => {
                return Err(format!(
                    "MatMul of shapes {:?} and {:?} is not supported",
                    a.dims(),
                    b.dims()
                ));
            }
        }))
    }
}
