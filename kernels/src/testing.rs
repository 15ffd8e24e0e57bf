//! What the kernels' tests share.

use crate::window::Window;

/// A column-matrix pair is an adjoint pair: ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for any x, y,
/// on `channels` image-side channels and `batch` images, for each (image, kernel, stride,
/// padding) window.
pub fn assert_col2im_is_the_adjoint_of_im2col(
    im2col: fn(&[f32], usize, &Window) -> Vec<f32>,
    col2im: fn(&[f32], usize, &Window) -> Vec<f32>,
    channels: usize,
    batch: usize,
    windows: &[([usize; 2], [usize; 2], [usize; 2], [usize; 2])],
) {
    let dot = |a: &[f32], b: &[f32]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (*a as f64) * (*b as f64))
            .sum()
    };
    for &(image, kernel, stride, padding) in windows {
        let w = Window::over(channels, image, kernel, stride, padding);
        let x: Vec<f32> = (0..batch * channels * w.image_len())
            .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
            .collect();
        let y: Vec<f32> = (0..w.rows() * batch * w.grid_len())
            .map(|i| ((i * 53 % 97) as f32) / 48.0 - 1.0)
            .collect();
        let (lhs, rhs) = (
            dot(&im2col(&x, batch, &w), &y),
            dot(&x, &col2im(&y, batch, &w)),
        );
        assert!((lhs - rhs).abs() < 1e-3, "{w:?}: {lhs} vs {rhs}");
    }
}
