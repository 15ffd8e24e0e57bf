//! The kernels on burn's CPU backend (`Flex`): tensors in, slices to [`super::conv`],
//! tensors out.

use super::TrainingKernels;
use super::conv;
use super::norm;
use super::window::Window;
use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::tensor::{Bytes, DType, Shape};
use rayon::prelude::*;

/// A tensor's values in logical order (copied only if its layout is not contiguous).
pub(super) struct Values(FlexTensor);

impl Values {
    pub fn of(tensor: &FlexTensor) -> Self {
        Self(tensor.to_contiguous())
    }

    pub fn slice(&self) -> &[f32] {
        let layout = self.0.layout();
        let start = layout.start_offset();
        &self.0.storage::<f32>()[start..start + layout.num_elements()]
    }

    pub fn dims(&self) -> Vec<usize> {
        self.0.layout().shape().to_vec()
    }
}

pub(super) fn tensor(values: Vec<f32>, dims: &[usize]) -> FlexTensor {
    debug_assert_eq!(values.len(), dims.iter().product::<usize>());
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(Shape::from(dims.to_vec())),
        DType::F32,
    )
}

/// Element-wise over two equal-length slices, in parallel chunks for large tensors.
fn zip_map(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    const CHUNK: usize = 1 << 15;
    let mut out = vec![0.0f32; a.len()];
    out.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
        .for_each(|(out, (a, b))| {
            for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
                *o = f(*a, *b);
            }
        });
    out
}

pub(super) fn leaky_relu_backward(x: &FlexTensor, grad: &FlexTensor, slope: f32) -> FlexTensor {
    let (x, grad) = (Values::of(x), Values::of(grad));
    // The derivative burn's own LeakyReLU has: 1 where x ≥ 0, `slope` below.
    let values = zip_map(x.slice(), grad.slice(), |x, g| {
        if x >= 0.0 { g } else { g * slope }
    });
    tensor(values, &x.dims())
}

pub(super) fn conv2d_input_grad(
    grad: &FlexTensor,
    weight: &FlexTensor,
    window: &Window,
) -> FlexTensor {
    let (grad, weight) = (Values::of(grad), Values::of(weight));
    let [batch, out_channels] = [grad.dims()[0], grad.dims()[1]];
    let dx = conv::conv2d_input_grad(grad.slice(), weight.slice(), batch, out_channels, window);
    tensor(
        dx,
        &[batch, window.channels, window.image[0], window.image[1]],
    )
}

pub(super) fn conv2d_weight_grad(x: &FlexTensor, grad: &FlexTensor, window: &Window) -> FlexTensor {
    let (x, grad) = (Values::of(x), Values::of(grad));
    let [batch, out_channels] = [grad.dims()[0], grad.dims()[1]];
    let dw = conv::conv2d_weight_grad(x.slice(), grad.slice(), batch, out_channels, window);
    tensor(
        dw,
        &[
            out_channels,
            window.channels,
            window.kernel[0],
            window.kernel[1],
        ],
    )
}

pub(super) fn conv_transpose2d_input_grad(
    grad: &FlexTensor,
    weight: &FlexTensor,
    window: &Window,
) -> FlexTensor {
    let (grad, weight) = (Values::of(grad), Values::of(weight));
    let batch = grad.dims()[0];
    let in_channels = weight.dims()[0];
    let dx =
        conv::conv_transpose2d_input_grad(grad.slice(), weight.slice(), batch, in_channels, window);
    tensor(dx, &[batch, in_channels, window.grid[0], window.grid[1]])
}

pub(super) fn conv_transpose2d_weight_grad(
    x: &FlexTensor,
    grad: &FlexTensor,
    window: &Window,
) -> FlexTensor {
    let (x, grad) = (Values::of(x), Values::of(grad));
    let [batch, in_channels] = [x.dims()[0], x.dims()[1]];
    let dw =
        conv::conv_transpose2d_weight_grad(x.slice(), grad.slice(), batch, in_channels, window);
    tensor(
        dw,
        &[
            in_channels,
            window.channels,
            window.kernel[0],
            window.kernel[1],
        ],
    )
}

/// `[n, c, rest…]` as `[n, c, s]`.
fn nc_s(dims: &[usize]) -> [usize; 3] {
    [dims[0], dims[1], dims[2..].iter().product()]
}

/// The gradients of `gantry_batch_norm_train` for `x`, `gamma` and `beta`.
pub(super) fn batch_norm_backward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    moments: &FlexTensor,
    epsilon: f64,
    grad: &FlexTensor,
) -> [FlexTensor; 3] {
    let (x, gamma, moments, grad) = (
        Values::of(x),
        Values::of(gamma),
        Values::of(moments),
        Values::of(grad),
    );
    let dims = x.dims();
    let (dx, dgamma, dbeta) = norm::batch_norm_backward(
        x.slice(),
        gamma.slice(),
        moments.slice(),
        epsilon,
        grad.slice(),
        nc_s(&dims),
    );
    let c = dims[1];
    [tensor(dx, &dims), tensor(dgamma, &[c]), tensor(dbeta, &[c])]
}

impl TrainingKernels for Flex {
    fn gantry_channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let x = Values::of(&x);
        let [n, c, s] = nc_s(&x.dims());
        tensor(norm::channel_moments(x.slice(), n, c, s), &[2, c])
    }

    fn gantry_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let (x, gamma, beta, moments) = (
            Values::of(&x),
            Values::of(&gamma),
            Values::of(&beta),
            Values::of(&moments),
        );
        let dims = x.dims();
        let y = norm::batch_norm(
            x.slice(),
            gamma.slice(),
            beta.slice(),
            moments.slice(),
            epsilon,
            nc_s(&dims),
        );
        tensor(y, &dims)
    }

    fn gantry_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self> {
        let (x, weight) = (Values::of(&x), Values::of(&weight));
        let (batch, out_channels) = (x.dims()[0], weight.dims()[0]);
        let y = conv::conv2d(x.slice(), weight.slice(), batch, out_channels, &window);
        tensor(y, &[batch, out_channels, window.grid[0], window.grid[1]])
    }

    fn gantry_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self> {
        let (x, weight) = (Values::of(&x), Values::of(&weight));
        let (batch, in_channels) = (x.dims()[0], x.dims()[1]);
        let y = conv::conv_transpose2d(x.slice(), weight.slice(), batch, in_channels, &window);
        tensor(
            y,
            &[batch, window.channels, window.image[0], window.image[1]],
        )
    }

    fn gantry_leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        let x = Values::of(&x);
        // Exactly burn-flex's own forward: x where x ≥ 0, slope · x below.
        let values = zip_map(
            x.slice(),
            x.slice(),
            |x, _| if x >= 0.0 { x } else { slope * x },
        );
        tensor(values, &x.dims())
    }
}
