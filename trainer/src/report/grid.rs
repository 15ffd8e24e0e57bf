//! A grid of images in one PNG, drawn by `gantry_onnx::contract::grid` (as the page draws).

use anyhow::Context;
use gantry_onnx::contract::{GridLayout, grid};
use image::{ImageBuffer, RgbImage};
use std::path::Path;

/// The values a gantry generator makes.
const VALUE_RANGE: [f32; 2] = [-1.0, 1.0];

/// Lay out `values` (`[n, c, h, w]` row-major in [-1, 1], c = 1 or 3) as a grid with
/// `columns` images per row (default: ⌈√n⌉), drawn by the contract the page draws with.
pub fn grid_image(
    values: &[f32],
    shape: [usize; 4],
    columns: Option<usize>,
) -> anyhow::Result<RgbImage> {
    let columns = columns.unwrap_or_else(|| {
        GridLayout::samples(shape[0].max(1), None, None).map_or(1, |layout| layout.columns)
    });
    compose(values, shape, columns, grid::PAD)
}

/// Images side by side in one row, no gaps: a strip a page can cut at multiples of `w`.
pub fn save_strip(values: &[f32], shape: [usize; 4], path: &Path) -> anyhow::Result<()> {
    write_png_atomic(&compose(values, shape, shape[0], 0)?, path)
}

fn compose(
    values: &[f32],
    shape: [usize; 4],
    columns: usize,
    pad: usize,
) -> anyhow::Result<RgbImage> {
    let picture =
        grid::draw(values, shape, columns, VALUE_RANGE, pad).map_err(anyhow::Error::msg)?;
    let (width, height) = (picture.width as u32, picture.height as u32);
    ImageBuffer::from_raw(width, height, picture.rgb).context("a grid's pixels fill its picture")
}

/// Write `values` as a grid PNG at `path`.
pub fn save_grid(
    values: &[f32],
    shape: [usize; 4],
    columns: Option<usize>,
    path: &Path,
) -> anyhow::Result<()> {
    write_png_atomic(&grid_image(values, shape, columns)?, path)
}

/// Write a PNG through a temporary file in the same folder, then rename it into place.
pub fn write_png_atomic(image: &RgbImage, path: &Path) -> anyhow::Result<()> {
    crate::fs_atomic::write_with(path, |tmp| {
        image
            .save_with_format(tmp, image::ImageFormat::Png)
            .with_context(|| format!("{}: cannot write", tmp.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use grid::PAD;
    use image::Rgb;

    #[test]
    fn grid_has_the_right_size_and_pixels() {
        // 5 images of 3×4: ⌈√5⌉ = 3 columns, 2 rows.
        let mut values = vec![-1.0; 5 * 3 * 4];
        values[0] = 1.0; // top-left pixel of the first image is white
        let grid = grid_image(&values, [5, 1, 3, 4], None).unwrap();
        let pad = PAD as u32;
        assert_eq!(
            grid.dimensions(),
            (3 * (4 + pad) + pad, 2 * (3 + pad) + pad)
        );
        assert_eq!(grid.get_pixel(pad, pad), &Rgb([255, 255, 255]));
        assert_eq!(grid.get_pixel(pad + 1, pad), &Rgb([0, 0, 0]));
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(grid_image(&[0.0; 10], [1, 1, 3, 3], None).is_err());
        assert!(grid_image(&[0.0; 8], [2, 2, 2, 1], None).is_err());
    }
}
