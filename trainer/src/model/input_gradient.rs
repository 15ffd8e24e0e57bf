//! A network's gradient with respect to its input, written out with ordinary tensor ops.
//!
//! WGAN-GP penalises the critic's input-gradient norm, so the penalty's own gradient must
//! reach the critic's parameters through that input-gradient: a second-order derivative.
//! burn's autodiff is first order (`Tensor::grad` returns a detached tensor: the PyTorch
//! recipe with `create_graph=True` silently adds nothing). So each layer's backward pass
//! is written here as forward ops — a Conv2d's is a transposed convolution with the same
//! weight, a LeakyReLU's is a mask, InstanceNorm's is its textbook formula — which
//! autodiff then differentiates like any other part of the loss.

use super::network::{Layer, Network, Reshape};
use crate::kernels;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

/// A layer whose input-gradient is not written here (BatchNorm mixes the samples of a
/// batch, so a per-sample gradient penalty is meaningless through it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("layer {index} ({layer}) has no explicit input-gradient: {reason}")]
pub struct InputGradientError {
    pub index: usize,
    pub layer: &'static str,
    pub reason: &'static str,
}

impl Network {
    /// The output `y = f(x)` and `∂(Σ y)/∂x`, both tracked. Each sample's output depends on
    /// that sample alone (no BatchNorm), so row `i` of the gradient is `∇ₓ f(xᵢ)`.
    pub fn forward_with_input_gradient(
        &self,
        x: Tensor<4>,
    ) -> Result<(Tensor<4>, Tensor<4>), InputGradientError> {
        self.check_input_gradient()?;
        let mut inputs = Vec::with_capacity(self.layers.len());
        let mut y = x;
        // Skip layers are refused above, so nothing is ever saved here.
        let mut saved = Vec::new();
        for layer in &self.layers {
            inputs.push(y.clone());
            y = layer.forward(y, &mut saved);
        }
        let mut grad = y.ones_like();
        for (layer, input) in self.layers.iter().zip(inputs).rev() {
            grad = layer.input_gradient(input, grad);
        }
        Ok((y, grad))
    }

    /// Refuse networks with a layer [`Layer::input_gradient`] cannot handle.
    pub fn check_input_gradient(&self) -> Result<(), InputGradientError> {
        for (index, layer) in self.layers.iter().enumerate() {
            let refuse = |layer, reason| {
                Err(InputGradientError {
                    index,
                    layer,
                    reason,
                })
            };
            match layer {
                Layer::BatchNorm(_) => refuse(
                    "batch_norm",
                    "BatchNorm couples the samples of a batch; a WGAN-GP critic uses InstanceNorm",
                )?,
                Layer::Dropout(_) => refuse("dropout", "a WGAN-GP critic has no dropout")?,
                Layer::Upsample(_) | Layer::SaveSkip(_) | Layer::ConcatSkip(_) => refuse(
                    "upsample/skip",
                    "a WGAN-GP critic is a plain downsampling stack",
                )?,
                Layer::Conv2d(conv) if conv.groups != 1 || conv.dilation != [1, 1] => refuse(
                    "conv2d",
                    "grouped or dilated convolutions are not supported",
                )?,
                Layer::Conv2d(conv) if !matches!(conv.padding, PaddingConfig2d::Explicit(..)) => {
                    refuse("conv2d", "only explicit padding is supported")?
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Layer {
    /// `∂L/∂input` from `∂L/∂output` (`grad`), for the `input` this layer was applied to.
    fn input_gradient(&self, input: Tensor<4>, grad: Tensor<4>) -> Tensor<4> {
        let [n, c, h, w] = input.dims();
        match self {
            Self::Linear(linear) => {
                let [_, out] = linear.weight.dims();
                grad.reshape([n, out])
                    .matmul(linear.weight.val().transpose())
                    .reshape([n, c, h, w])
            }
            Self::Conv2d(conv) => {
                let PaddingConfig2d::Explicit(top, left, ..) = conv.padding else {
                    unreachable!("checked in check_input_gradient")
                };
                let [_, _, oh, ow] = grad.dims();
                let [kh, kw] = conv.kernel_size;
                let [sh, sw] = conv.stride;
                // The rows and columns the strided convolution never reached.
                let out_pad = [
                    h - ((oh - 1) * sh + kh - 2 * top),
                    w - ((ow - 1) * sw + kw - 2 * left),
                ];
                kernels::conv_transpose2d(
                    grad,
                    conv.weight.val(),
                    None,
                    [sh, sw],
                    [top, left],
                    out_pad,
                )
            }
            Self::ConvTranspose2d(conv) => {
                kernels::conv2d(grad, conv.weight.val(), None, conv.stride, conv.padding)
            }
            Self::LeakyRelu(leaky) => {
                let slope = leaky.negative_slope;
                let positive = input.greater_elem(0.0).float();
                grad * (positive * (1.0 - slope) + slope)
            }
            Self::Relu(_) => grad * input.greater_elem(0.0).float(),
            Self::Tanh(_) => {
                let y = input.tanh();
                grad * (y.clone() * y).neg().add_scalar(1.0)
            }
            Self::Sigmoid(_) => {
                let s = sigmoid(input);
                grad * (s.clone() * s.neg().add_scalar(1.0))
            }
            Self::InstanceNorm(norm) => {
                // x̂ = (x − μ)/σ over each sample's channel; y = γ·x̂ + β:
                // ∂L/∂x = γ/σ · (g − mean(g) − x̂·mean(g·x̂)), with μ, σ, x̂ tracked.
                let mean = input.clone().mean_dims(&[2, 3]);
                let centred = input - mean;
                let var = centred.clone().square().mean_dims(&[2, 3]);
                let sigma = var.add_scalar(norm.epsilon).sqrt();
                let normalised = centred / sigma.clone();
                let grad = match &norm.gamma {
                    Some(gamma) => grad * gamma.val().reshape([1, c, 1, 1]),
                    None => grad,
                };
                let grad_mean = grad.clone().mean_dims(&[2, 3]);
                let projection = (grad.clone() * normalised.clone()).mean_dims(&[2, 3]);
                (grad - grad_mean - normalised * projection) / sigma
            }
            Self::Reshape(Reshape { .. }) | Self::Flatten(_) => grad.reshape([n, c, h, w]),
            Self::BatchNorm(_)
            | Self::Dropout(_)
            | Self::Upsample(_)
            | Self::SaveSkip(_)
            | Self::ConcatSkip(_) => {
                unreachable!("refused by check_input_gradient")
            }
        }
    }
}
