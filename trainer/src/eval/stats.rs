//! The statistics of sample quality, on feature vectors: Fréchet distance, Kernel Inception
//! Distance, Inception Score, and k-NN precision / recall. Plain `f64` linear algebra (nalgebra), tested against
//! numpy/scipy on fixed vectors.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Feature vectors, one row each.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub rows: usize,
    pub dim: usize,
    /// Row-major `[rows, dim]`.
    pub values: Vec<f32>,
}

impl Features {
    pub fn new(values: Vec<f32>, dim: usize) -> Self {
        assert!(dim > 0 && values.len() % dim == 0, "ragged features");
        Self {
            rows: values.len() / dim,
            dim,
            values,
        }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }
}

/// Mean and (unbiased, `n - 1`) covariance of a set of feature vectors, as FID fits them.
#[derive(Debug, Clone)]
pub struct Gaussian {
    pub mean: DVector<f64>,
    pub covariance: DMatrix<f64>,
    pub samples: usize,
}

impl Gaussian {
    pub fn fit(features: &Features) -> Self {
        let (n, d) = (features.rows, features.dim);
        assert!(n >= 2, "a covariance needs at least two samples");
        let data = DMatrix::from_row_slice(n, d, &features.values).map(|v| v as f64);
        let mean = data.row_mean().transpose();
        let mut centred = data;
        for mut row in centred.row_iter_mut() {
            row -= mean.transpose();
        }
        let covariance = centred.transpose() * &centred / (n as f64 - 1.0);
        Self {
            mean,
            covariance,
            samples: n,
        }
    }
}

/// The square root of a symmetric positive semi-definite matrix, by eigendecomposition
/// (round-off can make tiny eigenvalues negative: they are clamped to 0).
fn sqrtm_psd(m: &DMatrix<f64>) -> DMatrix<f64> {
    let eigen = SymmetricEigen::new((m + m.transpose()) * 0.5);
    let roots = eigen.eigenvalues.map(|v| v.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

/// Fréchet distance between two Gaussians (Dowson & Landau 1982; FID when the features are
/// Inception's): `|μa - μb|² + tr(Σa + Σb - 2 (Σa^½ Σb Σa^½)^½)`.
///
/// The symmetric form `Σa^½ Σb Σa^½` has the same trace root as `Σa Σb` but stays symmetric,
/// so its root comes from a real eigendecomposition, not a general (complex) one.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    let diff = &a.mean - &b.mean;
    let root_a = sqrtm_psd(&a.covariance);
    let inner = &root_a * &b.covariance * &root_a;
    let eigen = SymmetricEigen::new((&inner + inner.transpose()) * 0.5);
    let trace_root: f64 = eigen.eigenvalues.iter().map(|v| v.max(0.0).sqrt()).sum();
    let distance = diff.dot(&diff) + a.covariance.trace() + b.covariance.trace() - 2.0 * trace_root;
    distance.max(0.0)
}

/// Inception Score (Salimans et al. 2016) from class probabilities `[n, classes]`:
/// `exp(E_x KL(p(y|x) ‖ p(y)))`, over `splits` equal parts; the mean and standard deviation
/// over the parts, as the original code reports it.
pub fn inception_score(probs: &Features, splits: usize) -> (f64, f64) {
    let splits = splits.clamp(1, probs.rows.max(1));
    let part = probs.rows / splits;
    let scores: Vec<f64> = (0..splits)
        .map(|s| {
            let rows = s * part..(s + 1) * part;
            let mut marginal = vec![0.0f64; probs.dim];
            for i in rows.clone() {
                for (m, &p) in marginal.iter_mut().zip(probs.row(i)) {
                    *m += p as f64 / part as f64;
                }
            }
            let kl: f64 = rows
                .map(|i| {
                    probs
                        .row(i)
                        .iter()
                        .zip(&marginal)
                        .filter(|(p, _)| **p > 0.0)
                        .map(|(&p, &m)| p as f64 * ((p as f64).ln() - m.max(1e-30).ln()))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / part as f64;
            kl.exp()
        })
        .collect();
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / scores.len() as f64;
    (mean, var.sqrt())
}

/// Squared Euclidean distances between the rows of `a` and of `b`, `[a.rows, b.rows]`.
fn squared_distances(a: &Features, b: &Features) -> Vec<f32> {
    assert_eq!(a.dim, b.dim);
    let norms = |f: &Features| -> Vec<f32> {
        (0..f.rows)
            .map(|i| f.row(i).iter().map(|v| v * v).sum())
            .collect()
    };
    let (na, nb) = (norms(a), norms(b));
    let ma = DMatrix::from_row_slice(a.rows, a.dim, &a.values);
    let mb = DMatrix::from_row_slice(b.rows, b.dim, &b.values);
    let dots = ma * mb.transpose(); // column-major [a.rows, b.rows]
    let mut out = vec![0.0; a.rows * b.rows];
    for i in 0..a.rows {
        for j in 0..b.rows {
            out[i * b.rows + j] = (na[i] + nb[j] - 2.0 * dots[(i, j)]).max(0.0);
        }
    }
    out
}

/// Rows `range` of `f`, as their own feature set.
fn rows(f: &Features, range: std::ops::Range<usize>) -> Features {
    Features::new(
        f.values[range.start * f.dim..range.end * f.dim].to_vec(),
        f.dim,
    )
}

/// Query rows at a time, so a 10k × 10k distance matrix is never held whole.
const CHUNK: usize = 1000;

/// Each row's squared distance to its `k`-th nearest neighbour in the same set (itself
/// excluded): the radius of its ball in the k-NN manifold estimate.
fn knn_radii(f: &Features, k: usize) -> Vec<f32> {
    let k = k.min(f.rows - 1);
    let mut radii = Vec::with_capacity(f.rows);
    for start in (0..f.rows).step_by(CHUNK) {
        let end = (start + CHUNK).min(f.rows);
        let d = squared_distances(&rows(f, start..end), f);
        for i in 0..end - start {
            let mut row = d[i * f.rows..(i + 1) * f.rows].to_vec();
            // Index k: position 0 is the row itself at distance 0.
            radii.push(*row.select_nth_unstable_by(k, f32::total_cmp).1);
        }
    }
    radii
}

/// Fraction of `queries` inside the k-NN manifold of `support` (any support ball holds it).
fn coverage(queries: &Features, support: &Features, radii: &[f32]) -> f64 {
    let mut inside = 0;
    for start in (0..queries.rows).step_by(CHUNK) {
        let end = (start + CHUNK).min(queries.rows);
        let d = squared_distances(&rows(queries, start..end), support);
        inside += (0..end - start)
            .filter(|&i| {
                d[i * support.rows..(i + 1) * support.rows]
                    .iter()
                    .zip(radii)
                    .any(|(dist, r)| dist <= r)
            })
            .count();
    }
    inside as f64 / queries.rows as f64
}

/// Improved precision and recall (Kynkäänniemi et al. 2019) with `k`-NN manifolds:
/// precision = generated samples inside the real manifold (fidelity), recall = real samples
/// inside the generated manifold (diversity).
pub fn precision_recall(real: &Features, fake: &Features, k: usize) -> (f64, f64) {
    let precision = coverage(fake, real, &knn_radii(real, k));
    let recall = coverage(real, fake, &knn_radii(fake, k));
    (precision, recall)
}

/// Kernel Inception Distance (Bińkowski et al. 2018): the unbiased squared MMD between two
/// feature sets under the cubic polynomial kernel `k(x, y) = (x·y / d + 1)³`, averaged over
/// `subsets` random subsets of `subset_size` rows of each set (fewer when a set is smaller),
/// as torch-fidelity reports it (100 subsets of 1,000 by default): the mean and the
/// (population) standard deviation over subsets. Unlike the Fréchet distance it has no bias
/// from the sample count, but it still depends on it through its spread. `seed` picks the
/// subsets.
pub fn kernel_distance(
    real: &Features,
    fake: &Features,
    subsets: usize,
    subset_size: usize,
    seed: u64,
) -> (f64, f64) {
    assert_eq!(real.dim, fake.dim, "feature sizes differ");
    let m = subset_size.min(real.rows).min(fake.rows);
    assert!(
        m >= 2,
        "a kernel distance needs at least two samples a side"
    );
    let pick = |set: &Features, index: u64| -> DMatrix<f64> {
        let order =
            crate::latent::permutation(seed, crate::latent::Stream::Shuffle, index, set.rows);
        DMatrix::from_fn(m, set.dim, |r, c| set.row(order[r])[c] as f64)
    };
    let values: Vec<f64> = (0..subsets.max(1) as u64)
        .map(|s| squared_mmd(&pick(real, 2 * s), &pick(fake, 2 * s + 1)))
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    (mean, variance.sqrt())
}

/// The unbiased squared MMD of two equal-sized samples (rows) under the cubic polynomial
/// kernel: the within-set kernel means leave out the diagonal.
fn squared_mmd(x: &DMatrix<f64>, y: &DMatrix<f64>) -> f64 {
    let (m, d) = (x.nrows() as f64, x.ncols() as f64);
    let kernel =
        |a: &DMatrix<f64>, b: &DMatrix<f64>| (a * b.transpose()).map(|v| (v / d + 1.0).powi(3));
    let (xx, yy, xy) = (kernel(x, x), kernel(y, y), kernel(x, y));
    let off_diagonal = |k: &DMatrix<f64>| k.sum() - k.trace();
    (off_diagonal(&xx) + off_diagonal(&yy)) / (m * (m - 1.0)) - 2.0 * xy.sum() / (m * m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(rows: usize, dim: usize, seed: u64, shift: f32) -> Features {
        let values = crate::latent::normal_batch(seed, crate::latent::Stream::Sample, 0, rows, dim)
            .into_iter()
            .map(|v| v + shift)
            .collect();
        Features::new(values, dim)
    }

    #[test]
    fn identical_sets_are_at_distance_zero_and_a_shift_adds_its_square() {
        let a = Gaussian::fit(&features(500, 4, 1, 0.0));
        assert!(frechet_distance(&a, &a).abs() < 1e-9);
        // Same covariance (up to f32 rounding of the shifted values), mean moved by 1 in each
        // of 4 dims: distance 4.
        let b = Gaussian::fit(&features(500, 4, 1, 1.0));
        assert!((frechet_distance(&a, &b) - 4.0).abs() < 1e-5);
    }

    /// Rows numpy can make too: `sin(0.37 i + 1.3 j + phase) + 0.1 cos(0.11 i (j + 1)) + shift`.
    fn formula(rows: usize, dim: usize, phase: f64, shift: f64) -> Features {
        let values = (0..rows * dim)
            .map(|k| {
                let (i, j) = ((k / dim) as f64, (k % dim) as f64);
                ((0.37 * i + 1.3 * j + phase).sin() + 0.1 * (0.11 * i * (j + 1.0)).cos() + shift)
                    as f32
            })
            .collect();
        Features::new(values, dim)
    }

    #[test]
    fn kernel_distance_matches_numpy_and_sees_a_shift() {
        // numpy, on the same rows (as float32, then float64):
        //   k = lambda a, b: (a @ b.T / d + 1) ** 3
        //   ((k(X,X).sum() - trace) + (k(Y,Y).sum() - trace)) / (m (m-1)) - 2 k(X,Y).sum() / m²
        //   = 1.0176406478618647
        let (x, y) = (formula(40, 6, 0.0, 0.0), formula(40, 6, 0.3, 0.5));
        // One subset of every row: the order drawn does not matter.
        let (mean, std) = kernel_distance(&x, &y, 1, 40, 1);
        assert!((mean - 1.0176406478618647).abs() < 1e-9, "{mean}");
        assert_eq!(std, 0.0);

        // Two draws of one distribution are near 0 (unbiased: either sign); a shifted one is
        // far above its spread.
        let (a, b) = (features(600, 8, 1, 0.0), features(600, 8, 2, 0.0));
        let (same, same_std) = kernel_distance(&a, &b, 20, 200, 3);
        let (shifted, shifted_std) = kernel_distance(&a, &features(600, 8, 2, 0.5), 20, 200, 3);
        assert!(same.abs() < 3.0 * same_std.max(1e-3), "{same} ± {same_std}");
        assert!(
            shifted > 5.0 * shifted_std && shifted > 10.0 * same.abs(),
            "{shifted} ± {shifted_std}"
        );
    }

    #[test]
    fn inception_score_is_the_number_of_classes_for_confident_balanced_predictions() {
        let mut values = vec![0.0; 40 * 4];
        for i in 0..40 {
            values[i * 4 + i % 4] = 1.0;
        }
        let (mean, std) = inception_score(&Features::new(values, 4), 1);
        assert!((mean - 4.0).abs() < 1e-9 && std == 0.0);
        let uniform = Features::new(vec![0.25; 40 * 4], 4);
        assert!((inception_score(&uniform, 2).0 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn precision_and_recall_see_a_collapsed_generator() {
        let real = features(300, 3, 1, 0.0);
        assert_eq!(precision_recall(&real, &real, 3), (1.0, 1.0));
        // All samples at one real point: perfectly precise, no diversity.
        let collapsed = Features::new(real.row(0).repeat(300), 3);
        let (precision, recall) = precision_recall(&real, &collapsed, 3);
        assert_eq!(precision, 1.0);
        assert!(recall < 0.05, "{recall}");
    }
}
