//! How close images are to their originals (an upscaler's figures): mean |Δ| and PSNR.

/// Figures of images against originals, values in [-1, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fidelity {
    /// Mean absolute difference (of a range of 2).
    pub mean_abs: f64,
    /// Peak signal-to-noise ratio on the [0, 1] scale, dB.
    pub psnr: f64,
}

/// `images` against `originals` (the same length).
pub fn compare(images: &[f32], originals: &[f32]) -> Fidelity {
    let n = images.len().min(originals.len()).max(1) as f64;
    let (l1, mse) = images
        .iter()
        .zip(originals)
        .fold((0.0, 0.0), |(l1, mse), (a, b)| {
            let d = f64::from(a - b);
            (l1 + d.abs() / n, mse + d * d / n)
        });
    // Values span [-1, 1]: on a [0, 1] scale the squared error is a quarter.
    Fidelity {
        mean_abs: l1,
        psnr: 10.0 * (1.0 / (mse / 4.0)).log10(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_of_a_known_error() {
        // |Δ| = 0.2 everywhere: MSE on [0, 1] is 0.01, PSNR 20 dB.
        let f = compare(&[0.2, -0.2], &[0.0, 0.0]);
        assert!(
            (f.mean_abs - 0.2).abs() < 1e-6 && (f.psnr - 20.0).abs() < 1e-4,
            "{f:?}"
        );
    }
}
