//! Fitting images to a model: resampling (`image`'s triangle filter, which widens with the
//! scale factor, so large reductions such as CelebA's 178 → 64 average instead of alias)
//! and channel conversion (grey ↔ RGB).

use image::imageops::{FilterType, resize};
use image::{ImageBuffer, Luma};

/// One planar image `[c, h, w]` as `[c2, h2, w2]`.
pub fn fit(pixels: &[u8], [c, h, w]: [usize; 3], [c2, h2, w2]: [usize; 3]) -> Vec<u8> {
    let planes = convert_channels(pixels, c, h * w, c2);
    if (h, w) == (h2, w2) {
        return planes;
    }
    let mut out = Vec::with_capacity(c2 * h2 * w2);
    for plane in planes.chunks_exact(h * w) {
        let buffer: ImageBuffer<Luma<u8>, Vec<u8>> =
            ImageBuffer::from_raw(w as u32, h as u32, plane.to_vec()).expect("plane size");
        out.extend(resize(&buffer, w2 as u32, h2 as u32, FilterType::Triangle).into_raw());
    }
    out
}

/// Centre crop of a planar image to `[c, size, size]`, the largest square when `size` is
/// `min(h, w)` (how the CelebA seed cuts 178×218 portraits before resizing).
pub fn centre_square(pixels: &[u8], [c, h, w]: [usize; 3]) -> (Vec<u8>, [usize; 3]) {
    let size = h.min(w);
    let (top, left) = ((h - size) / 2, (w - size) / 2);
    let mut out = Vec::with_capacity(c * size * size);
    for ch in 0..c {
        for y in top..top + size {
            let row = ch * h * w + y * w + left;
            out.extend_from_slice(&pixels[row..row + size]);
        }
    }
    (out, [c, size, size])
}

/// Interleaved `h × w × c` (image files) to planar `[c, h, w]` (tensors).
pub fn planar(interleaved: &[u8], c: usize) -> Vec<u8> {
    let pixels = interleaved.len() / c;
    (0..c)
        .flat_map(|ch| (0..pixels).map(move |p| interleaved[p * c + ch]))
        .collect()
}

fn convert_channels(pixels: &[u8], c: usize, plane: usize, c2: usize) -> Vec<u8> {
    match (c, c2) {
        _ if c == c2 => pixels.to_vec(),
        (1, 3) => pixels.repeat(3),
        (3, 1) => (0..plane)
            .map(|p| {
                // ITU-R BT.601 luma, as PIL's convert("L").
                let [r, g, b] = [0, 1, 2].map(|ch| pixels[ch * plane + p] as f32);
                (0.299 * r + 0.587 * g + 0.114 * b).round() as u8
            })
            .collect(),
        _ => panic!("channel conversion {c} → {c2} is not supported (1 and 3 are)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_and_rgb_convert_both_ways() {
        let grey = [10u8, 200];
        let rgb = fit(&grey, [1, 1, 2], [3, 1, 2]);
        assert_eq!(rgb, vec![10, 200, 10, 200, 10, 200]);
        assert_eq!(fit(&rgb, [3, 1, 2], [1, 1, 2]), grey.to_vec());
    }

    #[test]
    fn resizing_keeps_a_flat_image_flat_and_scales_a_ramp() {
        let flat = vec![77u8; 25 * 25];
        assert!(
            fit(&flat, [1, 25, 25], [1, 28, 28])
                .iter()
                .all(|&p| p == 77)
        );
        let ramp: Vec<u8> = (0..64).map(|i| (i % 8 * 32) as u8).collect();
        let small = fit(&ramp, [1, 8, 8], [1, 4, 4]);
        assert_eq!(small.len(), 16);
        assert!(small[0] < small[1] && small[1] < small[2] && small[2] < small[3]);
    }

    #[test]
    fn centre_square_cuts_the_middle() {
        // 1 channel, 4 high, 2 wide: rows 1 and 2 are the middle square.
        let (out, shape) = centre_square(&[0, 1, 2, 3, 4, 5, 6, 7], [1, 4, 2]);
        assert_eq!(shape, [1, 2, 2]);
        assert_eq!(out, vec![2, 3, 4, 5]);
        assert_eq!(planar(&[1, 2, 3, 4, 5, 6], 3), vec![1, 4, 2, 5, 3, 6]);
    }
}
