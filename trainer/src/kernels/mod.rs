//! CPU training kernels for the layers gantry's networks are made of — convolution,
//! transposed convolution, batch and instance norm, LeakyReLU — plugged into burn through
//! its backend-extension point, each with its own backward pass.
//!
//! Why (profile in docs/performance.md): burn-flex 0.22 runs a convolution as one small
//! matrix product per image, computes a weight gradient as a convolution over
//! transposed copies, and differentiates LeakyReLU through a mask and two selects. Here a
//! layer's forward and each of its gradients is one whole-batch product over a
//! column matrix (`im2col`: planar for few channels, channels-last from 16 on; the products
//! and column matrices are `gantry-kernels`', which the browser runtime runs too), and
//! LeakyReLU's backward is one pass. Results agree with burn's ops to float rounding (tests
//! below); on any other backend, or with `GANTRY_KERNELS=burn`, the layers call burn's ops
//! instead.

mod autodiff;
mod flex;
mod norm;

pub use gantry_kernels::Window;
pub use norm::Rectifier;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, backend_extension};
use burn::module::Param;
use burn::nn::InstanceNorm;
use burn::prelude::*;
use burn::tensor::DType;
use burn::tensor::activation;
use burn::tensor::module;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use std::sync::OnceLock;

/// The operations burn's CPU backend gets from gantry. Forward only: backward passes are
/// recorded by the `Autodiff<Flex>` implementation.
#[backend_extension(Flex, Autodiff)]
pub trait TrainingKernels: Backend {
    /// `x` `[n, C, image]` convolved with `weight` `[Co, C, kh, kw]` over `window`.
    fn gantry_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self>;
    /// `x` `[n, Ci, grid]` transposed-convolved with `weight` `[Ci, Co, kh, kw]`; `window`
    /// is over the output image.
    fn gantry_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self>;
    fn gantry_leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self>;
    /// The per-channel mean and biased variance of `x` `[n, C, …]` as `[2, C]`; not
    /// differentiated (the batch norm's backward accounts for them).
    fn gantry_channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Batch norm of `x` `[n, C, …]` with the batch's own `moments` (from
    /// `gantry_channel_moments(x)`); differentiable in `x`, `gamma` and `beta`.
    fn gantry_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        epsilon: f64,
        rectifier: Rectifier,
    ) -> FloatTensor<Self>;
}

/// Whether `GANTRY_KERNELS=burn` asked for burn's own ops everywhere (to compare).
fn burn_ops_requested() -> bool {
    static BURN: OnceLock<bool> = OnceLock::new();
    *BURN.get_or_init(|| std::env::var("GANTRY_KERNELS").is_ok_and(|v| v == "burn"))
}

/// Whether these kernels run `x`: an `f32` tensor on burn's CPU backend (with or without
/// autodiff).
fn runs_here<const D: usize>(x: &Tensor<D>) -> bool {
    if burn_ops_requested() || x.dtype() != DType::F32 {
        return false;
    }
    let device = x.device().inner();
    matches!(device.as_dispatch(), DispatchDevice::Flex(_))
}

fn add_bias(y: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    match bias {
        Some(bias) => {
            let [c] = bias.dims();
            y + bias.reshape([1, c, 1, 1])
        }
        None => y,
    }
}

/// A 2-D convolution (dilation 1, one group, `padding` on both sides of each axis).
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    padding: [usize; 2],
) -> Tensor<4> {
    if !runs_here(&x) {
        return module::conv2d(
            x,
            weight,
            bias,
            ConvOptions::new(stride, padding, [1, 1], 1),
        );
    }
    let [_, channels, h, w] = x.dims();
    let [_, _, kh, kw] = weight.dims();
    let window = Window::over(channels, [h, w], [kh, kw], stride, padding);
    let y = <Dispatch as TrainingKernels>::gantry_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        window,
    );
    add_bias(Tensor::from_dispatch(y), bias)
}

/// A 2-D transposed convolution (dilation 1, one group); `weight` is `[Ci, Co, kh, kw]`.
pub fn conv_transpose2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    padding: [usize; 2],
    output_padding: [usize; 2],
) -> Tensor<4> {
    if !runs_here(&x) {
        let options = ConvTransposeOptions::new(stride, padding, output_padding, [1, 1], 1);
        return module::conv_transpose2d(x, weight, bias, options);
    }
    let [_, _, h, w] = x.dims();
    let [_, out_channels, kh, kw] = weight.dims();
    let image = [0, 1]
        .map(|a| ([h, w][a] - 1) * stride[a] + [kh, kw][a] + output_padding[a] - 2 * padding[a]);
    let window = Window {
        channels: out_channels,
        image,
        grid: [h, w],
        kernel: [kh, kw],
        stride,
        padding,
    };
    let y = <Dispatch as TrainingKernels>::gantry_conv_transpose2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        window,
    );
    add_bias(Tensor::from_dispatch(y), bias)
}

/// LeakyReLU: `x` where `x ≥ 0`, `slope · x` below.
pub fn leaky_relu<const D: usize>(x: Tensor<D>, slope: f64) -> Tensor<D> {
    if !runs_here(&x) {
        return activation::leaky_relu(x, slope);
    }
    Tensor::from_dispatch(<Dispatch as TrainingKernels>::gantry_leaky_relu(
        x.into_dispatch(),
        slope as f32,
    ))
}

/// Batch norm in training mode, then `rectifier`: the output, and the batch's per-channel
/// mean and biased variance (detached) for the running statistics.
pub fn batch_norm_train<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
    rectifier: Rectifier,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    if !runs_here(&x) {
        let result = module::batch_norm_train(x, gamma, beta, epsilon);
        return (
            rectify(result.output, rectifier),
            result.mean.detach(),
            result.variance.detach(),
        );
    }
    let moments: Tensor<2> = Tensor::from_dispatch(
        <Dispatch as TrainingKernels>::gantry_channel_moments(x.clone().into_dispatch()),
    );
    let [_, c] = moments.dims();
    let y = <Dispatch as TrainingKernels>::gantry_batch_norm_train(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        moments.clone().into_dispatch(),
        epsilon,
        rectifier,
    );
    let mean = moments.clone().slice([0..1, 0..c]).reshape([c]);
    let variance = moments.slice([1..2, 0..c]).reshape([c]);
    (Tensor::from_dispatch(y), mean.detach(), variance.detach())
}

/// `rectifier` applied on its own, as burn's activations (or [`leaky_relu`]) compute it.
pub fn rectify<const D: usize>(x: Tensor<D>, rectifier: Rectifier) -> Tensor<D> {
    match rectifier {
        Rectifier::None => x,
        Rectifier::Relu => activation::relu(x),
        Rectifier::Leaky(slope) => leaky_relu(x, slope),
    }
}

/// Instance norm of `x` `[n, C, h, w]`: each sample's channel normalised by its own
/// moments, then `γ · x̂ + β` per channel. On the CPU this is the batch-norm kernel over
/// `[1, n·C, h, w]` with γ and β repeated per sample — one pass for the moments, one for
/// the output, one backward — where burn's `InstanceNorm` is a chain of element-wise ops
/// and reductions, each its own pass and its own node in autodiff.
///
/// `rectifier` is applied in the same pass (the WGAN-GP critic's InstanceNorm → LeakyReLU).
pub fn instance_norm(norm: &InstanceNorm, x: Tensor<4>, rectifier: Rectifier) -> Tensor<4> {
    if !runs_here(&x) {
        return rectify(norm.forward(x), rectifier);
    }
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let per_sample = |v: Option<&Param<Tensor<1>>>, fill: f32| {
        v.map(|v| v.val())
            .unwrap_or_else(|| Tensor::full([c], fill, &device))
            .reshape([1, c])
            .repeat_dim(0, n)
            .reshape([n * c])
    };
    let gamma = per_sample(norm.gamma.as_ref(), 1.0);
    let beta = per_sample(norm.beta.as_ref(), 0.0);
    let (y, _, _) = batch_norm_train(
        x.reshape([1, n * c, h, w]),
        gamma,
        beta,
        norm.epsilon,
        rectifier,
    );
    y.reshape([n, c, h, w])
}

#[cfg(test)]
mod tests;
