//! The kernels on burn's CPU backend (`Flex`): tensors in, slices to [`gantry_kernels::conv`] and
//! [`super::norm`], tensors out.

use super::TrainingKernels;
use super::norm::{self, Rectifier};
use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::tensor::{Bytes, DType, Shape};
use gantry_kernels::Window;
use gantry_kernels::buffer::written_in_chunks;
use gantry_kernels::conv;
use std::mem::MaybeUninit;

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
    assert_eq!(a.len(), b.len(), "zip_map over slices of different lengths");
    // SAFETY: each chunk `i` covers `a[i·CHUNK..]` for as many values as it holds, and
    // the loop writes every one of them.
    unsafe {
        written_in_chunks(a.len(), CHUNK, |i, out| {
            let (a, b) = (&a[i * CHUNK..], &b[i * CHUNK..]);
            for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
                *o = MaybeUninit::new(f(*a, *b));
            }
        })
    }
}

pub(super) fn leaky_relu_backward(x: &FlexTensor, grad: &FlexTensor, slope: f32) -> FlexTensor {
    let (x, grad) = (Values::of(x), Values::of(grad));
    // The derivative burn's own LeakyReLU has: 1 where x ≥ 0, `slope` below.
    let values = zip_map(x.slice(), grad.slice(), |x, g| {
        if x >= 0.0 { g } else { g * slope }
    });
    tensor(values, &x.dims())
}

/// Which side of its window a convolution's input is on.
#[derive(Debug, Clone, Copy)]
pub(super) enum Conv {
    /// Conv2d: the input is the image, the output the grid.
    Forward,
    /// ConvTranspose2d: the input is the grid, the output the image.
    Transposed,
}

fn image_dims(batch: usize, window: &Window) -> [usize; 4] {
    [batch, window.channels, window.image[0], window.image[1]]
}

fn grid_dims(batch: usize, grid_channels: usize, window: &Window) -> [usize; 4] {
    [batch, grid_channels, window.grid[0], window.grid[1]]
}

pub(super) fn conv_forward(
    conv: Conv,
    x: &FlexTensor,
    weight: &FlexTensor,
    window: &Window,
) -> FlexTensor {
    let (x, weight) = (Values::of(x), Values::of(weight));
    let (batch, grid_channels) = (x.dims()[0], weight.dims()[0]);
    let (x, weight) = (x.slice(), weight.slice());
    match conv {
        Conv::Forward => {
            let (y, _) = conv::image_to_grid(x, weight, batch, grid_channels, window);
            tensor(y, &grid_dims(batch, grid_channels, window))
        }
        Conv::Transposed => {
            let (y, _) = conv::grid_to_image(x, weight, batch, grid_channels, window);
            tensor(y, &image_dims(batch, window))
        }
    }
}

/// The gradients of [`conv_forward`] for `x` and `weight` (each only if asked for); the
/// intermediate both need is built once.
pub(super) fn conv_backward(
    conv: Conv,
    x: &FlexTensor,
    weight: &FlexTensor,
    grad: &FlexTensor,
    window: &Window,
    [want_dx, want_dweight]: [bool; 2],
) -> [Option<FlexTensor>; 2] {
    let (x, weight, grad) = (Values::of(x), Values::of(weight), Values::of(grad));
    let (batch, grid_channels) = (x.dims()[0], weight.dims()[0]);
    let (x, weight, grad) = (x.slice(), weight.slice(), grad.slice());
    // The weight-gradient is (grid side, channel-major) × (image side's columns)ᵀ; the
    // input-gradient's product returns one of the two as a by-product.
    let (dx, grid_channel_major, cols) = match conv {
        Conv::Forward if want_dx => {
            let (dx, grid_cm) = conv::grid_to_image(grad, weight, batch, grid_channels, window);
            let dx = tensor(dx, &image_dims(batch, window));
            let cols = want_dweight.then(|| conv::columns(x, batch, window));
            (Some(dx), Some(grid_cm), cols)
        }
        Conv::Forward => {
            let grid_cm =
                conv::batch_to_channel_major(grad, batch, grid_channels, window.grid_len());
            (None, Some(grid_cm), Some(conv::columns(x, batch, window)))
        }
        Conv::Transposed if want_dx => {
            let (dx, cols) = conv::image_to_grid(grad, weight, batch, grid_channels, window);
            let dx = tensor(dx, &grid_dims(batch, grid_channels, window));
            let grid_cm = want_dweight
                .then(|| conv::batch_to_channel_major(x, batch, grid_channels, window.grid_len()));
            (Some(dx), grid_cm, Some(cols))
        }
        Conv::Transposed => {
            let grid_cm = conv::batch_to_channel_major(x, batch, grid_channels, window.grid_len());
            (
                None,
                Some(grid_cm),
                Some(conv::columns(grad, batch, window)),
            )
        }
    };
    let dweight = match (want_dweight, grid_channel_major, cols) {
        (true, Some(grid_cm), Some(cols)) => {
            let dw = conv::weight_grad(&grid_cm, &cols, batch, grid_channels, window);
            let [kh, kw] = window.kernel;
            Some(tensor(dw, &[grid_channels, window.channels, kh, kw]))
        }
        _ => None,
    };
    [dx, dweight]
}

/// `[n, c, rest…]` as `[n, c, s]`.
fn nc_s(dims: &[usize]) -> [usize; 3] {
    [dims[0], dims[1], dims[2..].iter().product()]
}

/// The gradients of `gantry_batch_norm_train` for `x`, `gamma` and `beta`.
pub(super) fn batch_norm_backward(
    [x, gamma, beta, moments]: [&FlexTensor; 4],
    epsilon: f64,
    rectifier: Rectifier,
    grad: &FlexTensor,
) -> [FlexTensor; 3] {
    let (x, gamma, beta, moments, grad) = (
        Values::of(x),
        Values::of(gamma),
        Values::of(beta),
        Values::of(moments),
        Values::of(grad),
    );
    let dims = x.dims();
    let (dx, dgamma, dbeta) = norm::batch_norm_backward(
        x.slice(),
        gamma.slice(),
        beta.slice(),
        moments.slice(),
        epsilon,
        rectifier,
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
        rectifier: Rectifier,
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
            rectifier,
            nc_s(&dims),
        );
        tensor(y, &dims)
    }

    fn gantry_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self> {
        conv_forward(Conv::Forward, &x, &weight, &window)
    }

    fn gantry_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self> {
        conv_forward(Conv::Transposed, &x, &weight, &window)
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
