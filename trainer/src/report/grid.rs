//! A grid of images in one PNG.

use anyhow::Context;
use image::{ImageBuffer, Rgb, RgbImage};
use std::path::Path;

/// Pixels between images and around the grid.
const PAD: u32 = 2;

/// Lay out `values` (`[n, c, h, w]` row-major in [-1, 1], c = 1 or 3) as a grid with
/// `columns` images per row (default: ⌈√n⌉). Grey images become grey RGB.
pub fn grid_image(
    values: &[f32],
    shape: [usize; 4],
    columns: Option<usize>,
) -> anyhow::Result<RgbImage> {
    compose(values, shape, columns, PAD)
}

/// Images side by side in one row, no gaps: a strip a page can cut at multiples of `w`.
pub fn save_strip(values: &[f32], shape: [usize; 4], path: &Path) -> anyhow::Result<()> {
    write_png_atomic(&compose(values, shape, Some(shape[0]), 0)?, path)
}

fn compose(
    values: &[f32],
    [n, c, h, w]: [usize; 4],
    columns: Option<usize>,
    pad: u32,
) -> anyhow::Result<RgbImage> {
    anyhow::ensure!(
        c == 1 || c == 3,
        "grid images need 1 or 3 channels, got {c}"
    );
    anyhow::ensure!(
        values.len() == n * c * h * w,
        "{} values for shape [{n}, {c}, {h}, {w}]",
        values.len()
    );
    anyhow::ensure!(n > 0, "no images to lay out");
    let columns = columns
        .unwrap_or_else(|| (n as f64).sqrt().ceil() as usize)
        .max(1);
    let rows = n.div_ceil(columns);
    let (hu, wu) = (h as u32, w as u32);
    let width = columns as u32 * (wu + pad) + pad;
    let height = rows as u32 * (hu + pad) + pad;
    let mut grid: RgbImage = ImageBuffer::from_pixel(width, height, Rgb([24, 24, 24]));
    let to_byte = |v: f32| (((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round()) as u8;
    for i in 0..n {
        let (gx, gy) = ((i % columns) as u32, (i / columns) as u32);
        let image = &values[i * c * h * w..(i + 1) * c * h * w];
        for y in 0..h {
            for x in 0..w {
                let at = |ch: usize| to_byte(image[ch * h * w + y * w + x]);
                let pixel = if c == 1 {
                    [at(0); 3]
                } else {
                    [at(0), at(1), at(2)]
                };
                grid.put_pixel(
                    pad + gx * (wu + pad) + x as u32,
                    pad + gy * (hu + pad) + y as u32,
                    Rgb(pixel),
                );
            }
        }
    }
    Ok(grid)
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

    #[test]
    fn grid_has_the_right_size_and_pixels() {
        // 5 images of 3×4: ⌈√5⌉ = 3 columns, 2 rows.
        let mut values = vec![-1.0; 5 * 3 * 4];
        values[0] = 1.0; // top-left pixel of the first image is white
        let grid = grid_image(&values, [5, 1, 3, 4], None).unwrap();
        assert_eq!(
            grid.dimensions(),
            (3 * (4 + PAD) + PAD, 2 * (3 + PAD) + PAD)
        );
        assert_eq!(grid.get_pixel(PAD, PAD), &Rgb([255, 255, 255]));
        assert_eq!(grid.get_pixel(PAD + 1, PAD), &Rgb([0, 0, 0]));
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(grid_image(&[0.0; 10], [1, 1, 3, 3], None).is_err());
        assert!(grid_image(&[0.0; 8], [2, 2, 2, 1], None).is_err());
    }
}
