//! `Gemm` with constant weights, packed once at load: B (times alpha) stored as the row-major
//! `k × n` matrix gemm's kernels read without repacking (PyTorch writes `transB = 1`, a
//! `[n, k]` weight, which gemm would otherwise repack on every call), beta·C as the row the
//! product starts from (no separate add and no second tensor), and on a thread pool the
//! columns split once per worker, each running one serial gemm: a 64-row product is too
//! small for gemm's own threading, whose wake-ups cost more than they save in a browser.

use super::{Inputs, Op, take_float};
use crate::value::{Float, Value};
use burn::tensor::{Device, Tensor, TensorData};

/// Below this many multiply-adds a product runs on one thread (~0.1 ms of work in wasm
/// SIMD): splitting it would cost more in wake-ups than it saves.
const PARALLEL_WORK: usize = 1 << 20;

/// A `Gemm` whose B and C are constants.
#[derive(Debug)]
pub struct PackedGemm {
    trans_a: bool,
    k: usize,
    n: usize,
    /// alpha·B, row-major `k × n`.
    b: Vec<f32>,
    /// beta·C as one row of `n` values (C was a scalar or a row), or no C.
    row: Option<Vec<f32>>,
}

impl PackedGemm {
    /// Pack `b` (`[k, n]`, or `[n, k]` with `trans_b`) and `c` (none, a scalar, `[n]` or
    /// `[1, n]`); `None` where C needs the run's row count (`[m, n]`, `[m, 1]`): the plain
    /// `Gemm` runs those.
    pub fn pack(
        gemm: &super::linear::Gemm,
        b: &Float,
        c: Option<&Float>,
    ) -> Result<Option<Self>, String> {
        let b = b.clone().as2()?;
        let [rows, cols] = b.dims();
        let (k, n) = if gemm.trans_b {
            (cols, rows)
        } else {
            (rows, cols)
        };
        // C as a row: a scalar, `[n]` or `[1, n]`.
        let row = match c {
            None => None,
            Some(c) => {
                let dims = c.dims();
                let values = c.clone().values();
                let row = match dims[..] {
                    _ if values.len() == 1 => vec![values[0]; n],
                    [len] | [1, len] if len == n => values,
                    _ => return Ok(None),
                };
                Some(row.into_iter().map(|v| v * gemm.beta).collect())
            }
        };
        let values = Float::R2(b).values();
        let mut packed = Vec::with_capacity(k * n);
        if gemm.trans_b {
            for i in 0..k {
                packed.extend((0..n).map(|j| values[j * k + i] * gemm.alpha));
            }
        } else {
            packed.extend(values.iter().map(|v| v * gemm.alpha));
        }
        Ok(Some(PackedGemm {
            trans_a: gemm.trans_a,
            k,
            n,
            b: packed,
            row,
        }))
    }
}

impl Op for PackedGemm {
    fn eval(&self, mut inputs: Inputs, device: &Device) -> Result<Value, String> {
        let a = take_float(&mut inputs, 0)?.as2()?;
        let [rows, cols] = a.dims();
        let (m, k) = if self.trans_a {
            (cols, rows)
        } else {
            (rows, cols)
        };
        if k != self.k {
            return Err(format!(
                "cannot multiply [_, {k}] by [{}, {}]",
                self.k, self.n
            ));
        }
        crate::budget::check_values(&[m, self.n], "the Gemm output")?;
        let a = Float::R2(a).values();
        // A is row-major `rows × cols`; transposed, the same values read down columns.
        let (a_rs, a_cs) = if self.trans_a { (1, m) } else { (k, 1) };
        let y = multiply(
            m,
            self.k,
            self.n,
            &a,
            a_rs,
            a_cs,
            &self.b,
            self.row.as_deref(),
        );
        Ok(Value::Float(Float::R2(Tensor::from_data(
            TensorData::new(y, [m, self.n]),
            device,
        ))))
    }
}

/// `row + A·B` (each output row starting from `row`, or from zero), row-major `m × n`, with
/// A read through its strides and B row-major `k × n`.
#[allow(clippy::too_many_arguments)]
fn multiply(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_rs: usize,
    a_cs: usize,
    b: &[f32],
    row: Option<&[f32]>,
) -> Vec<f32> {
    let mut y = match row {
        Some(row) => row.repeat(m),
        None => vec![0.0; m * n],
    };
    if m == 0 || n == 0 || k == 0 {
        return y;
    }
    assert!(a.len() >= m * k && b.len() >= k * n && y.len() == m * n);
    let blocks = column_blocks(m * n * k, n, crate::runtime::threads());
    let out = SharedOut(y.as_mut_ptr());
    let run = |&(start, end): &(usize, usize)| {
        // SAFETY: the blocks are disjoint column ranges of the m × n output, so no two
        // calls write the same element; every index the strides reach lies inside `a`
        // (m·k values), `b` (k·n) and `y` (m·n), checked above.
        unsafe {
            gemm::gemm(
                m,
                end - start,
                k,
                out.at(start),
                1,
                n as isize,
                true,
                a.as_ptr(),
                a_cs as isize,
                a_rs as isize,
                b.as_ptr().add(start),
                1,
                n as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    };
    for_each_block(&blocks, run);
    y
}

/// The output pointer, shared by the column blocks (each writes only its own columns).
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// SAFETY: only used for disjoint writes (see `multiply`).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// # Safety
    /// `offset` must be inside the output.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        unsafe { self.0.add(offset) }
    }
}

/// The column ranges a product of `work` multiply-adds over `n` columns is split into: one
/// per thread when it is large enough, in multiples of 16 columns (whole SIMD registers for
/// gemm's kernels), else one.
fn column_blocks(work: usize, n: usize, threads: usize) -> Vec<(usize, usize)> {
    if threads <= 1 || work < PARALLEL_WORK || n < 32 {
        return vec![(0, n)];
    }
    let per = n.div_ceil(threads).div_ceil(16) * 16;
    (0..n)
        .step_by(per)
        .map(|start| (start, (start + per).min(n)))
        .collect()
}

#[cfg(all(target_arch = "wasm32", feature = "threads"))]
fn for_each_block(blocks: &[(usize, usize)], run: impl Fn(&(usize, usize)) + Send + Sync) {
    use rayon::prelude::*;
    if blocks.len() == 1 {
        run(&blocks[0]);
    } else {
        blocks.par_iter().for_each(run);
    }
}

#[cfg(not(all(target_arch = "wasm32", feature = "threads")))]
fn for_each_block(blocks: &[(usize, usize)], run: impl Fn(&(usize, usize))) {
    blocks.iter().for_each(run);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The naive product, for comparison.
    fn naive(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], row: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                y[i * n + j] = row[j] + (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<f32>();
            }
        }
        y
    }

    #[test]
    fn multiply_matches_the_naive_product_in_both_orientations_of_a() {
        let (m, k, n) = (5, 7, 37);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let row: Vec<f32> = (0..n).map(|j| j as f32 * 0.01).collect();
        let want = naive(m, k, n, &a, &b, &row);
        let got = multiply(m, k, n, &a, k, 1, &b, Some(&row));
        let a_t: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let got_t = multiply(m, k, n, &a_t, 1, m, &b, Some(&row));
        for (i, w) in want.iter().enumerate() {
            assert!((got[i] - w).abs() < 1e-5, "{i}: {} vs {w}", got[i]);
            assert!((got_t[i] - w).abs() < 1e-5, "{i}: {} vs {w}", got_t[i]);
        }
        let zero = naive(m, k, n, &a, &b, &vec![0.0; n]);
        let got = multiply(m, k, n, &a, k, 1, &b, None);
        assert!(got.iter().zip(&zero).all(|(g, w)| (g - w).abs() < 1e-5));
    }

    #[test]
    fn column_blocks_cover_every_column_once() {
        for (n, threads) in [(784, 2), (1024, 2), (100, 3), (33, 2), (512, 16)] {
            let blocks = column_blocks(1 << 30, n, threads);
            assert!(
                blocks.len() > 1 && blocks.len() <= threads,
                "{n} over {threads}: {blocks:?}"
            );
            assert_eq!(blocks[0].0, 0);
            assert_eq!(blocks.last().unwrap().1, n);
            for pair in blocks.windows(2) {
                assert_eq!(pair[0].1, pair[1].0, "{blocks:?}");
                assert_eq!(pair[0].1 % 16, 0, "{blocks:?}");
            }
        }
        assert_eq!(column_blocks(1 << 30, 784, 1), vec![(0, 784)]);
        assert_eq!(column_blocks(PARALLEL_WORK - 1, 784, 2), vec![(0, 784)]);
    }
}
