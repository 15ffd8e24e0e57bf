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

use crate::channels_last;
pub use crate::window::batch_to_channel_major;
use crate::window::{Window, channel_to_batch_major, col2im, im2col};
use std::borrow::Cow;
use std::sync::OnceLock;

/// How the image side's column matrix is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[rows, batch · grid]` from NCHW planes ([`crate::window`]): for images with few
    /// channels (a discriminator's RGB or grey input, a generator's output), where a
    /// channel vector would be 1–3 values long.
    Planar,
    /// `[batch · grid, taps · channels]` from NHWC ([`channels_last`]): whole channel
    /// vectors per copy and per add.
    ChannelsLast,
}

impl Layout {
    /// Channels-last from this many image-side channels on.
    const CHANNELS_LAST_FROM: usize = 16;

    /// The layout for `window`: `GANTRY_CONV_COLUMNS=planar` or `channels-last` forces
    /// one (to measure), otherwise channels-last where the image side has many channels.
    pub fn for_window(window: &Window) -> Self {
        Self::for_channels(window.channels)
    }

    /// The layout for an image side with this many channels (see [`Layout::for_window`]).
    pub fn for_channels(channels: usize) -> Self {
        static FORCED: OnceLock<Option<Layout>> = OnceLock::new();
        let forced = FORCED.get_or_init(|| match std::env::var("GANTRY_CONV_COLUMNS").as_deref() {
            Ok("planar") => Some(Layout::Planar),
            Ok("channels-last") => Some(Layout::ChannelsLast),
            _ => None,
        });
        forced.unwrap_or(if channels >= Self::CHANNELS_LAST_FROM {
            Layout::ChannelsLast
        } else {
            Layout::Planar
        })
    }
}

/// The image side's column matrix, which a forward pass builds and the weight-gradient
/// reuses.
pub struct Columns {
    layout: Layout,
    data: Vec<f32>,
}

/// The column matrix of `image` `[batch, window.channels, image]`.
pub fn columns(image: &[f32], batch: usize, window: &Window) -> Columns {
    columns_in(Layout::for_window(window), image, batch, window)
}

fn columns_in(layout: Layout, image: &[f32], batch: usize, window: &Window) -> Columns {
    let data = match layout {
        Layout::Planar => im2col(image, batch, window),
        Layout::ChannelsLast => {
            let nhwc =
                channels_last::transpose_each(image, batch, window.channels, window.image_len());
            channels_last::im2col(&nhwc, batch, window)
        }
    };
    Columns { layout, data }
}

impl Layout {
    /// A weight `[grid_channels, window.rows()]` with its rows in this layout's order of
    /// (channel, tap).
    fn weight<'a>(self, weight: &'a [f32], grid_channels: usize, w: &Window) -> Cow<'a, [f32]> {
        self.weight_for(weight, grid_channels, w.channels, w.kernel)
    }

    /// [`Layout::weight`] for windows over `channels` and a `kernel`-sized kernel.
    fn weight_for<'a>(
        self,
        weight: &'a [f32],
        grid_channels: usize,
        channels: usize,
        kernel: [usize; 2],
    ) -> Cow<'a, [f32]> {
        match self {
            Layout::Planar => Cow::Borrowed(weight),
            Layout::ChannelsLast => Cow::Owned(channels_last::taps_outer(
                weight,
                grid_channels,
                channels,
                kernel,
            )),
        }
    }

    /// The inverse of [`Layout::weight`], for a weight-gradient.
    fn weight_back(self, weight: Vec<f32>, grid_channels: usize, w: &Window) -> Vec<f32> {
        match self {
            Layout::Planar => weight,
            Layout::ChannelsLast => channels_last::taps_inner(&weight, grid_channels, w),
        }
    }

    /// The `[rows, columns]` column matrix stored in `data` in this layout.
    fn view(self, data: &[f32], rows: usize, columns: usize) -> View<'_> {
        match self {
            Layout::Planar => View::rows(data, columns),
            Layout::ChannelsLast => View::transposed(data, rows),
        }
    }

    /// `a × b`, a `[rows, columns]` column matrix, stored in this layout.
    fn product(self, rows: usize, columns: usize, k: usize, a: View, b: View) -> Vec<f32> {
        match self {
            Layout::Planar => matmul(rows, columns, k, a, b),
            // (a × b)ᵀ = bᵀ × aᵀ, row-major.
            Layout::ChannelsLast => matmul(columns, rows, k, b.t(), a.t()),
        }
    }

    /// The adjoint of [`columns`]: `[batch, window.channels, image]` from a column matrix
    /// in this layout.
    fn col2im(self, cols: &[f32], batch: usize, w: &Window) -> Vec<f32> {
        match self {
            Layout::Planar => col2im(cols, batch, w),
            Layout::ChannelsLast => {
                let nhwc = channels_last::col2im(cols, batch, w);
                channels_last::transpose_each(&nhwc, batch, w.image_len(), w.channels)
            }
        }
    }
}

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
        Self::rows(data, cols).t()
    }

    /// This matrix transposed, in place.
    fn t(self) -> Self {
        Self {
            data: self.data,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
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
/// column matrix, which [`weight_grad`] needs.
pub fn image_to_grid(
    image: &[f32],
    weight: &[f32],
    batch: usize,
    grid_channels: usize,
    window: &Window,
) -> (Vec<f32>, Columns) {
    let layout = Layout::for_window(window);
    let weight = layout.weight(weight, grid_channels, window);
    image_to_grid_in(layout, image, &weight, batch, grid_channels, window)
}

/// [`image_to_grid`] with `weight` already in `layout`'s order ([`Layout::weight`]).
fn image_to_grid_in(
    layout: Layout,
    image: &[f32],
    weight: &[f32],
    batch: usize,
    grid_channels: usize,
    window: &Window,
) -> (Vec<f32>, Columns) {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let cols = columns_in(layout, image, batch, window);
    let grid = matmul(
        grid_channels,
        columns,
        rows,
        View::rows(weight, rows),
        layout.view(&cols.data, rows, columns),
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
    let layout = Layout::for_window(window);
    let weight = layout.weight(weight, grid_channels, window);
    grid_to_image_in(layout, grid, &weight, batch, grid_channels, window)
}

/// [`grid_to_image`] with `weight` already in `layout`'s order ([`Layout::weight`]).
fn grid_to_image_in(
    layout: Layout,
    grid: &[f32],
    weight: &[f32],
    batch: usize,
    grid_channels: usize,
    window: &Window,
) -> (Vec<f32>, Vec<f32>) {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let grid = batch_to_channel_major(grid, batch, grid_channels, window.grid_len());
    let cols = layout.product(
        rows,
        columns,
        grid_channels,
        View::rows(weight, rows).t(),
        View::rows(&grid, columns),
    );
    let image = layout.col2im(&cols, batch, window);
    (image, grid)
}

/// A weight that does not change between calls (inference), reordered once for its
/// layout's products, where [`image_to_grid`] and [`grid_to_image`] reorder theirs on every
/// call (a training step's weights are new each step).
#[derive(Debug, Clone)]
pub struct PreparedWeight {
    layout: Layout,
    data: Vec<f32>,
    grid_channels: usize,
    channels: usize,
    kernel: [usize; 2],
}

impl PreparedWeight {
    /// `weight` `[grid_channels, channels, kh, kw]`, for windows over `channels` image-side
    /// channels and a `kernel` (`[kh, kw]`) window.
    pub fn new(weight: &[f32], grid_channels: usize, channels: usize, kernel: [usize; 2]) -> Self {
        assert_eq!(
            weight.len(),
            grid_channels * channels * kernel[0] * kernel[1],
            "a [{grid_channels}, {channels}, {}, {}] weight",
            kernel[0],
            kernel[1]
        );
        let layout = Layout::for_channels(channels);
        let data = layout
            .weight_for(weight, grid_channels, channels, kernel)
            .into_owned();
        PreparedWeight {
            layout,
            data,
            grid_channels,
            channels,
            kernel,
        }
    }

    /// The window must be over this weight's channels and kernel size.
    fn check(&self, window: &Window) {
        assert!(
            window.channels == self.channels && window.kernel == self.kernel,
            "a weight prepared for {} channels and a {:?} kernel, used on {window:?}",
            self.channels,
            self.kernel
        );
    }

    /// [`image_to_grid`] without the column matrix (nothing will take a weight-gradient).
    pub fn image_to_grid(&self, image: &[f32], batch: usize, window: &Window) -> Vec<f32> {
        self.check(window);
        let grid_channels = self.grid_channels;
        image_to_grid_in(self.layout, image, &self.data, batch, grid_channels, window).0
    }

    /// [`grid_to_image`] without the channel-major grid.
    pub fn grid_to_image(&self, grid: &[f32], batch: usize, window: &Window) -> Vec<f32> {
        self.check(window);
        let grid_channels = self.grid_channels;
        grid_to_image_in(self.layout, grid, &self.data, batch, grid_channels, window).0
    }
}

/// The weight-gradient `[grid_channels, window.rows()]`: the grid side's gradient (or
/// values) channel-major times the image side's columns, transposed.
pub fn weight_grad(
    grid_channel_major: &[f32],
    cols: &Columns,
    batch: usize,
    grid_channels: usize,
    window: &Window,
) -> Vec<f32> {
    let (rows, columns) = (window.rows(), batch * window.grid_len());
    let layout = cols.layout;
    let dweight = matmul(
        grid_channels,
        rows,
        columns,
        View::rows(grid_channel_major, columns),
        layout.view(&cols.data, rows, columns).t(),
    );
    layout.weight_back(dweight, grid_channels, window)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 37 + seed * 11) % 101) as f32) / 50.0 - 1.0)
            .collect()
    }

    /// An image, a grid and a weight for `batch` images over `w`.
    fn inputs(w: &Window, grid_channels: usize, batch: usize) -> [Vec<f32>; 3] {
        [
            values(batch * w.channels * w.image_len(), 1),
            values(batch * grid_channels * w.grid_len(), 2),
            values(grid_channels * w.rows(), 3),
        ]
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    /// Both layouts compute the same three products (to float rounding: the sums run in
    /// another order), whatever the window.
    #[test]
    fn the_two_layouts_agree() {
        for (channels, grid_channels, image, kernel, stride, padding) in [
            (3, 8, [28, 28], [4, 4], [2, 2], [1, 1]),
            (16, 4, [7, 7], [4, 4], [2, 2], [1, 1]),
            (5, 6, [1, 1], [4, 4], [1, 1], [3, 3]),
            (4, 3, [9, 8], [3, 2], [2, 3], [0, 1]),
        ] {
            let w = Window::over(channels, image, kernel, stride, padding);
            let batch = 3;
            let [x, g, weight] = inputs(&w, grid_channels, batch);
            let run = |layout: Layout| {
                let weight = layout.weight(&weight, grid_channels, &w);
                let (y, cols) = image_to_grid_in(layout, &x, &weight, batch, grid_channels, &w);
                let (dx, g_cm) = grid_to_image_in(layout, &g, &weight, batch, grid_channels, &w);
                let dw = weight_grad(&g_cm, &cols, batch, grid_channels, &w);
                [y, dx, dw]
            };
            let (planar, last) = (run(Layout::Planar), run(Layout::ChannelsLast));
            for (name, (a, b)) in ["grid", "image", "weight"]
                .iter()
                .zip(planar.iter().zip(&last))
            {
                assert!(max_diff(a, b) < 1e-4, "{name} of {w:?}: {}", max_diff(a, b));
            }
        }
    }

    /// A prepared weight gives exactly what reordering it on every call gives, in either
    /// layout (planar below 16 image-side channels, channels-last from 16).
    #[test]
    fn a_prepared_weight_computes_the_same_products() {
        for (channels, grid_channels, image, kernel, stride, padding) in [
            (3, 8, [12, 12], [4, 4], [2, 2], [1, 1]),
            (16, 4, [7, 7], [4, 4], [2, 2], [1, 1]),
            (20, 5, [9, 8], [3, 2], [2, 3], [0, 1]),
        ] {
            let w = Window::over(channels, image, kernel, stride, padding);
            let batch = 2;
            let [x, g, weight] = inputs(&w, grid_channels, batch);
            let prepared = PreparedWeight::new(&weight, grid_channels, channels, kernel);
            assert_eq!(prepared.layout, Layout::for_window(&w));
            assert_eq!(
                prepared.image_to_grid(&x, batch, &w),
                image_to_grid(&x, &weight, batch, grid_channels, &w).0
            );
            assert_eq!(
                prepared.grid_to_image(&g, batch, &w),
                grid_to_image(&g, &weight, batch, grid_channels, &w).0
            );
        }
    }
}
