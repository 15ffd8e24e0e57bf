//! Normalisation: `BatchNormalization` (inference), `InstanceNormalization`, and
//! [`ChannelAffine`], the `x·scale + shift` per channel a BatchNorm becomes at load when its
//! statistics are constants and no convolution or Gemm before it can absorb them.

use super::{Inputs, Op, float, take_float};
use crate::graph::Attrs;
use crate::value::{Float, Value};
use burn::tensor::{Device, Tensor};

/// Per-channel parameter `i` shaped `[1, C, 1, 1]` for a rank-4 view of the input.
fn channel_param(inputs: &Inputs, i: usize, channels: usize) -> Result<Tensor<4>, String> {
    let p = float(inputs, i)?.as1()?;
    if p.dims()[0] != channels {
        return Err(format!(
            "input {i} has {} values for {channels} channels",
            p.dims()[0]
        ));
    }
    Ok(p.reshape([1, channels, 1, 1]))
}

/// The input viewed as `[N, C, spatial, 1]`, with its own shape to restore.
fn channels_view(x: Float) -> Result<(Tensor<4>, Vec<usize>), String> {
    let dims = x.dims();
    if dims.len() < 2 {
        return Err(format!("input of shape {dims:?}: expected [N, C, ...]"));
    }
    let spatial: usize = dims[2..].iter().product();
    Ok((x.reshape(&[dims[0], dims[1], spatial, 1])?.as4()?, dims))
}

/// `BatchNormalization` at inference: (X, scale, B, mean, var).
#[derive(Debug)]
pub struct BatchNorm {
    pub epsilon: f32,
}

impl BatchNorm {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(Self::read(attrs)?))
    }

    /// The attributes, checked: the plan folds constant statistics with the same epsilon.
    pub fn read(attrs: &Attrs) -> Result<Self, String> {
        if attrs.int("training_mode", 0) != 0 {
            return Err("training_mode=1 is not supported (inference only)".into());
        }
        Ok(BatchNorm {
            epsilon: attrs.float("epsilon", 1e-5),
        })
    }

    /// `(scale, shift)` per channel: `y = x·scale + shift` is this BatchNorm.
    pub fn affine(
        &self,
        gamma: &[f32],
        beta: &[f32],
        mean: &[f32],
        var: &[f32],
    ) -> Result<(Vec<f32>, Vec<f32>), String> {
        let c = gamma.len();
        if [beta.len(), mean.len(), var.len()] != [c; 3] {
            return Err(format!(
                "scale, B, mean and var have {c}, {}, {} and {} values: one per channel each",
                beta.len(),
                mean.len(),
                var.len()
            ));
        }
        let scale: Vec<f32> = (0..c)
            .map(|i| {
                (f64::from(gamma[i]) / (f64::from(var[i]) + f64::from(self.epsilon)).sqrt()) as f32
            })
            .collect();
        let shift = (0..c)
            .map(|i| (f64::from(beta[i]) - f64::from(mean[i]) * f64::from(scale[i])) as f32)
            .collect();
        Ok((scale, shift))
    }
}

impl Op for BatchNorm {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let (x, dims) = channels_view(take_float(&mut inputs, 0)?)?;
        let channels = dims[1];
        let param = |i| channel_param(&inputs, i, channels);
        let (scale, bias, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
        let y = (x - mean) / (var + f64::from(self.epsilon)).sqrt() * scale + bias;
        Ok(Value::Float(Float::R4(y).reshape(&dims)?))
    }
}

/// `x·scale + shift` per channel (axis 1): (X, scale, shift). Not an ONNX operator: what the
/// plan makes of a BatchNorm with constant statistics that it cannot fold into a layer.
#[derive(Debug, Default)]
pub struct ChannelAffine;

impl Op for ChannelAffine {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let (x, dims) = channels_view(take_float(&mut inputs, 0)?)?;
        let channels = dims[1];
        let y = x * channel_param(&inputs, 1, channels)? + channel_param(&inputs, 2, channels)?;
        Ok(Value::Float(Float::R4(y).reshape(&dims)?))
    }
}

/// `InstanceNormalization`: each (image, channel) normalised over its own pixels, then
/// scaled and shifted per channel (Pix2Pix's generators).
#[derive(Debug)]
pub struct InstanceNorm {
    epsilon: f64,
}

impl InstanceNorm {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        Ok(Box::new(InstanceNorm {
            epsilon: attrs.float("epsilon", 1e-5) as f64,
        }))
    }
}

impl Op for InstanceNorm {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let x = take_float(&mut inputs, 0)?;
        let dims = x.dims();
        if dims.len() < 3 {
            return Err(format!("input of shape {dims:?}: expected [N, C, D1, ...]"));
        }
        let (n, channels) = (dims[0], dims[1]);
        let param = |i: usize| -> Result<Tensor<3>, String> {
            Ok(channel_param(&inputs, i, channels)?.reshape([1, channels, 1]))
        };
        let (scale, bias) = (param(1)?, param(2)?);
        let spatial: usize = dims[2..].iter().product();
        let x3: Tensor<3> = x
            .reshape(&[n, channels, spatial, 1])?
            .as4()?
            .reshape([n, channels, spatial]);
        let mean = x3.clone().mean_dim(2);
        let centred = x3 - mean;
        let var = centred.clone().powi_scalar(2).mean_dim(2);
        let y = centred / (var + self.epsilon).sqrt() * scale + bias;
        Ok(Value::Float(
            Float::R4(y.reshape([n, channels, spatial, 1])).reshape(&dims)?,
        ))
    }
}
