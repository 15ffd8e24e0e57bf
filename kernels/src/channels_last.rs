//! Column matrices with the channel innermost: one row per grid position, one run of
//! `channels` values per kernel tap, read from (or added onto) the image in NHWC order.
//!
//! Why (profile in docs/performance.md): [`crate::window`]'s planar columns copy each
//! channel's pixels one at a time, in runs as short as a grid row (7 or 14 values, every
//! other one at stride 2), and that copying and its adjoint's scatter-add were a quarter of
//! a DCGAN step. Here every copy and every add is a whole channel vector (64–512 values,
//! contiguous on both sides), at the price of one NCHW ↔ NHWC transpose of the image side.
//! Worth it when the image side has many channels; [`crate::conv::Layout`] decides.

use crate::buffer::{chunks_per_task, copy, written_in_chunks};
use crate::window::Window;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// `[batch, rows, cols]` to `[batch, cols, rows]`: NCHW to NHWC with `(rows, cols) =
/// (channels, pixels)`, and back with them swapped.
pub fn transpose_each(x: &[f32], batch: usize, rows: usize, cols: usize) -> Vec<f32> {
    let size = rows * cols;
    // SAFETY: `transpose` writes each of the `rows · cols` elements of its chunk.
    unsafe {
        written_in_chunks(batch * size, size, |n, dst| {
            transpose(&x[n * size..][..size], rows, cols, dst)
        })
    }
}

/// One row-major `rows × cols` matrix to its transpose, 16 × 16 tiles at a time: each tile
/// is transposed in a local buffer, then written out one 16-value row segment (a cache line)
/// at a time. Writing a tile column by column straight into `dst` touched 16 lines `rows`
/// apart sixteen times each, and with `rows` a power of two (1,024 pixels of a 32 × 32
/// image) those lines share a cache set: 3.1 ns per value against 1.1 here.
fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [MaybeUninit<f32>]) {
    const TILE: usize = 16;
    let mut tile = [[0f32; TILE]; TILE];
    for r0 in (0..rows).step_by(TILE) {
        let height = TILE.min(rows - r0);
        for c0 in (0..cols).step_by(TILE) {
            let width = TILE.min(cols - c0);
            for i in 0..height {
                let row = &src[(r0 + i) * cols + c0..][..width];
                for (j, v) in row.iter().enumerate() {
                    tile[j][i] = *v;
                }
            }
            for (j, column) in tile.iter().enumerate().take(width) {
                let out = &mut dst[(c0 + j) * rows + r0..][..height];
                for (o, v) in out.iter_mut().zip(column) {
                    *o = MaybeUninit::new(*v);
                }
            }
        }
    }
}

/// A weight `[grid_channels, channels, kh, kw]` to `[grid_channels, kh, kw, channels]`,
/// the order of a channels-last column row.
pub fn taps_outer(
    weight: &[f32],
    grid_channels: usize,
    channels: usize,
    kernel: [usize; 2],
) -> Vec<f32> {
    transpose_each(weight, grid_channels, channels, kernel[0] * kernel[1])
}

/// The inverse of [`taps_outer`].
pub fn taps_inner(weight: &[f32], grid_channels: usize, w: &Window) -> Vec<f32> {
    transpose_each(weight, grid_channels, w.kernel[0] * w.kernel[1], w.channels)
}

/// The image coordinate `g·stride + tap − padding` of grid position `g`, if inside.
fn image_coordinate(
    g: usize,
    tap: usize,
    stride: usize,
    padding: usize,
    size: usize,
) -> Option<usize> {
    (g * stride + tap)
        .checked_sub(padding)
        .filter(|&v| v < size)
}

/// `[batch, image, channels]` (NHWC) to the `[batch · grid, taps · channels]` column
/// matrix, row-major: entry `(n·grid + y·gw + x, (i·kw + j)·C + c)` is pixel `(n, y·sh + i
/// − ph, x·sw + j − pw, c)`, zero outside the image. Every entry is written once.
pub fn im2col(x: &[f32], batch: usize, w: &Window) -> Vec<f32> {
    let (row_len, [gh, gw]) = (w.rows(), w.grid);
    // SAFETY: `im2col_grid_row` writes all `gw` rows of `row_len` in its chunk.
    unsafe {
        written_in_chunks(batch * w.grid_len() * row_len, gw * row_len, |ny, out| {
            im2col_grid_row(x, w, ny / gh, ny % gh, out)
        })
    }
}

/// The column rows of grid row `y` of image `n`: `gw` rows of `taps · channels`.
fn im2col_grid_row(x: &[f32], w: &Window, n: usize, y: usize, out: &mut [MaybeUninit<f32>]) {
    let c = w.channels;
    let ([h, iw], [kh, kw]) = (w.image, w.kernel);
    let zero = MaybeUninit::new(0.0f32);
    for (gx, row) in out.chunks_exact_mut(w.rows()).enumerate() {
        for (i, taps) in row.chunks_exact_mut(kw * c).enumerate().take(kh) {
            let Some(iy) = image_coordinate(y, i, w.stride[0], w.padding[0], h) else {
                taps.fill(zero);
                continue;
            };
            for (j, dst) in taps.chunks_exact_mut(c).enumerate() {
                match image_coordinate(gx, j, w.stride[1], w.padding[1], iw) {
                    Some(ix) => copy(dst, &x[((n * h + iy) * iw + ix) * c..][..c]),
                    None => dst.fill(zero),
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: each column entry added back onto the pixel it was read
/// from, giving `[batch, image, channels]` (NHWC). Each image row is summed by one task in
/// a fixed order (kernel row, grid column, kernel column), so the result does not depend
/// on the thread count.
pub fn col2im(cols: &[f32], batch: usize, w: &Window) -> Vec<f32> {
    let c = w.channels;
    let [h, iw] = w.image;
    let mut out = vec![0.0f32; batch * h * iw * c];
    out.par_chunks_mut((iw * c).max(1))
        .with_min_len(chunks_per_task(iw * c))
        .enumerate()
        .for_each(|(n_iy, row)| col2im_image_row(cols, w, n_iy / h, n_iy % h, row));
    out
}

/// Image row `iy` of image `n` of [`col2im`]: `iw · channels` values.
fn col2im_image_row(cols: &[f32], w: &Window, n: usize, iy: usize, out: &mut [f32]) {
    let c = w.channels;
    let ([gh, gw], [kh, kw]) = (w.grid, w.kernel);
    let ([sh, sw], [ph, pw]) = (w.stride, w.padding);
    let row_len = w.rows();
    for i in 0..kh {
        // The grid row y with y·sh + i − ph = iy, if there is one.
        let Some(t) = (iy + ph).checked_sub(i) else {
            continue;
        };
        let y = t / sh;
        if t % sh != 0 || y >= gh {
            continue;
        }
        for gx in 0..gw {
            let src_row = &cols[((n * gh + y) * gw + gx) * row_len..][..row_len];
            for j in 0..kw {
                let Some(ix) = image_coordinate(gx, j, sw, pw, w.image[1]) else {
                    continue;
                };
                let src = &src_row[(i * kw + j) * c..][..c];
                for (d, s) in out[ix * c..][..c].iter_mut().zip(src) {
                    *d += *s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The channels-last columns hold the planar ones' entries, transposed and with the
    /// taps outside the channels.
    #[test]
    fn columns_are_the_planar_columns_reordered() {
        for (image, kernel, stride, padding) in [
            ([7, 7], [4, 4], [2, 2], [1, 1]),
            ([5, 6], [3, 3], [1, 1], [1, 1]),
            ([1, 1], [4, 4], [1, 1], [3, 3]),
            ([9, 8], [3, 2], [2, 3], [0, 1]),
        ] {
            let (batch, c) = (2, 3);
            let w = Window::over(c, image, kernel, stride, padding);
            let x: Vec<f32> = (0..batch * c * w.image_len()).map(|v| v as f32).collect();
            let planar = crate::window::im2col(&x, batch, &w);
            let nhwc = transpose_each(&x, batch, c, w.image_len());
            let ours = im2col(&nhwc, batch, &w);
            let (columns, taps) = (batch * w.grid_len(), kernel[0] * kernel[1]);
            for col in 0..columns {
                for ch in 0..c {
                    for tap in 0..taps {
                        assert_eq!(
                            ours[col * w.rows() + tap * c + ch],
                            planar[(ch * taps + tap) * columns + col],
                            "{w:?}"
                        );
                    }
                }
            }
        }
    }

    /// col2im is im2col's adjoint: ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        crate::testing::assert_col2im_is_the_adjoint_of_im2col(
            im2col,
            col2im,
            5,
            3,
            &[
                ([7, 7], [4, 4], [2, 2], [1, 1]),
                ([4, 4], [4, 4], [1, 1], [0, 0]),
                ([9, 8], [3, 2], [2, 3], [0, 1]),
            ],
        );
    }

    /// Every value lands where the transpose puts it, for sizes on, under and across the
    /// 16-value tiles, and transposing back gives the input.
    #[test]
    fn transposes_put_every_value_in_place_and_round_trip() {
        for (batch, rows, cols) in [
            (2, 17, 19),
            (1, 16, 16),
            (2, 33, 40),
            (1, 1, 5),
            (3, 64, 16),
        ] {
            let x: Vec<f32> = (0..batch * rows * cols).map(|v| v as f32).collect();
            let t = transpose_each(&x, batch, rows, cols);
            for n in 0..batch {
                for r in 0..rows {
                    for c in 0..cols {
                        let at = n * rows * cols;
                        assert_eq!(
                            t[at + c * rows + r],
                            x[at + r * cols + c],
                            "[{batch}, {rows}, {cols}]"
                        );
                    }
                }
            }
            assert_eq!(transpose_each(&t, batch, cols, rows), x);
        }
    }
}
