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

/// `1 / √(var + ε)` per channel.
fn inverse_std(moments: &[f32], c: usize, epsilon: f64) -> Vec<f32> {
    moments[c..2 * c]
        .iter()
        .map(|v| (1.0 / ((*v as f64) + epsilon).sqrt()) as f32)
        .collect()
}

/// `γ · (x − μ) / √(var + ε) + β` per channel, with the batch's own moments.
pub fn batch_norm(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    moments: &[f32],
    epsilon: f64,
    [n, c, s]: [usize; 3],
) -> Vec<f32> {
    let inv_std = inverse_std(moments, c, epsilon);
    // SAFETY: each chunk is one plane of `s` values, all written.
    unsafe {
        written_in_chunks(n * c * s, s, |plane, y| {
            let ch = plane % c;
            let scale = gamma[ch] * inv_std[ch];
            let shift = beta[ch] - moments[ch] * scale;
            for (y, x) in y.iter_mut().zip(&x[plane * s..][..s]) {
                *y = MaybeUninit::new(x * scale + shift);
            }
        })
    }
}

/// The gradients of [`batch_norm`] for `x`, `γ` and `β` from the output's `grad`, the
/// batch statistics being functions of `x` too: with `x̂ = (x − μ)/σ` and `M` values per
/// channel, `∂x = γ/σ · (g − Σg/M − x̂ · Σ(g·x̂)/M)`, `∂γ = Σ g·x̂`, `∂β = Σ g`.
pub fn batch_norm_backward(
    x: &[f32],
    gamma: &[f32],
    moments: &[f32],
    epsilon: f64,
    grad: &[f32],
    [n, c, s]: [usize; 3],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let inv_std = inverse_std(moments, c, epsilon);
    let count = (n * s) as f64;
    // Per channel: Σg and Σ g·x̂.
    let sums: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let (mean, inv) = (moments[ch], inv_std[ch]);
            let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
            for b in 0..n {
                let at = (b * c + ch) * s;
                for (g, x) in grad[at..][..s].iter().zip(&x[at..][..s]) {
                    sum_g += *g as f64;
                    sum_gx += (*g * ((x - mean) * inv)) as f64;
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
            let mean_g = (sums[ch].0 / count) as f32;
            let mean_gx = (sums[ch].1 / count) as f32;
            let scale = gamma[ch] * inv;
            let at = plane * s;
            for ((dx, g), x) in dx.iter_mut().zip(&grad[at..][..s]).zip(&x[at..][..s]) {
                let normalised = (x - mean) * inv;
                *dx = MaybeUninit::new(scale * (g - mean_g - normalised * mean_gx));
            }
        })
    };
    let dgamma = sums.iter().map(|s| s.1 as f32).collect();
    let dbeta = sums.iter().map(|s| s.0 as f32).collect();
    (dx, dgamma, dbeta)
}
