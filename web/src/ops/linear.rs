//! `Gemm` and `MatMul`.

use super::packed::PackedGemm;
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
    fn with_constants(&self, constants: &[Option<&Float>]) -> Result<Option<Box<dyn Op>>, String> {
        let Some(Some(b)) = constants.first() else {
            return Ok(None);
        };
        let c = constants.get(1).copied().flatten();
        Ok(PackedGemm::pack(self, b, c)?.map(|p| Box::new(p) as Box<dyn Op>))
    }

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

#[cfg(test)]
mod tests {
    use super::super::testing::prepared_and_plain;
    use super::*;

    fn float(values: impl Fn(usize) -> f32, dims: &[usize]) -> Float {
        let count = dims.iter().product();
        Float::from_values((0..count).map(values).collect(), dims, &Device::flex()).unwrap()
    }

    /// The packed Gemm gives the plain one's output for every attribute and each shape of C
    /// it packs, and declines the C shapes that need the run's row count.
    #[test]
    fn packed_gemm_matches_the_plain_one() {
        let (m, k, n) = (3, 5, 20);
        for trans_a in [false, true] {
            for trans_b in [false, true] {
                for c_dims in [
                    None,
                    Some(vec![n]),
                    Some(vec![1, n]),
                    Some(vec![1]),
                    Some(vec![m, n]),
                ] {
                    let gemm = Gemm {
                        trans_a,
                        trans_b,
                        alpha: 0.5,
                        beta: 2.0,
                    };
                    let a = float(
                        |i| (i as f32 * 0.3).sin(),
                        &if trans_a { [k, m] } else { [m, k] },
                    );
                    let b = float(
                        |i| (i as f32 * 0.7).cos(),
                        &if trans_b { [n, k] } else { [k, n] },
                    );
                    let c = c_dims.as_ref().map(|d| float(|i| i as f32 * 0.1, d));
                    let Some((got, want)) = prepared_and_plain(&gemm, a, &[Some(b), c]) else {
                        assert_eq!(c_dims, Some(vec![m, n]), "declined C {c_dims:?}");
                        continue;
                    };
                    assert_eq!(got.1, want.1, "{trans_a} {trans_b} {c_dims:?}: shape");
                    for (g, w) in got.0.iter().zip(&want.0) {
                        assert!(
                            (g - w).abs() < 1e-5,
                            "{trans_a} {trans_b} {c_dims:?}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn packed_gemm_refuses_a_mismatched_input() {
        let gemm = Gemm {
            trans_a: false,
            trans_b: false,
            alpha: 1.0,
            beta: 1.0,
        };
        let b = float(|_| 1.0, &[4, 8]);
        let packed = gemm.with_constants(&[Some(&b), None]).unwrap().unwrap();
        let a = float(|_| 1.0, &[2, 5]);
        let err = packed
            .eval(vec![Some(Value::Float(a))], &Device::flex())
            .unwrap_err();
        assert!(err.contains("[_, 5] by [4, 8]"), "{err}");
    }
}
