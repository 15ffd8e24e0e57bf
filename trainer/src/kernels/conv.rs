//! Convolution and transposed convolution, forward and both gradients, as whole-batch
//! matrix products on contiguous `f32` slices (NCHW). One description serves both: a
//! transposed convolution is the adjoint of the convolution over its output image.

use super::window::{Window, batch_to_channel_major, channel_to_batch_major, col2im, im2col};

/// A matrix in a slice: element `(i, j)` is `data[i · row_stride + j · col_stride]`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    row_stride: isize,
    col_stride: isize,
}

impl<'a> View<'a> {
    /// A row-major matrix with `cols` columns.
    fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: cols as isize,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: 1,
            col_stride: cols as isize,
        }
    }
}

/// `a × b` for `a` `m × k` and `b` `k × n`: a row-major `m × n` matrix. gemm picks its
/// kernels (AVX2 or AVX-512) at run time.
fn matmul(m: usize, n: usize, k: usize, a: View, b: View) -> Vec<f32> {
    if m == 0 || n == 0 || k == 0 {
        return vec![0.0; m * n];
    }
    assert!(
        a.data.len() >= m * k && b.data.len() >= k * n,
        "matmul operand too short"
    );
    let parallelism = if m * n * k >= 48 * 48 * 48 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // Not zeroed first: with `read_dst = false` gemm writes every element of `c` and
    // reads none (a memset of each product was ~4% of a step).
    let mut c = Vec::<f32>::with_capacity(m * n);
    // SAFETY: every index the strides reach is inside its slice: `a` spans m·k and `b`
    // k·n elements in either orientation (asserted above); `c` has room for m·n,
    // row-major, all of them written by gemm before `set_len`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.data.as_ptr(),
            a.col_stride,
            a.row_stride,
            b.data.as_ptr(),
            b.col_stride,
            b.row_stride,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
        c.set_len(m * n);
    }
    c
}

/// `y = conv(x, weight)`: `x` `[batch, C, image]`, `weight` `[Co, C, kh, kw]`, `window`
/// over the input image. Returns `[batch, Co, grid]`.
pub fn conv2d(
    x: &[f32],
    weight: &[f32],
    batch: usize,
    out_channels: usize,
    window: &Window,
) -> Vec<f32> {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let cols = im2col(x, batch, window);
    let y = matmul(
        out_channels,
        columns,
        rows,
        View::rows(weight, rows),
        View::rows(&cols, columns),
    );
    channel_to_batch_major(&y, batch, out_channels, window.grid_len())
}

/// `∂L/∂x` of [`conv2d`] from `grad` `[batch, Co, grid]`: `[batch, C, image]`.
pub fn conv2d_input_grad(
    grad: &[f32],
    weight: &[f32],
    batch: usize,
    out_channels: usize,
    window: &Window,
) -> Vec<f32> {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let grad = batch_to_channel_major(grad, batch, out_channels, window.grid_len());
    let dcols = matmul(
        rows,
        columns,
        out_channels,
        View::transposed(weight, rows),
        View::rows(&grad, columns),
    );
    col2im(&dcols, batch, window)
}

/// `∂L/∂weight` of [`conv2d`]: `[Co, C, kh, kw]`.
pub fn conv2d_weight_grad(
    x: &[f32],
    grad: &[f32],
    batch: usize,
    out_channels: usize,
    window: &Window,
) -> Vec<f32> {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let cols = im2col(x, batch, window);
    let grad = batch_to_channel_major(grad, batch, out_channels, window.grid_len());
    matmul(
        out_channels,
        rows,
        columns,
        View::rows(&grad, columns),
        View::transposed(&cols, columns),
    )
}

/// `y = conv_transpose(x, weight)`: `x` `[batch, Ci, grid]`, `weight` `[Ci, Co, kh, kw]`,
/// `window` over the output image (`Co` channels). Returns `[batch, Co, image]`.
pub fn conv_transpose2d(
    x: &[f32],
    weight: &[f32],
    batch: usize,
    in_channels: usize,
    window: &Window,
) -> Vec<f32> {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let x = batch_to_channel_major(x, batch, in_channels, window.grid_len());
    let cols = matmul(
        rows,
        columns,
        in_channels,
        View::transposed(weight, rows),
        View::rows(&x, columns),
    );
    col2im(&cols, batch, window)
}

/// `∂L/∂x` of [`conv_transpose2d`] from `grad` `[batch, Co, image]`: `[batch, Ci, grid]`.
pub fn conv_transpose2d_input_grad(
    grad: &[f32],
    weight: &[f32],
    batch: usize,
    in_channels: usize,
    window: &Window,
) -> Vec<f32> {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let dcols = im2col(grad, batch, window);
    let dx = matmul(
        in_channels,
        columns,
        rows,
        View::rows(weight, rows),
        View::rows(&dcols, columns),
    );
    channel_to_batch_major(&dx, batch, in_channels, window.grid_len())
}

/// `∂L/∂weight` of [`conv_transpose2d`]: `[Ci, Co, kh, kw]`.
pub fn conv_transpose2d_weight_grad(
    x: &[f32],
    grad: &[f32],
    batch: usize,
    in_channels: usize,
    window: &Window,
) -> Vec<f32> {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let x = batch_to_channel_major(x, batch, in_channels, window.grid_len());
    let dcols = im2col(grad, batch, window);
    matmul(
        in_channels,
        rows,
        columns,
        View::rows(&x, columns),
        View::transposed(&dcols, columns),
    )
}
