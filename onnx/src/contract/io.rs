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

/// The largest latent vector and class count a generator may declare. Far above any GAN
/// (100–512, 10–1000), far below a size that exhausts memory when a layer is built for it.
pub const MAX_LATENT_DIM: usize = 1 << 16;
pub const MAX_CLASSES: usize = 1 << 16;
/// The largest image side a generator may declare (4096: a 64 MiB float image).
pub const MAX_IMAGE_SIDE: usize = 4096;

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

    /// A generator of `image_shape` images with this input is possible: sizes are not zero
    /// nor past the limits above, a conditional model has two classes or more, a source
    /// divides the image.
    pub fn check(&self, image_shape: [usize; 3]) -> Result<(), String> {
        let [c, h, w] = image_shape;
        if !(1..=4).contains(&c)
            || !(1..=MAX_IMAGE_SIDE).contains(&h)
            || !(1..=MAX_IMAGE_SIDE).contains(&w)
        {
            return Err(format!(
                "images {image_shape:?}: need 1–4 channels and sides of 1..={MAX_IMAGE_SIDE}"
            ));
        }
        match *self {
            Self::Latent { dim: 0, .. } => Err("the latent size is 0".into()),
            Self::Latent { dim, .. } if dim > MAX_LATENT_DIM => Err(format!(
                "the latent size {dim} is above the limit of {MAX_LATENT_DIM}"
            )),
            Self::Latent {
                classes: Some(k), ..
            } if k > MAX_CLASSES => Err(format!("{k} classes is above the limit of {MAX_CLASSES}")),
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
                if c != ic
                    || h == 0
                    || w == 0
                    || scale == 0
                    || h.checked_mul(scale) != Some(ih)
                    || w.checked_mul(scale) != Some(iw)
                {
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

    /// Sizes that would exhaust memory when a layer or a batch is built for them are
    /// refused with the limit named (a config's `latent_dim`, an ONNX file's metadata).
    #[test]
    fn absurd_sizes_are_refused_with_the_limit_named() {
        let latent = |dim, classes| GeneratorInput::Latent { dim, classes };
        assert!(
            latent(0, None)
                .check([1, 28, 28])
                .unwrap_err()
                .contains("latent size is 0")
        );
        let err = latent(1 << 40, None).check([1, 28, 28]).unwrap_err();
        assert!(err.contains("above the limit of 65536"), "{err}");
        let err = latent(100, Some(1 << 20)).check([1, 28, 28]).unwrap_err();
        assert!(err.contains("classes is above the limit"), "{err}");
        let err = latent(100, None).check([3, 65536, 65536]).unwrap_err();
        assert!(err.contains("sides of 1..=4096"), "{err}");
        let overflowing = GeneratorInput::Source {
            shape: [1, usize::MAX, 8],
            scale: 2,
        };
        assert!(overflowing.check([1, 64, 64]).is_err());
        assert!(latent(100, Some(10)).check([1, 28, 28]).is_ok());
    }

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
