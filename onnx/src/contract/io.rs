//! What a generator takes and makes, and what its inputs and output are called.

use serde::{Deserialize, Serialize};

/// The latent vector of a generator of z: float32 `[N, latent]`, standard normal.
pub const LATENT_INPUT: &str = "z";
/// A conditional generator's class labels: int64 `[N]`, in `0..classes`.
pub const LABEL_INPUT: &str = "label";
/// An upscaler's (Pix2Pix) low-resolution image: float32 `[N, C, h, w]` in [-1, 1].
pub const SOURCE_INPUT: &str = "image_lr";
/// Every generator's output: float32 `[N, C, H, W]` in the metadata's value range.
pub const IMAGE_OUTPUT: &str = "image";

/// What one generated image is made from: the kind of a generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeneratorInput {
    /// A latent vector of `dim` values and, for a conditional generator, a class label in
    /// `0..classes`.
    Latent { dim: usize, classes: Option<usize> },
    /// A source image of `shape` `[c, h, w]`; the output is `scale` times larger on each
    /// side.
    Source { shape: [usize; 3], scale: usize },
}

impl GeneratorInput {
    /// The graph's input names, in order.
    pub fn names(&self) -> &'static [&'static str] {
        match self {
            Self::Latent { classes: None, .. } => &[LATENT_INPUT],
            Self::Latent {
                classes: Some(_), ..
            } => &[LATENT_INPUT, LABEL_INPUT],
            Self::Source { .. } => &[SOURCE_INPUT],
        }
    }

    /// Float values per image: the latent size, or a source image's `c·h·w`.
    pub fn values_per_image(&self) -> usize {
        match self {
            Self::Latent { dim, .. } => *dim,
            Self::Source { shape, .. } => shape.iter().product(),
        }
    }

    /// The latent size of a generator of z.
    pub fn latent_dim(&self) -> Option<usize> {
        match self {
            Self::Latent { dim, .. } => Some(*dim),
            Self::Source { .. } => None,
        }
    }

    /// The number of classes of a conditional generator.
    pub fn classes(&self) -> Option<usize> {
        match self {
            Self::Latent { classes, .. } => *classes,
            Self::Source { .. } => None,
        }
    }

    pub fn is_conditional(&self) -> bool {
        self.classes().is_some()
    }

    /// An upscaler's source image shape `[c, h, w]`.
    pub fn source_shape(&self) -> Option<[usize; 3]> {
        match self {
            Self::Source { shape, .. } => Some(*shape),
            Self::Latent { .. } => None,
        }
    }

    /// How many times larger the output is than the input image (1 for a generator of z).
    pub fn scale(&self) -> usize {
        match self {
            Self::Source { scale, .. } => *scale,
            Self::Latent { .. } => 1,
        }
    }

    /// A generator of `image_shape` images with this input is possible: sizes are not zero,
    /// a conditional model has two classes or more, a source divides the image.
    pub fn check(&self, image_shape: [usize; 3]) -> Result<(), String> {
        match *self {
            Self::Latent { dim: 0, .. } => Err("the latent size is 0".into()),
            Self::Latent {
                classes: Some(k), ..
            } if k < 2 => Err(format!(
                "a conditional model needs 2 classes or more, not {k}"
            )),
            Self::Latent { .. } => Ok(()),
            Self::Source {
                shape: [c, h, w],
                scale,
            } => {
                let [ic, ih, iw] = image_shape;
                if c != ic || h == 0 || w == 0 || scale == 0 || h * scale != ih || w * scale != iw {
                    Err(format!(
                        "a source [{c}, {h}, {w}] scaled {scale}× is not an image {image_shape:?}"
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }
}

impl std::fmt::Display for GeneratorInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Latent { dim, classes: None } => write!(f, "{LATENT_INPUT} [{dim}]"),
            Self::Latent {
                dim,
                classes: Some(k),
            } => write!(f, "{LATENT_INPUT} [{dim}] + {LABEL_INPUT} (0..{k})"),
            Self::Source { shape, .. } => write!(f, "{SOURCE_INPUT} {shape:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_kind() {
        let z = GeneratorInput::Latent {
            dim: 100,
            classes: None,
        };
        let cz = GeneratorInput::Latent {
            dim: 100,
            classes: Some(10),
        };
        let up = GeneratorInput::Source {
            shape: [1, 8, 8],
            scale: 4,
        };
        assert_eq!(z.names(), ["z"]);
        assert_eq!(cz.names(), ["z", "label"]);
        assert_eq!(up.names(), ["image_lr"]);
        assert_eq!(up.values_per_image(), 64);
        assert!(up.check([1, 32, 32]).is_ok());
        assert!(up.check([1, 30, 30]).is_err());
        assert!(
            GeneratorInput::Latent {
                dim: 0,
                classes: None
            }
            .check([1, 28, 28])
            .is_err()
        );
    }
}
