//! Batch normalisation in training mode on contiguous NCHW slices: the batch's
//! per-channel moments, the normalisation, and its backward pass, each one or two passes
//! over the activation. (burn 0.22's generic version transposes the activation to
//! channel-major for every mean, forward and backward.)

use gantry_kernels::buffer::written_in_chunks;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Per channel of `[n, c, s]`: the mean and the biased variance (what burn's batch
/// norm divides by and keeps as its running variance), as `[means…, variances…]`.
/// Accumulated in f64, so the order of the sum does not matter.
pub fn channel_moments(x: &[f32], n: usize, c: usize, s: usize) -> Vec<f32> {
    let count = (n * s) as f64;
    let moments: Vec<(f32, f32)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let planes = || (0..n).map(move |b| &x[(b * c + ch) * s..][..s]);
            let mean = planes().flatten().map(|v| *v as f64).sum::<f64>() / count;
            let var = planes()
                .flatten()
                .map(|v| (*v as f64 - mean).powi(2))
                .sum::<f64>()
                / count;
            (mean as f32, var as f32)
        })
        .collect();
    moments
        .iter()
        .map(|m| m.0)
        .chain(moments.iter().map(|m| m.1))
        .collect()
}

/// The activation a batch norm applies in its own pass, where the network has one right
/// after it (DCGAN's BatchNorm → ReLU / LeakyReLU): one pass over the activation forward and
/// one backward instead of two each, and the normalised values are never stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rectifier {
    None,
    /// `max(y, 0)`, with burn's gradient: `g` where `y > 0`, 0 elsewhere.
    Relu,
    /// `y` where `y ≥ 0`, `slope · y` below, with the LeakyReLU kernel's gradient.
    Leaky(f64),
}

/// A rectifier's forward and backward as plain functions, one type per kind, so each hot
/// loop is compiled for its kind rather than branching on it per value.
trait Activation: Copy + Send + Sync {
    fn forward(self, y: f32) -> f32;
    /// The gradient before the activation from the one after it, `g`, and its input `y`.
    fn backward(self, y: f32, g: f32) -> f32;
}

#[derive(Clone, Copy)]
struct Identity;

impl Activation for Identity {
    #[inline(always)]
    fn forward(self, y: f32) -> f32 {
        y
    }
    #[inline(always)]
    fn backward(self, _: f32, g: f32) -> f32 {
        g
    }
}

#[derive(Clone, Copy)]
struct Relu;

impl Activation for Relu {
    #[inline(always)]
    fn forward(self, y: f32) -> f32 {
        y.max(0.0)
    }
    #[inline(always)]
    fn backward(self, y: f32, g: f32) -> f32 {
        if y > 0.0 { g } else { 0.0 }
    }
}

#[derive(Clone, Copy)]
struct Leaky(f32);

impl Activation for Leaky {
    // Both sides computed, then chosen: a select the loops vectorise, where a multiply on
    // one side only became a branch per value, mispredicted on half of them.
    #[inline(always)]
    fn forward(self, y: f32) -> f32 {
        let below = self.0 * y;
        if y >= 0.0 { y } else { below }
    }
    #[inline(always)]
    fn backward(self, y: f32, g: f32) -> f32 {
        let below = g * self.0;
        if y >= 0.0 { g } else { below }
    }
}

/// `$body` with `$act` bound to the [`Activation`] of `$rectifier`.
macro_rules! with_activation {
    ($rectifier:expr, $act:ident => $body:expr) => {
        match $rectifier {
            Rectifier::None => {
                let $act = Identity;
                $body
            }
            Rectifier::Relu => {
                let $act = Relu;
                $body
            }
            Rectifier::Leaky(slope) => {
                let $act = Leaky(slope as f32);
                $body
            }
        }
    };
}

/// `1 / √(var + ε)` per channel.
fn inverse_std(moments: &[f32], c: usize, epsilon: f64) -> Vec<f32> {
    moments[c..2 * c]
        .iter()
        .map(|v| (1.0 / ((*v as f64) + epsilon).sqrt()) as f32)
        .collect()
}

/// Per channel, the `(scale, shift)` with `γ · (x − μ) / √(var + ε) + β = x · scale + shift`.
fn affine(gamma: &[f32], beta: &[f32], moments: &[f32], inv_std: &[f32]) -> Vec<(f32, f32)> {
    (0..gamma.len())
        .map(|ch| {
            let scale = gamma[ch] * inv_std[ch];
            (scale, beta[ch] - moments[ch] * scale)
        })
        .collect()
}

/// `rectifier(γ · (x − μ) / √(var + ε) + β)` per channel, with the batch's own moments.
pub fn batch_norm(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    moments: &[f32],
    epsilon: f64,
    rectifier: Rectifier,
    [n, c, s]: [usize; 3],
) -> Vec<f32> {
    let inv_std = inverse_std(moments, c, epsilon);
    let affine = affine(gamma, beta, moments, &inv_std);
    with_activation!(rectifier, act => {
        // SAFETY: each chunk is one plane of `s` values, all written.
        unsafe {
            written_in_chunks(n * c * s, s, |plane, y| {
                let (scale, shift) = affine[plane % c];
                for (y, x) in y.iter_mut().zip(&x[plane * s..][..s]) {
                    *y = MaybeUninit::new(act.forward(x * scale + shift));
                }
            })
        }
    })
}

/// The gradients of [`batch_norm`] for `x`, `γ` and `β` from the output's `grad`, the
/// batch statistics being functions of `x` too: with `x̂ = (x − μ)/σ`, `M` values per
/// channel and `g` the gradient before the rectifier (recomputed from `x`, never stored),
/// `∂x = γ/σ · (g − Σg/M − x̂ · Σ(g·x̂)/M)`, `∂γ = Σ g·x̂`, `∂β = Σ g`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    moments: &[f32],
    epsilon: f64,
    rectifier: Rectifier,
    grad: &[f32],
    [n, c, s]: [usize; 3],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let inv_std = inverse_std(moments, c, epsilon);
    let affine = affine(gamma, beta, moments, &inv_std);
    let count = (n * s) as f64;
    with_activation!(rectifier, act => {
        // Per channel: Σg and Σ g·x̂.
        let sums: Vec<(f64, f64)> = (0..c)
            .into_par_iter()
            .map(|ch| {
                let (mean, inv) = (moments[ch], inv_std[ch]);
                let (scale, shift) = affine[ch];
                let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
                // The f32 work a block at a time (vectorised), then the f64 sums in order
                // (a serial chain, which would keep the rectifier's select scalar).
                const BLOCK: usize = 64;
                let (mut gs, mut gxs) = ([0f32; BLOCK], [0f32; BLOCK]);
                for b in 0..n {
                    let at = (b * c + ch) * s;
                    let planes = grad[at..][..s].chunks(BLOCK).zip(x[at..][..s].chunks(BLOCK));
                    for (g, x) in planes {
                        for (i, (g, x)) in g.iter().zip(x).enumerate() {
                            let g = act.backward(x * scale + shift, *g);
                            gs[i] = g;
                            gxs[i] = g * ((x - mean) * inv);
                        }
                        for (g, gx) in gs.iter().zip(&gxs).take(g.len()) {
                            sum_g += *g as f64;
                            sum_gx += *gx as f64;
                        }
                    }
                }
                (sum_g, sum_gx)
            })
            .collect();
        // SAFETY: each chunk is one plane of `s` values, all written.
        let dx = unsafe {
            written_in_chunks(n * c * s, s, |plane, dx| {
                let ch = plane % c;
                let (mean, inv) = (moments[ch], inv_std[ch]);
                let (scale, shift) = affine[ch];
                let mean_g = (sums[ch].0 / count) as f32;
                let mean_gx = (sums[ch].1 / count) as f32;
                let at = plane * s;
                for ((dx, g), x) in dx.iter_mut().zip(&grad[at..][..s]).zip(&x[at..][..s]) {
                    let g = act.backward(x * scale + shift, *g);
                    let normalised = (x - mean) * inv;
                    *dx = MaybeUninit::new(scale * (g - mean_g - normalised * mean_gx));
                }
            })
        };
        let dgamma = sums.iter().map(|s| s.1 as f32).collect();
        let dbeta = sums.iter().map(|s| s.0 as f32).collect();
        (dx, dgamma, dbeta)
    })
}
