//! The sliding window of a 2-D convolution, and the two data movements every convolution
//! on the CPU is made of: `im2col` (one column per output position, one row per input
//! channel × kernel tap) and its adjoint `col2im` (scatter-add the columns back).
//!
//! Both work on the whole batch at once: a column index is `n · grid + position`, so a
//! layer's forward or backward is one large matrix product instead of one per image
//! (burn-flex 0.22 runs one product per image, which for a DCGAN's 4×4 and 7×7 layers
//! means dozens of thin matrices its gemm cannot fill).

use crate::buffer::{chunks_per_task, copy, written_in_chunks};
use rayon::prelude::*;

/// A `kernel` moved by `stride` over an image of `channels × image` padded by `padding` on
/// each side (dilation 1, one group), visiting `grid` positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub channels: usize,
    pub image: [usize; 2],
    pub grid: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl Window {
    /// The window of a convolution over `image`: its grid is what the kernel reaches.
    pub fn over(
        channels: usize,
        image: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Self {
        let grid = [0, 1].map(|a| (image[a] + 2 * padding[a] - kernel[a]) / stride[a] + 1);
        Self {
            channels,
            image,
            grid,
            kernel,
            stride,
            padding,
        }
    }

    /// Rows of the column matrix: one per channel and kernel tap.
    pub fn rows(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    pub fn grid_len(&self) -> usize {
        self.grid[0] * self.grid[1]
    }

    pub fn image_len(&self) -> usize {
        self.image[0] * self.image[1]
    }

    /// The grid positions `g` along axis `a` whose image coordinate `g·stride + tap −
    /// padding` lies inside the image: a half-open range.
    fn valid(&self, a: usize, tap: usize) -> (usize, usize) {
        let (s, p, size) = (self.stride[a], self.padding[a], self.image[a]);
        let first = p.saturating_sub(tap).div_ceil(s);
        let end = if size + p > tap {
            (size + p - tap).div_ceil(s)
        } else {
            0
        };
        let end = end.min(self.grid[a]);
        (first.min(end), end)
    }
}

/// `[batch, channels, image]` (contiguous NCHW) to the `[rows, batch · grid]` column
/// matrix, row-major: entry `((c·kh + i)·kw + j, n·grid + y·gw + x)` is pixel
/// `(n, c, y·sh + i − ph, x·sw + j − pw)`, zero outside the image.
pub fn im2col(x: &[f32], batch: usize, w: &Window) -> Vec<f32> {
    let columns = batch * w.grid_len();
    let mut cols = vec![0.0f32; w.rows() * columns];
    cols.par_chunks_mut(columns.max(1))
        .enumerate()
        .for_each(|(row, out)| im2col_row(x, batch, w, row, out));
    cols
}

/// One row of [`im2col`]: one channel and kernel tap, every image and grid position.
#[inline(never)]
fn im2col_row(x: &[f32], batch: usize, w: &Window, row: usize, out: &mut [f32]) {
    let (grid, image) = (w.grid_len(), w.image_len());
    let [kh, kw] = w.kernel;
    let gw = w.grid[1];
    let (c, tap) = (row / (kh * kw), row % (kh * kw));
    let (i, j) = (tap / kw, tap % kw);
    let (y0, y1) = w.valid(0, i);
    let (x0, x1) = w.valid(1, j);
    let (sx, ix0) = (w.stride[1], (x0 * w.stride[1] + j) - w.padding[1]);
    for n in 0..batch {
        let plane = &x[(n * w.channels + c) * image..][..image];
        let out = &mut out[n * grid..][..grid];
        for y in y0..y1 {
            let iy = y * w.stride[0] + i - w.padding[0];
            let src = &plane[iy * w.image[1]..][..w.image[1]];
            let dst = &mut out[y * gw + x0..y * gw + x1];
            if sx == 1 {
                dst.copy_from_slice(&src[ix0..ix0 + dst.len()]);
            } else {
                for (d, s) in dst.iter_mut().zip(src[ix0..].iter().step_by(sx)) {
                    *d = *s;
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: each column entry added back onto the pixel it was read
/// from, giving `[batch, channels, image]`. Each output plane is summed by one task, in
/// a fixed order, so the result does not depend on the thread count.
pub fn col2im(cols: &[f32], batch: usize, w: &Window) -> Vec<f32> {
    let image = w.image_len();
    let mut out = vec![0.0f32; batch * w.channels * image];
    out.par_chunks_mut(image.max(1))
        .with_min_len(chunks_per_task(image))
        .enumerate()
        .for_each(|(plane_index, plane)| col2im_plane(cols, batch, w, plane_index, plane));
    out
}

/// One output plane of [`col2im`]: image `n`, channel `c`.
#[inline(never)]
fn col2im_plane(cols: &[f32], batch: usize, w: &Window, plane_index: usize, plane: &mut [f32]) {
    let grid = w.grid_len();
    let columns = batch * grid;
    let [kh, kw] = w.kernel;
    let gw = w.grid[1];
    let (n, c) = (plane_index / w.channels, plane_index % w.channels);
    let sx = w.stride[1];
    for i in 0..kh {
        let (y0, y1) = w.valid(0, i);
        for j in 0..kw {
            let (x0, x1) = w.valid(1, j);
            if x0 >= x1 {
                continue;
            }
            let ix0 = (x0 * sx + j) - w.padding[1];
            let row = (c * kh + i) * kw + j;
            let src = &cols[row * columns + n * grid..][..grid];
            for y in y0..y1 {
                let iy = y * w.stride[0] + i - w.padding[0];
                let dst = &mut plane[iy * w.image[1]..][..w.image[1]];
                let src = &src[y * gw + x0..y * gw + x1];
                if sx == 1 {
                    for (d, s) in dst[ix0..ix0 + src.len()].iter_mut().zip(src) {
                        *d += *s;
                    }
                } else {
                    for (d, s) in dst[ix0..].iter_mut().step_by(sx).zip(src) {
                        *d += *s;
                    }
                }
            }
        }
    }
}

/// `[n, c, s]` to `[c, n · s]` (batch-major images to channel-major rows).
pub fn batch_to_channel_major(x: &[f32], n: usize, c: usize, s: usize) -> Vec<f32> {
    // SAFETY: each chunk is channel `ci`'s row of `n · s` values, and the loop writes all
    // `n` runs of `s` in it.
    unsafe {
        written_in_chunks(n * c * s, n * s, |ci, row| {
            for b in 0..n {
                copy(&mut row[b * s..][..s], &x[(b * c + ci) * s..][..s]);
            }
        })
    }
}

/// `[c, n · s]` back to `[n, c, s]`.
pub fn channel_to_batch_major(x: &[f32], n: usize, c: usize, s: usize) -> Vec<f32> {
    // SAFETY: each chunk is image `b`'s `c · s` values, and the loop writes all `c` runs
    // of `s` in it.
    unsafe {
        written_in_chunks(n * c * s, c * s, |b, image| {
            for ci in 0..c {
                copy(&mut image[ci * s..][..s], &x[ci * n * s + b * s..][..s]);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// col2im is im2col's adjoint: ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for any x, y.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        crate::testing::assert_col2im_is_the_adjoint_of_im2col(
            im2col,
            col2im,
            3,
            2,
            &[
                ([7, 7], [4, 4], [2, 2], [1, 1]),
                ([5, 6], [3, 3], [1, 1], [1, 1]),
                ([4, 4], [4, 4], [1, 1], [0, 0]),
                ([1, 1], [4, 4], [1, 1], [3, 3]),
                ([9, 8], [3, 2], [2, 3], [0, 1]),
            ],
        );
    }

    #[test]
    fn im2col_reads_the_pixel_under_each_tap() {
        // One 3×3 image, 2×2 kernel, stride 1, no padding: the grid is 2×2.
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let w = Window::over(1, [3, 3], [2, 2], [1, 1], [0, 0]);
        let cols = im2col(&x, 1, &w);
        assert_eq!(
            cols,
            vec![
                1., 2., 4., 5., 2., 3., 5., 6., 4., 5., 7., 8., 5., 6., 8., 9.
            ]
        );
    }

    #[test]
    fn layouts_round_trip() {
        let x: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let cm = batch_to_channel_major(&x, 2, 3, 4);
        assert_eq!(&cm[..8], &[0., 1., 2., 3., 12., 13., 14., 15.]);
        assert_eq!(channel_to_batch_major(&cm, 2, 3, 4), x);
    }
}
