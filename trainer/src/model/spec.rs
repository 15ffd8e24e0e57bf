//! The layer vocabulary networks are described in, with shape inference.
//!
//! Activations flow as rank-4 tensors `[n, c, h, w]`; a feature vector is `[n, f, 1, 1]`.
//! That keeps a network one homogeneous sequence (a `Linear` and a `Conv2d` compose without
//! rank juggling), and it maps one-to-one onto ONNX, where the same layout is standard.

use serde::{Deserialize, Serialize};

/// How every BatchNorm layer of a model moves its running statistics and guards its
/// division: `momentum` m as PyTorch means it (running ← (1 − m)·running + m·batch; Keras's
/// momentum k is m = 1 − k, so Keras's default 0.99 is 0.01 here), `epsilon` added to the
/// variance. In a model's config: `[model.batch_norm]`, or `--set model.batch_norm.momentum=…`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchNormSettings {
    pub momentum: f64,
    pub epsilon: f64,
}

impl BatchNormSettings {
    fn default_momentum() -> f64 {
        0.1
    }

    fn default_epsilon() -> f64 {
        1e-5
    }

    /// Settings that cannot train, named.
    pub fn check(&self) -> Result<(), String> {
        if !(self.momentum > 0.0 && self.momentum <= 1.0) {
            return Err(format!(
                "model.batch_norm.momentum must be in (0, 1] (PyTorch's sense: the weight of \
                 each new batch; Keras's momentum k is 1 − k here), got {}",
                self.momentum
            ));
        }
        if !(self.epsilon > 0.0 && self.epsilon.is_finite()) {
            return Err(format!(
                "model.batch_norm.epsilon must be positive, got {}",
                self.epsilon
            ));
        }
        Ok(())
    }
}

/// PyTorch's (and burn's) defaults: momentum 0.1, ε 1e-5.
impl Default for BatchNormSettings {
    fn default() -> Self {
        Self {
            momentum: Self::default_momentum(),
            epsilon: Self::default_epsilon(),
        }
    }
}

/// One layer. Kernel, stride and padding are square; padding is symmetric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    /// Dense layer on `[n, input, 1, 1]`.
    Linear {
        input: usize,
        output: usize,
        bias: bool,
    },
    /// Transposed convolution: `out = (in - 1)·stride - 2·padding + kernel + output_padding`.
    /// `output_padding` (< stride) adds rows and columns at the bottom and right, e.g. to
    /// double a size with an odd kernel as TensorFlow's `padding="same"` does.
    ConvTranspose2d {
        input: usize,
        output: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        #[serde(default)]
        output_padding: usize,
        bias: bool,
    },
    /// Convolution: `out = (in + 2·padding - kernel) / stride + 1`.
    Conv2d {
        input: usize,
        output: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        bias: bool,
    },
    /// Batch normalisation over the channel axis (also BatchNorm1d on `[n, f, 1, 1]`).
    /// [`LayerSpec::batch_norm`] makes one with PyTorch's defaults; a model's
    /// [`BatchNormSettings`] replace them.
    BatchNorm {
        features: usize,
        #[serde(default = "BatchNormSettings::default_momentum")]
        momentum: f64,
        #[serde(default = "BatchNormSettings::default_epsilon")]
        epsilon: f64,
    },
    /// Instance normalisation with a learned scale and shift: each sample's channel on its
    /// own, so a WGAN-GP critic's per-sample gradient stays per sample.
    InstanceNorm {
        features: usize,
    },
    Relu,
    LeakyRelu {
        slope: f64,
    },
    Tanh,
    Sigmoid,
    /// Dropout during training, identity in inference (and in the exported graph).
    Dropout {
        prob: f64,
    },
    /// `[n, f, 1, 1]` (or any shape of the same size) to `[n, c, h, w]`.
    Reshape {
        shape: [usize; 3],
    },
    /// `[n, c, h, w]` to `[n, c·h·w, 1, 1]`, in NCHW order.
    Flatten,
    /// Nearest-neighbour upsampling by an integer factor: each pixel becomes a
    /// `scale × scale` block (ONNX `Resize`, mode `nearest`, `asymmetric`, `floor`).
    Upsample {
        scale: usize,
    },
    /// Remember the current activation for a later [`LayerSpec::ConcatSkip`]: one end of a
    /// U-Net's skip connection. The activation itself passes on unchanged.
    SaveSkip,
    /// Concatenate the most recently saved activation (and forget it) after the current one
    /// along the channels: the other end of the skip connection. Sizes must match.
    ConcatSkip,
}

/// A spec that does not fit its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("layer {index} ({layer}): {reason}")]
pub struct SpecError {
    pub index: usize,
    pub layer: String,
    pub reason: String,
}

impl LayerSpec {
    /// BatchNorm over `features` channels with the default [`BatchNormSettings`].
    pub fn batch_norm(features: usize) -> Self {
        let BatchNormSettings { momentum, epsilon } = BatchNormSettings::default();
        Self::BatchNorm {
            features,
            momentum,
            epsilon,
        }
    }

    /// This layer with `settings` if it is a BatchNorm.
    pub fn with_batch_norm(self, settings: BatchNormSettings) -> Self {
        match self {
            Self::BatchNorm { features, .. } => Self::BatchNorm {
                features,
                momentum: settings.momentum,
                epsilon: settings.epsilon,
            },
            other => other,
        }
    }

    /// A convolution without bias (the DCGAN family's: BatchNorm or InstanceNorm follows).
    pub fn conv(input: usize, output: usize, kernel: usize, stride: usize, padding: usize) -> Self {
        Self::Conv2d {
            input,
            output,
            kernel,
            stride,
            padding,
            bias: false,
        }
    }

    /// A transposed convolution without bias.
    pub fn conv_transpose(
        input: usize,
        output: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Self {
        Self::ConvTranspose2d {
            input,
            output,
            kernel,
            stride,
            padding,
            output_padding: 0,
            bias: false,
        }
    }

    /// A short name for messages (`conv_transpose2d`, `batch_norm`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Linear { .. } => "linear",
            Self::ConvTranspose2d { .. } => "conv_transpose2d",
            Self::Conv2d { .. } => "conv2d",
            Self::BatchNorm { .. } => "batch_norm",
            Self::InstanceNorm { .. } => "instance_norm",
            Self::Relu => "relu",
            Self::LeakyRelu { .. } => "leaky_relu",
            Self::Tanh => "tanh",
            Self::Sigmoid => "sigmoid",
            Self::Dropout { .. } => "dropout",
            Self::Reshape { .. } => "reshape",
            Self::Flatten => "flatten",
            Self::Upsample { .. } => "upsample",
            Self::SaveSkip => "save_skip",
            Self::ConcatSkip => "concat_skip",
        }
    }

    /// The output shape `[c, h, w]` for an input of shape `[c, h, w]`; `saved` is the
    /// stack of activations [`LayerSpec::SaveSkip`] remembered (the skip layers use it).
    pub fn output_shape(
        &self,
        [c, h, w]: [usize; 3],
        saved: &mut Vec<[usize; 3]>,
    ) -> Result<[usize; 3], String> {
        let need_channels = |expected: usize| {
            if c == expected {
                Ok(())
            } else {
                Err(format!("expects {expected} channels, gets {c}"))
            }
        };
        match *self {
            Self::Linear { input, output, .. } => {
                if [c, h, w] != [input, 1, 1] {
                    return Err(format!("expects [{input}, 1, 1], gets [{c}, {h}, {w}]"));
                }
                Ok([output, 1, 1])
            }
            Self::ConvTranspose2d {
                input,
                output,
                kernel,
                stride,
                padding,
                output_padding,
                ..
            } => {
                need_channels(input)?;
                if output_padding >= stride.max(1) {
                    return Err(format!(
                        "output_padding {output_padding} must be below the stride {stride}"
                    ));
                }
                let size = |x: usize| {
                    ((x - 1) * stride + kernel + output_padding).checked_sub(2 * padding)
                };
                match (size(h), size(w)) {
                    (Some(oh), Some(ow)) if oh > 0 && ow > 0 => Ok([output, oh, ow]),
                    _ => Err(format!("padding {padding} too large for [{h}, {w}]")),
                }
            }
            Self::Conv2d {
                input,
                output,
                kernel,
                stride,
                padding,
                ..
            } => {
                need_channels(input)?;
                if h + 2 * padding < kernel || w + 2 * padding < kernel {
                    return Err(format!("kernel {kernel} larger than padded [{h}, {w}]"));
                }
                let size = |x: usize| (x + 2 * padding - kernel) / stride + 1;
                Ok([output, size(h), size(w)])
            }
            Self::BatchNorm { features, .. } | Self::InstanceNorm { features } => {
                need_channels(features)?;
                Ok([c, h, w])
            }
            Self::Relu
            | Self::LeakyRelu { .. }
            | Self::Tanh
            | Self::Sigmoid
            | Self::Dropout { .. } => Ok([c, h, w]),
            Self::Reshape { shape } => {
                if shape.iter().product::<usize>() != c * h * w {
                    return Err(format!("cannot reshape [{c}, {h}, {w}] to {shape:?}"));
                }
                Ok(shape)
            }
            Self::Flatten => Ok([c * h * w, 1, 1]),
            Self::Upsample { scale } => {
                if scale == 0 {
                    return Err("scale must be at least 1".into());
                }
                Ok([c, h * scale, w * scale])
            }
            Self::SaveSkip => {
                saved.push([c, h, w]);
                Ok([c, h, w])
            }
            Self::ConcatSkip => match saved.pop() {
                Some([c2, h2, w2]) if [h2, w2] == [h, w] => Ok([c + c2, h, w]),
                Some(other) => Err(format!(
                    "the saved activation {other:?} does not match [{c}, {h}, {w}] in size"
                )),
                None => Err("no saved activation to concatenate (missing save_skip)".into()),
            },
        }
    }
}

/// The output shape of a whole spec, or the first layer that does not fit.
pub fn infer_shapes(layers: &[LayerSpec], input: [usize; 3]) -> Result<Vec<[usize; 3]>, SpecError> {
    let mut shapes = Vec::with_capacity(layers.len() + 1);
    shapes.push(input);
    let mut saved = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let current = *shapes.last().expect("non-empty");
        let next = layer
            .output_shape(current, &mut saved)
            .map_err(|reason| SpecError {
                index,
                layer: layer.kind().to_string(),
                reason,
            })?;
        shapes.push(next);
    }
    if !saved.is_empty() {
        return Err(SpecError {
            index: layers.len().saturating_sub(1),
            layer: "save_skip".into(),
            reason: format!("{} saved activations never concatenated", saved.len()),
        });
    }
    Ok(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_shapes_follow_the_formulas() {
        let up = LayerSpec::conv_transpose(8, 4, 4, 2, 1);
        let none = &mut Vec::new();
        assert_eq!(up.output_shape([8, 7, 7], none), Ok([4, 14, 14]));
        let down = LayerSpec::conv(4, 8, 4, 2, 1);
        let same = LayerSpec::ConvTranspose2d {
            input: 8,
            output: 4,
            kernel: 5,
            stride: 2,
            padding: 2,
            output_padding: 1,
            bias: false,
        };
        assert_eq!(
            same.output_shape([8, 7, 7], none),
            Ok([4, 14, 14]),
            "TF's same padding"
        );
        assert_eq!(down.output_shape([4, 14, 14], none), Ok([8, 7, 7]));
        assert!(
            down.output_shape([3, 14, 14], none)
                .unwrap_err()
                .contains("expects 4 channels")
        );
    }

    #[test]
    fn mismatches_name_the_layer() {
        let layers = [
            LayerSpec::Linear {
                input: 10,
                output: 20,
                bias: true,
            },
            LayerSpec::Reshape { shape: [3, 3, 3] },
        ];
        let err = infer_shapes(&layers, [10, 1, 1]).unwrap_err();
        assert_eq!(err.index, 1);
        assert_eq!(err.layer, "reshape");
    }

    #[test]
    fn skip_connections_concatenate_channels_and_must_balance() {
        let unet = [
            LayerSpec::Upsample { scale: 2 },
            LayerSpec::SaveSkip,
            LayerSpec::conv(3, 8, 4, 2, 1),
            LayerSpec::conv_transpose(8, 5, 4, 2, 1),
            LayerSpec::ConcatSkip,
        ];
        let shapes = infer_shapes(&unet, [3, 4, 4]).unwrap();
        assert_eq!(shapes[1], [3, 8, 8]);
        assert_eq!(*shapes.last().unwrap(), [8, 8, 8], "5 + 3 channels");

        let unbalanced = infer_shapes(&unet[..4], [3, 4, 4]).unwrap_err();
        assert!(
            unbalanced.reason.contains("never concatenated"),
            "{unbalanced}"
        );
        let missing = infer_shapes(&[LayerSpec::ConcatSkip], [3, 4, 4]).unwrap_err();
        assert!(missing.reason.contains("missing save_skip"), "{missing}");
        let mismatched = [
            LayerSpec::SaveSkip,
            LayerSpec::conv(3, 8, 4, 2, 1),
            LayerSpec::ConcatSkip,
        ];
        let err = infer_shapes(&mismatched, [3, 8, 8]).unwrap_err();
        assert_eq!((err.index, err.layer.as_str()), (2, "concat_skip"));
    }

    #[test]
    fn specs_round_trip_through_json() {
        let layer = LayerSpec::LeakyRelu { slope: 0.2 };
        let json = serde_json::to_string(&layer).unwrap();
        assert_eq!(json, r#"{"type":"leaky_relu","slope":0.2}"#);
        assert_eq!(serde_json::from_str::<LayerSpec>(&json).unwrap(), layer);
    }
}
