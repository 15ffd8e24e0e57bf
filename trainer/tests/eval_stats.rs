//! The quality statistics against an independent numpy/scipy computation on fixed vectors.

use gantry_trainer::eval::stats::{
    Features, Gaussian, frechet_distance, inception_score, precision_recall,
};
use gantry_trainer::latent::{self, Stream};
use std::path::PathBuf;
use std::process::Command;

fn python_tools() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/python");
    assert!(
        dir.join("scipy").exists(),
        "scipy missing: run scripts/setup-python-tools.sh first"
    );
    dir
}

/// Correlated features: z · A + shift, so covariances are full, not diagonal.
fn features(seed: u64, rows: usize, dim: usize, shift: f32) -> Features {
    let z = latent::normal_batch(seed, Stream::Sample, 0, rows, dim);
    let mix = latent::normal_batch(99, Stream::Sample, 1, dim, dim);
    let mut values = vec![0.0f32; rows * dim];
    for r in 0..rows {
        for j in 0..dim {
            let mut v = shift * (j as f32 / dim as f32);
            for k in 0..dim {
                v += z[r * dim + k] * mix[k * dim + j] * 0.5;
            }
            values[r * dim + j] = v;
        }
    }
    Features::new(values, dim)
}

fn write(path: &std::path::Path, f: &Features) {
    let text: Vec<String> = (0..f.rows)
        .map(|i| {
            f.row(i)
                .iter()
                .map(|v| format!("{v:.9e}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    std::fs::write(path, text.join("\n")).unwrap();
}

const SCRIPT: &str = r#"
import sys, numpy as np, scipy.linalg
a = np.loadtxt(sys.argv[1], dtype=np.float64); b = np.loadtxt(sys.argv[2], dtype=np.float64)
p = np.loadtxt(sys.argv[3], dtype=np.float64)
def fid(x, y):
    m1, m2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    # pytorch-fid's formula: sqrtm of the product, real part.
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
def inception_score(p):
    py = p.mean(0, keepdims=True)
    kl = (p * (np.log(np.where(p > 0, p, 1)) - np.log(py))).sum(1).mean()
    return np.exp(kl)
def pr(real, fake, k=3):
    def radii(x):
        d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        return np.sort(d, axis=1)[:, k]
    def cover(q, s, r):
        d = ((q[:, None, :] - s[None, :, :]) ** 2).sum(-1)
        return (d <= r[None, :]).any(1).mean()
    return cover(fake, real, radii(real)), cover(real, fake, radii(fake))
print(repr(fid(a, b)), repr(fid(a, a)), repr(inception_score(p)), *map(repr, pr(a, b)))
"#;

#[test]
fn statistics_match_numpy_and_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let a = features(1, 400, 12, 0.0);
    let b = features(2, 300, 12, 1.5);
    // Class probabilities: a softmax of fixed logits.
    let logits = latent::normal_batch(3, Stream::Sample, 0, 200, 10);
    let mut probs = Vec::new();
    for row in logits.chunks(10) {
        let e: Vec<f32> = row.iter().map(|v| (2.0 * v).exp()).collect();
        let s: f32 = e.iter().sum();
        probs.extend(e.iter().map(|v| v / s));
    }
    let probs = Features::new(probs, 10);
    for (name, f) in [("a", &a), ("b", &b), ("p", &probs)] {
        write(&dir.path().join(name), f);
    }
    let output = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(["a", "b", "p"].map(|n| dir.path().join(n)))
        .env("PYTHONPATH", python_tools())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let numbers: Vec<f64> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(|s| {
            s.trim_start_matches("np.float64(")
                .trim_end_matches(')')
                .parse()
                .unwrap()
        })
        .collect();
    let [fid_ab, fid_aa, score, precision, recall] = numbers[..] else {
        panic!("{numbers:?}")
    };

    // The values were printed to 9 significant digits and read back, so compare at 1e-6.
    let relative = |ours: f64, theirs: f64| (ours - theirs).abs() / theirs.abs().max(1e-12);
    let ours_ab = frechet_distance(&Gaussian::fit(&a), &Gaussian::fit(&b));
    assert!(
        relative(ours_ab, fid_ab) < 1e-6,
        "Fréchet distance: ours {ours_ab}, scipy {fid_ab}"
    );
    let ours_aa = frechet_distance(&Gaussian::fit(&a), &Gaussian::fit(&a));
    assert!(
        ours_aa.abs() < 1e-6 && fid_aa.abs() < 1e-6,
        "{ours_aa} {fid_aa}"
    );
    let (ours_score, _) = inception_score(&probs, 1);
    assert!(
        relative(ours_score, score) < 1e-6,
        "Inception Score: ours {ours_score}, numpy {score}"
    );
    let (ours_p, ours_r) = precision_recall(&a, &b, 3);
    assert_eq!((ours_p, ours_r), (precision, recall), "precision / recall");
    println!(
        "FD {ours_ab} (scipy {fid_ab}), IS {ours_score} (numpy {score}), P/R {ours_p}/{ours_r}"
    );
}
