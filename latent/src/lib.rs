//! gantry's seeded random streams: the same seed gives the same `z` on every platform.
//!
//! gantry draws every random number a run depends on (shuffles, latent batches, the fixed
//! sample noise) from counter-based streams: a stream is a pure function of
//! `(seed, purpose, index)`. A checkpoint therefore only has to record where a run is to
//! restore its randomness exactly, and the browser can reproduce a grid from a seed alone.
//! The generator is SplitMix64 and normals come from Box–Muller, both simple enough to
//! reimplement bit-for-bit in JavaScript or any other consumer.

/// What a random stream is used for; each purpose is an independent stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// The order of the training set in an epoch (index: the epoch).
    Shuffle = 1,
    /// The latent batch of a training step (index: the global step).
    Noise = 2,
    /// The fixed latent batch of the per-epoch sample grid (index: 0).
    FixedNoise = 3,
    /// Latents asked for by `gantry sample` and the web page (index: 0).
    Sample = 4,
    /// Initial weights (index: network tag and parameter number, see `model::init`).
    Init = 5,
    /// Data augmentation of one image (index: epoch << 32 | image index).
    Augment = 6,
    /// WGAN-GP's interpolation weights ε of a training step (index: the global step).
    Penalty = 7,
}

/// SplitMix64: a tiny, well-mixed 64-bit generator.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator for one `(seed, stream, index)`.
    pub fn for_stream(seed: u64, stream: Stream, index: u64) -> Self {
        let mut mixer = Self { state: seed };
        let a = mixer.next_u64() ^ (stream as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut mixer = Self { state: a };
        let b = mixer.next_u64() ^ index.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
        Self { state: b }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..bound` (bound > 0), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % bound;
            }
        }
    }

    /// Uniform index in `0..len` (0 when `len` is 0): picking from a slice.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len.max(1) as u64) as usize
    }

    /// Standard normal samples by Box–Muller (two per pair of uniforms).
    pub fn fill_normal(&mut self, out: &mut [f32]) {
        for pair in out.chunks_mut(2) {
            // 1 - u keeps the logarithm's argument in (0, 1].
            let u1 = 1.0 - self.next_f64();
            let u2 = self.next_f64();
            let radius = (-2.0 * u1.ln()).sqrt();
            let angle = std::f64::consts::TAU * u2;
            pair[0] = (radius * angle.cos()) as f32;
            if let Some(second) = pair.get_mut(1) {
                *second = (radius * angle.sin()) as f32;
            }
        }
    }
}

/// `n × latent_dim` standard normal values for `(seed, stream, index)`, row-major.
pub fn normal_batch(
    seed: u64,
    stream: Stream,
    index: u64,
    n: usize,
    latent_dim: usize,
) -> Vec<f32> {
    let mut values = vec![0.0; n * latent_dim];
    SplitMix64::for_stream(seed, stream, index).fill_normal(&mut values);
    values
}

/// `n` values uniform in `[0, 1)` for `(seed, stream, index)`.
pub fn uniform_batch(seed: u64, stream: Stream, index: u64, n: usize) -> Vec<f32> {
    let mut rng = SplitMix64::for_stream(seed, stream, index);
    (0..n).map(|_| rng.next_f64() as f32).collect()
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
pub fn permutation(seed: u64, stream: Stream, index: u64, n: usize) -> Vec<usize> {
    let mut rng = SplitMix64::for_stream(seed, stream, index);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// Spherical interpolation, row by row, between two batches of latent vectors (`a` and `b`,
/// rows of `latent_dim`): `t = 0` gives `a`, `t = 1` gives `b`, and every step in between
/// keeps a row's norm near a Gaussian's, where a straight line would pass through the
/// low-norm middle that a generator never saw in training. Rows that point the same way fall
/// back to the straight line.
pub fn slerp(a: &[f32], b: &[f32], latent_dim: usize, t: f32) -> Vec<f32> {
    assert_eq!(
        a.len(),
        b.len(),
        "slerp: batches of {} and {} values",
        a.len(),
        b.len()
    );
    let dim = latent_dim.max(1);
    let t = f64::from(t);
    let mut out = Vec::with_capacity(a.len());
    for (ra, rb) in a.chunks(dim).zip(b.chunks(dim)) {
        let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
        for (&x, &y) in ra.iter().zip(rb) {
            let (x, y) = (f64::from(x), f64::from(y));
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        let cos = (dot / (na * nb).sqrt()).clamp(-1.0, 1.0);
        let omega = if cos.is_nan() { 0.0 } else { cos.acos() };
        let so = omega.sin();
        let (wa, wb) = if so < 1e-6 {
            (1.0 - t, t)
        } else {
            (((1.0 - t) * omega).sin() / so, (t * omega).sin() / so)
        };
        out.extend(
            ra.iter()
                .zip(rb)
                .map(|(&x, &y)| (wa * f64::from(x) + wb * f64::from(y)) as f32),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a = normal_batch(7, Stream::Noise, 3, 4, 100);
        assert_eq!(a, normal_batch(7, Stream::Noise, 3, 4, 100));
        assert_ne!(a, normal_batch(7, Stream::Noise, 4, 4, 100));
        assert_ne!(a, normal_batch(7, Stream::FixedNoise, 3, 4, 100));
        assert_ne!(a, normal_batch(8, Stream::Noise, 3, 4, 100));
    }

    #[test]
    fn normals_have_unit_moments() {
        let values = normal_batch(1, Stream::Sample, 0, 1000, 100);
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = permutation(3, Stream::Shuffle, 0, 1000);
        assert_ne!(p, (0..1000).collect::<Vec<_>>());
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn first_values_are_pinned() {
        // SplitMix64's published first output for state 0: a port can check itself on it.
        assert_eq!(SplitMix64 { state: 0 }.next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn slerp_ends_on_both_batches_and_keeps_the_norm() {
        let (a, b) = (
            normal_batch(1, Stream::Sample, 0, 3, 100),
            normal_batch(2, Stream::Sample, 0, 3, 100),
        );
        assert_eq!(slerp(&a, &b, 100, 0.0), a);
        let end = slerp(&a, &b, 100, 1.0);
        assert!(end.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5));
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let (mid, line): (Vec<f32>, Vec<f32>) = (
            slerp(&a, &b, 100, 0.5),
            a.iter().zip(&b).map(|(x, y)| (x + y) / 2.0).collect(),
        );
        for row in 0..3 {
            let r = row * 100..(row + 1) * 100;
            let ends = (norm(&a[r.clone()]) + norm(&b[r.clone()])) / 2.0;
            // Near-orthogonal Gaussian rows: the straight line's middle has ~1/√2 of the norm.
            assert!(
                (norm(&mid[r.clone()]) - ends).abs() < 0.05 * ends,
                "row {row}"
            );
            assert!(norm(&line[r]) < 0.8 * ends, "row {row}");
        }
        // The same row twice: the straight line, no division by zero.
        let same = slerp(&a[..100], &a[..100], 100, 0.3);
        assert!(same.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-6));
    }
}
