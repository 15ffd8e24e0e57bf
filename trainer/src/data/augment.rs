//! Data augmentation: random flips, small rotations, shifts and zooms, as the cGAN seed
//! suggests for small datasets. Each image's transform is drawn from its own seeded stream
//! (`seed`, epoch, image index), so a resumed run augments exactly as the uninterrupted one.

use gantry_latent::{SplitMix64, Stream};
use serde::{Deserialize, Serialize};

/// How much to perturb each training image; all zero (the default) leaves them untouched.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augment {
    /// Mirror left–right with probability ½ (faces, clothing; not digits).
    pub flip: bool,
    /// Rotate by up to ± this many degrees.
    pub rotation_degrees: f32,
    /// Shift by up to ± this fraction of the width and height.
    pub shift: f32,
    /// Scale by a factor in [1 − zoom, 1 + zoom].
    pub zoom: f32,
}

impl Augment {
    pub fn is_identity(&self) -> bool {
        !self.flip && self.rotation_degrees == 0.0 && self.shift == 0.0 && self.zoom == 0.0
    }

    pub fn check(&self) -> Result<(), String> {
        let in_range = |v: f32, max: f32| v.is_finite() && (0.0..=max).contains(&v);
        if !in_range(self.rotation_degrees, 180.0) {
            return Err(format!(
                "augment.rotation_degrees must be in [0, 180], got {}",
                self.rotation_degrees
            ));
        }
        if !in_range(self.shift, 0.5) {
            return Err(format!(
                "augment.shift must be in [0, 0.5], got {}",
                self.shift
            ));
        }
        if !in_range(self.zoom, 0.5) {
            return Err(format!(
                "augment.zoom must be in [0, 0.5], got {}",
                self.zoom
            ));
        }
        Ok(())
    }

    /// Transform one planar `[c, h, w]` image of values in [-1, 1] in place.
    pub fn apply(
        &self,
        image: &mut [f32],
        [c, h, w]: [usize; 3],
        seed: u64,
        epoch: usize,
        index: usize,
    ) {
        if self.is_identity() {
            return;
        }
        let mut rng =
            SplitMix64::for_stream(seed, Stream::Augment, ((epoch as u64) << 32) | index as u64);
        let mut uniform = |max: f32| (rng.next_f64() as f32 * 2.0 - 1.0) * max;
        let flip = self.flip && uniform(1.0) < 0.0;
        let angle = uniform(self.rotation_degrees).to_radians();
        let scale = 1.0 + uniform(self.zoom);
        let (dx, dy) = (
            uniform(self.shift) * w as f32,
            uniform(self.shift) * h as f32,
        );

        // Inverse mapping: for each output pixel, where it comes from in the source.
        let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
        let (sin, cos) = angle.sin_cos();
        let source = image.to_vec();
        for y in 0..h {
            for x in 0..w {
                let (mut u, v) = (x as f32 - cx - dx, y as f32 - cy - dy);
                if flip {
                    u = -u;
                }
                let sx = (cos * u + sin * v) / scale + cx;
                let sy = (-sin * u + cos * v) / scale + cy;
                for ch in 0..c {
                    let plane = &source[ch * h * w..(ch + 1) * h * w];
                    image[ch * h * w + y * w + x] = bilinear(plane, h, w, sx, sy);
                }
            }
        }
    }
}

/// Bilinear sample with clamp-to-edge (MNIST's border is background, a face's is hair or
/// backdrop: repeating it looks more natural than a black frame).
fn bilinear(plane: &[f32], h: usize, w: usize, x: f32, y: f32) -> f32 {
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |xx: usize, yy: usize| plane[yy * w + xx];
    let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
    let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> Vec<f32> {
        (0..16).map(|i| (i % 4) as f32 / 3.0 * 2.0 - 1.0).collect()
    }

    #[test]
    fn the_default_changes_nothing() {
        let mut image = ramp();
        Augment::default().apply(&mut image, [1, 4, 4], 1, 0, 0);
        assert_eq!(image, ramp());
    }

    #[test]
    fn a_flip_mirrors_rows_and_is_reproducible() {
        let flip = Augment {
            flip: true,
            ..Default::default()
        };
        // Find an image index whose draw flips, then check it mirrored each row.
        let flipped = (0..32)
            .map(|index| {
                let mut image = ramp();
                flip.apply(&mut image, [1, 4, 4], 7, 3, index);
                image
            })
            .find(|image| *image != ramp())
            .expect("half of the draws flip");
        let mirrored: Vec<f32> = ramp()
            .chunks(4)
            .flat_map(|row| row.iter().rev().copied())
            .collect();
        for (a, b) in flipped.iter().zip(&mirrored) {
            assert!((a - b).abs() < 1e-6, "{flipped:?} vs {mirrored:?}");
        }
        let again = |index| {
            let mut image = ramp();
            Augment {
                rotation_degrees: 10.0,
                shift: 0.1,
                zoom: 0.1,
                flip: true,
            }
            .apply(&mut image, [1, 4, 4], 7, 3, index);
            image
        };
        assert_eq!(again(5), again(5));
        assert_ne!(again(5), again(6));
    }

    #[test]
    fn ranges_are_checked() {
        assert!(
            Augment {
                zoom: 0.9,
                ..Default::default()
            }
            .check()
            .unwrap_err()
            .contains("zoom")
        );
        assert!(
            Augment {
                rotation_degrees: 15.0,
                shift: 0.1,
                zoom: 0.1,
                flip: true
            }
            .check()
            .is_ok()
        );
    }
}
