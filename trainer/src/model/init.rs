//! Weight initialisation from gantry's own seeded streams.
//!
//! burn's random generator is one per process and differs between backends, so weights drawn
//! from it depend on whatever else drew from it and on the device. Drawing them from
//! [`crate::latent`] instead makes a seed give the same initial weights on the CPU and on a
//! GPU, in a test binary running many tests at once as in a lone run.

use crate::latent::{SplitMix64, Stream};
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Tensor, TensorData};

/// How a run's weights start: the `init` key every preset states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightInit {
    /// DCGAN's (Radford et al. 2015): convolution and dense weights from N(0, 0.02), biases
    /// zero, BatchNorm scale from N(1, 0.02) and shift zero; label embeddings from N(0, 1) as
    /// PyTorch's `nn.Embedding` (at 0.02 the label would be a whisper next to `z`).
    #[default]
    Dcgan,
    /// Keras's defaults, which the cGAN seed's experiment 1 trained with: convolution and
    /// dense weights from Glorot's uniform U(±√(6 / (fan_in + fan_out))), biases zero,
    /// BatchNorm scale one and shift zero, label embeddings from U(±0.05).
    GlorotUniform,
}

/// `scheme`'s initial weights for `module`, drawn from gantry's seeded streams (running
/// statistics are left as they are). `tag` separates the streams of two networks of one run.
pub fn initialize<M: Module>(module: M, scheme: WeightInit, seed: u64, tag: u32) -> M {
    let mut mapper = Initializer {
        scheme,
        seed,
        tag,
        path: Vec::new(),
        count: 0,
    };
    module.map(&mut mapper)
}

/// [`WeightInit::Dcgan`]'s weights for `module`.
pub fn dcgan_init<M: Module>(module: M, seed: u64, tag: u32) -> M {
    initialize(module, WeightInit::Dcgan, seed, tag)
}

struct Initializer {
    scheme: WeightInit,
    seed: u64,
    tag: u32,
    path: Vec<String>,
    count: u64,
}

impl Initializer {
    /// The next stream of this network: one per tensor, in the module's order.
    fn stream(&mut self) -> SplitMix64 {
        let index = ((self.tag as u64) << 32) | self.count;
        self.count += 1;
        SplitMix64::for_stream(self.seed, Stream::Init, index)
    }

    fn normal(&mut self, n: usize, mean: f32, std: f32) -> Vec<f32> {
        let mut values = vec![0.0; n];
        self.stream().fill_normal(&mut values);
        values.iter_mut().for_each(|v| *v = mean + std * *v);
        values
    }

    fn uniform(&mut self, n: usize, limit: f32) -> Vec<f32> {
        let mut stream = self.stream();
        (0..n)
            .map(|_| ((2.0 * stream.next_f64() - 1.0) * limit as f64) as f32)
            .collect()
    }

    /// A dense, convolution or embedding weight's initial values.
    fn weight(&mut self, dims: &[usize], in_embedding: bool) -> Vec<f32> {
        let n = dims.iter().product();
        match (self.scheme, in_embedding) {
            (WeightInit::Dcgan, true) => self.normal(n, 0.0, 1.0),
            (WeightInit::Dcgan, false) => self.normal(n, 0.0, 0.02),
            (WeightInit::GlorotUniform, true) => self.uniform(n, 0.05),
            (WeightInit::GlorotUniform, false) => {
                let limit = (6.0 / fan_in_plus_out(dims) as f64).sqrt() as f32;
                self.uniform(n, limit)
            }
        }
    }
}

/// fan_in + fan_out of a weight: burn's dense `[in, out]`, convolution `[out, in, k, k]`
/// and transposed convolution `[in, out, k, k]` alike (the sum does not care which of the
/// first two is which), times the kernel's area.
fn fan_in_plus_out(dims: &[usize]) -> usize {
    match dims {
        [a, b] => a + b,
        [a, b, kernel @ ..] => (a + b) * kernel.iter().product::<usize>(),
        _ => dims.iter().product::<usize>().max(1),
    }
}

impl ModuleMapper for Initializer {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = self.path.last().map(String::as_str).unwrap_or("");
        let in_batch_norm = self.path.iter().any(|p| p == "BatchNorm");
        let in_embedding = self.path.iter().any(|p| p == "label_embedding");
        let (id, tensor, mapper) = param.consume();
        let shape = tensor.shape();
        let n = shape.num_elements();
        let values = match (in_batch_norm, name, self.scheme) {
            (false, "weight", _) => self.weight(shape.as_slice(), in_embedding),
            (true, "gamma", WeightInit::Dcgan) => self.normal(n, 1.0, 0.02),
            (true, "gamma", WeightInit::GlorotUniform) => vec![1.0; n],
            (_, "bias", _) | (true, "beta", _) => vec![0.0; n],
            _ => return Param::from_mapped_value(id, tensor, mapper),
        };
        let mut fresh = Tensor::from_data(TensorData::new(values, shape), &tensor.device());
        if tensor.is_require_grad() {
            fresh = fresh.require_grad();
        }
        Param::from_mapped_value(id, fresh, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Layer, LayerSpec};
    use burn::tensor::Device;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// Largest magnitude and standard deviation about zero.
    fn spread(v: &[f32]) -> (f32, f32) {
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let std = (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        (max, std)
    }

    fn layer(spec: LayerSpec, scheme: WeightInit) -> Layer {
        initialize(Layer::init(&spec, &Device::flex()), scheme, 7, 0)
    }

    /// `weights` fill U(±a), a = √(6 / fans), up to its edge; their standard deviation is
    /// a/√3 within `tolerance` (relative).
    fn uniform_to(weights: &[f32], fans: f32, tolerance: f32) {
        let limit = (6.0 / fans).sqrt();
        let (max, std) = spread(weights);
        assert!(
            max <= limit && max > 0.99 * limit,
            "max {max}, limit {limit}"
        );
        assert!(
            (std / (limit / 3f32.sqrt()) - 1.0).abs() < tolerance,
            "std {std}"
        );
    }

    #[test]
    fn glorot_uniform_stays_within_its_limit_with_a_uniform_spread() {
        // U(±a) has standard deviation a/√3.
        let dense = LayerSpec::Linear {
            input: 300,
            output: 200,
            bias: true,
        };
        let Layer::Linear(linear) = layer(dense, WeightInit::GlorotUniform) else {
            unreachable!()
        };
        uniform_to(&values(linear.weight.val()), 300.0 + 200.0, 0.02);
        let bias = values(linear.bias.unwrap().val());
        assert!(bias.iter().all(|&b| b == 0.0));

        // A convolution's fans count the kernel's area: (16 + 32)·4·4.
        let conv = LayerSpec::Conv2d {
            input: 16,
            output: 32,
            kernel: 4,
            stride: 2,
            padding: 1,
            bias: false,
        };
        let Layer::Conv2d(conv) = layer(conv, WeightInit::GlorotUniform) else {
            unreachable!()
        };
        uniform_to(&values(conv.weight.val()), 48.0 * 16.0, 0.03);
    }

    #[test]
    fn each_scheme_sets_batch_norm_and_weights_its_own_way() {
        let Layer::BatchNorm(bn) = layer(LayerSpec::batch_norm(512), WeightInit::GlorotUniform)
        else {
            unreachable!()
        };
        assert!(values(bn.gamma.val()).iter().all(|&g| g == 1.0));
        assert!(values(bn.beta.val()).iter().all(|&b| b == 0.0));

        let Layer::BatchNorm(bn) = layer(LayerSpec::batch_norm(512), WeightInit::Dcgan) else {
            unreachable!()
        };
        let gamma = values(bn.gamma.val());
        let (_, std) = spread(&gamma.iter().map(|g| g - 1.0).collect::<Vec<_>>());
        assert!(
            (std / 0.02 - 1.0).abs() < 0.1,
            "DCGAN's γ ~ N(1, 0.02): std {std}"
        );

        let dense = LayerSpec::Linear {
            input: 300,
            output: 200,
            bias: true,
        };
        let Layer::Linear(linear) = layer(dense, WeightInit::Dcgan) else {
            unreachable!()
        };
        let (_, std) = spread(&values(linear.weight.val()));
        assert!(
            (std / 0.02 - 1.0).abs() < 0.02,
            "DCGAN's N(0, 0.02): std {std}"
        );
    }
}
