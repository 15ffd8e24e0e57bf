//! The three products a convolution and a transposed convolution are made of, as
//! whole-batch matrix products on contiguous `f32` slices (NCHW). A window has an image
//! side (`window.channels × window.image`) and a grid side (`grid_channels ×
//! window.grid`); the weight is always `[grid_channels, window.rows()]` row-major
//! (a Conv2d's `[Co, C, kh, kw]`, a ConvTranspose2d's `[Ci, Co, kh, kw]`).
//!
//! - [`image_to_grid`]: a convolution's forward, a transposed convolution's input-gradient;
//! - [`grid_to_image`]: its adjoint, a convolution's input-gradient and a transposed
//!   convolution's forward;
//! - [`weight_grad`]: either one's weight-gradient, from the intermediates the other two
//!   return, so a backward pass builds each of them once.

use super::window::{Window, channel_to_batch_major, col2im};
pub use super::window::{batch_to_channel_major, im2col};

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

/// `[batch, window.channels, image]` to `[batch, grid_channels, grid]`, and the image's
/// column matrix ([`im2col`]), which [`weight_grad`] needs.
pub fn image_to_grid(
    image: &[f32],
    weight: &[f32],
    batch: usize,
    grid_channels: usize,
    window: &Window,
) -> (Vec<f32>, Vec<f32>) {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let cols = im2col(image, batch, window);
    let grid = matmul(
        grid_channels,
        columns,
        rows,
        View::rows(weight, rows),
        View::rows(&cols, columns),
    );
    let grid = channel_to_batch_major(&grid, batch, grid_channels, window.grid_len());
    (grid, cols)
}

/// The adjoint of [`image_to_grid`]: `[batch, grid_channels, grid]` to `[batch,
/// window.channels, image]`, and the grid values channel-major
/// ([`batch_to_channel_major`]), which [`weight_grad`] needs.
pub fn grid_to_image(
    grid: &[f32],
    weight: &[f32],
    batch: usize,
    grid_channels: usize,
    window: &Window,
) -> (Vec<f32>, Vec<f32>) {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let grid = batch_to_channel_major(grid, batch, grid_channels, window.grid_len());
    let cols = matmul(
        rows,
        columns,
        grid_channels,
        View::transposed(weight, rows),
        View::rows(&grid, columns),
    );
    (col2im(&cols, batch, window), grid)
}

/// The weight-gradient `[grid_channels, window.rows()]`: the grid side's gradient (or
/// values) channel-major times the image side's columns, transposed.
pub fn weight_grad(
    grid_channel_major: &[f32],
    cols: &[f32],
    batch: usize,
    grid_channels: usize,
    window: &Window,
) -> Vec<f32> {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    matmul(
        grid_channels,
        rows,
        columns,
        View::rows(grid_channel_major, columns),
        View::transposed(cols, columns),
    )
}
