//! Measuring sample quality: what the seeds judged by eye, in numbers.
//!
//! - [`classifier`]: a small CNN per dataset, trained on real images, whose features and
//!   predictions stand in for Inception's (whose weights cannot be fetched everywhere).
//! - [`stats`]: Fréchet distance, Inception Score, k-NN precision and recall.
//! - [`report`]: the figures for one generator against the real test set.

pub mod classifier;
pub mod fidelity;
pub mod report;
pub mod stats;

pub use classifier::{Classifier, ClassifierConfig, TrainedClassifier};
pub use report::{EvalOptions, KernelDistance, QualityReport, evaluate};
pub use stats::{
    Features, Gaussian, frechet_distance, inception_score, kernel_distance, precision_recall,
};
