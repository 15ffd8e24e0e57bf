//! Weight initialisation from gantry's own seeded streams.
//!
//! burn's random generator is one per process and differs between backends, so weights drawn
//! from it depend on whatever else drew from it and on the device. Drawing them from
//! [`crate::latent`] instead makes a seed give the same initial weights on the CPU and on a
//! GPU, in a test binary running many tests at once as in a lone run.

use crate::latent::{SplitMix64, Stream};
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Tensor, TensorData};

/// DCGAN's initialisation (Radford et al. 2015): convolution and dense weights from
/// N(0, 0.02), biases zero, BatchNorm scale from N(1, 0.02) and shift zero; label
/// embeddings from N(0, 1) as PyTorch's `nn.Embedding` (at 0.02 the label would be a
/// whisper next to `z`). Running statistics are left as they are. `tag` separates the streams of two networks of one run.
pub fn dcgan_init<M: Module>(module: M, seed: u64, tag: u32) -> M {
    let mut mapper = DcganInit {
        seed,
        tag,
        path: Vec::new(),
        count: 0,
    };
    module.map(&mut mapper)
}

struct DcganInit {
    seed: u64,
    tag: u32,
    path: Vec<String>,
    count: u64,
}

impl DcganInit {
    fn draw(&mut self, n: usize, mean: f32, std: f32) -> Vec<f32> {
        let index = ((self.tag as u64) << 32) | self.count;
        self.count += 1;
        let mut values = vec![0.0; n];
        SplitMix64::for_stream(self.seed, Stream::Init, index).fill_normal(&mut values);
        values.iter_mut().for_each(|v| *v = mean + std * *v);
        values
    }
}

impl ModuleMapper for DcganInit {
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
        let values = match (in_batch_norm, name) {
            (false, "weight") if in_embedding => self.draw(n, 0.0, 1.0),
            (false, "weight") => self.draw(n, 0.0, 0.02),
            (true, "gamma") => self.draw(n, 1.0, 0.02),
            (_, "bias") | (true, "beta") => vec![0.0; n],
            _ => return Param::from_mapped_value(id, tensor, mapper),
        };
        let mut fresh = Tensor::from_data(TensorData::new(values, shape), &tensor.device());
        if tensor.is_require_grad() {
            fresh = fresh.require_grad();
        }
        Param::from_mapped_value(id, fresh, mapper)
    }
}
