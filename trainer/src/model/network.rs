//! The burn module built from a list of [`LayerSpec`]s.

use super::spec::LayerSpec;
use crate::kernels::{self, Rectifier};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Initializer, InstanceNorm,
    InstanceNormConfig, LeakyRelu, LeakyReluConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
    Sigmoid, Tanh,
};
use burn::prelude::*;

/// DCGAN's initialisation (Radford et al. 2015): weights from N(0, 0.02).
fn dcgan_init() -> Initializer {
    Initializer::Normal {
        mean: 0.0,
        std: 0.02,
    }
}

/// Reshape `[n, …]` to `[n, c, h, w]`.
#[derive(Module, Debug)]
pub struct Reshape {
    pub shape: [usize; 3],
}

/// Flatten `[n, c, h, w]` to `[n, c·h·w, 1, 1]`.
#[derive(Module, Debug)]
pub struct Flatten;

/// Nearest-neighbour upsampling by `scale` (see [`LayerSpec::Upsample`]).
#[derive(Module, Debug)]
pub struct Upsample {
    pub scale: usize,
}

/// Remember the activation for a skip connection (see [`LayerSpec::SaveSkip`]).
#[derive(Module, Debug)]
pub struct SaveSkip;

/// Concatenate the last remembered activation (see [`LayerSpec::ConcatSkip`]).
#[derive(Module, Debug)]
pub struct ConcatSkip;

/// Each pixel of `[n, c, h, w]` as a `scale × scale` block: `[n, c, h·scale, w·scale]`,
/// output pixel `(i, j)` = input pixel `(⌊i/scale⌋, ⌊j/scale⌋)` as in ONNX's `Resize`.
pub fn upsample_nearest(x: Tensor<4>, scale: usize) -> Tensor<4> {
    if scale == 1 {
        return x;
    }
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h, 1, w, 1])
        .expand([n, c, h, scale, w, scale])
        .reshape([n, c, h * scale, w * scale])
}

/// The mean of each `scale × scale` block: `[n, c, h/scale, w/scale]` (sizes must divide).
/// How a low-resolution image is made from a high-resolution one for super-resolution.
pub fn downsample_mean(x: Tensor<4>, scale: usize) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let (oh, ow) = (h / scale, w / scale);
    x.reshape([n, c, oh, scale, ow, scale])
        .mean_dim(5)
        .mean_dim(3)
        .reshape([n, c, oh, ow])
}

/// The padding of a plain convolution (one group, dilation 1, the same padding on both
/// sides of each axis), which [`kernels::conv2d`] runs; `None` for any other.
fn symmetric_padding(conv: &Conv2d) -> Option<[usize; 2]> {
    match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if top == bottom && left == right && conv.groups == 1 && conv.dilation == [1, 1] =>
        {
            Some([top, left])
        }
        PaddingConfig2d::Valid if conv.groups == 1 && conv.dilation == [1, 1] => Some([0, 0]),
        _ => None,
    }
}

thread_local! {
    /// Whether BatchNorm moves its running statistics on this thread: false on a
    /// data-parallel replica's thread (`training::parallel`), so only the main device's
    /// batches move them, as PyTorch DDP keeps rank 0's buffers. (burn's `RunningState`
    /// averages updates per thread, in whatever order threads come; one writer keeps runs
    /// reproducible.)
    static RUNNING_STATS_MOVE: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Run `f` with BatchNorm's running statistics left as they are on this thread: what a
/// data-parallel replica other than the main one does.
pub fn keeping_running_stats<R>(f: impl FnOnce() -> R) -> R {
    RUNNING_STATS_MOVE.with(|moves| moves.set(false));
    let result = f();
    RUNNING_STATS_MOVE.with(|moves| moves.set(true));
    result
}

/// burn's `BatchNorm::forward` with the batch statistics from [`kernels::batch_norm_train`]:
/// in training (an autodiff device, the layer not frozen) normalise with the batch's
/// moments and move the running statistics toward them by `momentum`, as burn does;
/// otherwise burn's inference path.
/// `rectifier` is the activation right after the layer, computed in the same pass.
fn batch_norm(norm: &BatchNorm, x: Tensor<4>, rectifier: Rectifier) -> Tensor<4> {
    if !(x.device().is_autodiff() && norm.training.is_enabled()) {
        return kernels::rectify(norm.forward(x), rectifier);
    }
    let device = x.device();
    let (y, mean, variance) = kernels::batch_norm_train(
        x,
        norm.gamma.val(),
        norm.beta.val(),
        norm.epsilon,
        rectifier,
    );
    if !RUNNING_STATS_MOVE.with(|moves| moves.get()) {
        return y;
    }
    let m = norm.momentum;
    let running = |state: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
        let old = state.value_sync().to_device(&device);
        state.update(old.mul_scalar(1.0 - m).add(batch.mul_scalar(m)).detach());
    };
    running(&norm.running_mean, mean);
    running(&norm.running_var, variance);
    y
}

/// One layer of a [`Network`], mirroring [`LayerSpec`] variant for variant.
#[derive(Module, Debug)]
pub enum Layer {
    Linear(Linear),
    ConvTranspose2d(ConvTranspose2d),
    Conv2d(Conv2d),
    BatchNorm(BatchNorm),
    InstanceNorm(InstanceNorm),
    Relu(Relu),
    LeakyRelu(LeakyRelu),
    Tanh(Tanh),
    Sigmoid(Sigmoid),
    Dropout(Dropout),
    Reshape(Reshape),
    Flatten(Flatten),
    Upsample(Upsample),
    SaveSkip(SaveSkip),
    ConcatSkip(ConcatSkip),
}

impl Layer {
    pub fn init(spec: &LayerSpec, device: &Device) -> Self {
        Self::init_with(spec, device, true)
    }

    /// `dcgan`: weights from N(0, 0.02) (GANs); otherwise burn's defaults (Kaiming uniform).
    pub fn init_with(spec: &LayerSpec, device: &Device, dcgan: bool) -> Self {
        let init = |config_init: Initializer| if dcgan { dcgan_init() } else { config_init };
        match *spec {
            LayerSpec::Linear {
                input,
                output,
                bias,
            } => Self::Linear(
                LinearConfig::new(input, output)
                    .with_bias(bias)
                    .with_initializer(init(LinearConfig::new(input, output).initializer))
                    .init(device),
            ),
            LayerSpec::ConvTranspose2d {
                input,
                output,
                kernel,
                stride,
                padding,
                output_padding,
                bias,
            } => Self::ConvTranspose2d(
                ConvTranspose2dConfig::new([input, output], [kernel, kernel])
                    .with_stride([stride, stride])
                    .with_padding([padding, padding])
                    .with_padding_out([output_padding, output_padding])
                    .with_bias(bias)
                    .with_initializer(init(
                        ConvTranspose2dConfig::new([input, output], [kernel, kernel]).initializer,
                    ))
                    .init(device),
            ),
            LayerSpec::Conv2d {
                input,
                output,
                kernel,
                stride,
                padding,
                bias,
            } => Self::Conv2d(
                Conv2dConfig::new([input, output], [kernel, kernel])
                    .with_stride([stride, stride])
                    .with_padding(PaddingConfig2d::Explicit(
                        padding, padding, padding, padding,
                    ))
                    .with_bias(bias)
                    .with_initializer(init(
                        Conv2dConfig::new([input, output], [kernel, kernel]).initializer,
                    ))
                    .init(device),
            ),
            LayerSpec::BatchNorm {
                features,
                momentum,
                epsilon,
            } => Self::BatchNorm(
                BatchNormConfig::new(features)
                    .with_momentum(momentum)
                    .with_epsilon(epsilon)
                    .init(device),
            ),
            LayerSpec::InstanceNorm { features } => {
                Self::InstanceNorm(InstanceNormConfig::new(features).init(device))
            }
            LayerSpec::Relu => Self::Relu(Relu::new()),
            LayerSpec::LeakyRelu { slope } => {
                Self::LeakyRelu(LeakyReluConfig::new().with_negative_slope(slope).init())
            }
            LayerSpec::Tanh => Self::Tanh(Tanh::new()),
            LayerSpec::Sigmoid => Self::Sigmoid(Sigmoid::new()),
            LayerSpec::Dropout { prob } => Self::Dropout(DropoutConfig::new(prob).init()),
            LayerSpec::Reshape { shape } => Self::Reshape(Reshape { shape }),
            LayerSpec::Flatten => Self::Flatten(Flatten),
            LayerSpec::Upsample { scale } => Self::Upsample(Upsample { scale }),
            LayerSpec::SaveSkip => Self::SaveSkip(SaveSkip),
            LayerSpec::ConcatSkip => Self::ConcatSkip(ConcatSkip),
        }
    }

    /// The activation this layer is, for a BatchNorm before it to apply in its own pass.
    fn rectifier(&self) -> Option<Rectifier> {
        match self {
            Self::Relu(_) => Some(Rectifier::Relu),
            Self::LeakyRelu(leaky) => Some(Rectifier::Leaky(leaky.negative_slope)),
            _ => None,
        }
    }

    /// Apply the layer; `saved` holds the activations remembered for skip connections.
    pub fn forward(&self, x: Tensor<4>, saved: &mut Vec<Tensor<4>>) -> Tensor<4> {
        let [n, c, h, w] = x.dims();
        match self {
            Self::Linear(linear) => {
                let y = linear.forward(x.reshape([n, c * h * w]));
                let [_, out] = y.dims();
                y.reshape([n, out, 1, 1])
            }
            Self::ConvTranspose2d(conv) if conv.groups == 1 && conv.dilation == [1, 1] => {
                kernels::conv_transpose2d(
                    x,
                    conv.weight.val(),
                    conv.bias.as_ref().map(|b| b.val()),
                    conv.stride,
                    conv.padding,
                    conv.padding_out,
                )
            }
            Self::ConvTranspose2d(conv) => conv.forward(x),
            Self::Conv2d(conv) => match symmetric_padding(conv) {
                Some(padding) => kernels::conv2d(
                    x,
                    conv.weight.val(),
                    conv.bias.as_ref().map(|b| b.val()),
                    conv.stride,
                    padding,
                ),
                None => conv.forward(x),
            },
            Self::BatchNorm(norm) => batch_norm(norm, x, Rectifier::None),
            Self::InstanceNorm(norm) => kernels::instance_norm(norm, x, Rectifier::None),
            Self::Relu(_) | Self::LeakyRelu(_) => {
                kernels::rectify(x, self.rectifier().expect("a rectifier"))
            }
            Self::Tanh(tanh) => tanh.forward(x),
            Self::Sigmoid(sigmoid) => sigmoid.forward(x),
            Self::Dropout(dropout) => dropout.forward(x),
            Self::Reshape(Reshape {
                shape: [c2, h2, w2],
            }) => x.reshape([n, *c2, *h2, *w2]),
            Self::Flatten(_) => x.reshape([n, c * h * w, 1, 1]),
            Self::Upsample(Upsample { scale }) => upsample_nearest(x, *scale),
            Self::SaveSkip(_) => {
                saved.push(x.clone());
                x
            }
            Self::ConcatSkip(_) => {
                let skip = saved
                    .pop()
                    .expect("specs are checked: every concat has a save");
                Tensor::cat(vec![x, skip], 1)
            }
        }
    }
}

/// A feed-forward network: the layers of a spec, applied in order.
#[derive(Module, Debug)]
pub struct Network {
    pub layers: Vec<Layer>,
}

impl Network {
    pub fn init(specs: &[LayerSpec], device: &Device) -> Self {
        Self::init_with(specs, device, true)
    }

    /// See [`Layer::init_with`].
    pub fn init_with(specs: &[LayerSpec], device: &Device, dcgan: bool) -> Self {
        Self {
            layers: specs
                .iter()
                .map(|spec| Layer::init_with(spec, device, dcgan))
                .collect(),
        }
    }

    /// Apply the layers in order. A BatchNorm or InstanceNorm followed by a ReLU or
    /// LeakyReLU runs as one layer: in training, one pass over the activation each way
    /// instead of two, and nothing between them is kept for the backward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut saved = Vec::new();
        let mut layers = self.layers.iter().peekable();
        let mut x = x;
        while let Some(layer) = layers.next() {
            x = match (layer, layers.peek().and_then(|next| next.rectifier())) {
                (Layer::BatchNorm(norm), Some(rectifier)) => {
                    layers.next();
                    batch_norm(norm, x, rectifier)
                }
                (Layer::InstanceNorm(norm), Some(rectifier)) => {
                    layers.next();
                    kernels::instance_norm(norm, x, rectifier)
                }
                _ => layer.forward(x, &mut saved),
            };
        }
        x
    }
}
