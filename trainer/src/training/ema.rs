//! An exponential moving average of the generator's weights (`ema_decay`), the smoother
//! generator StudioGAN and most modern GAN code sample from: after every generator update,
//! `ema ← decay · ema + (1 − decay) · G` for each weight, while BatchNorm's running
//! statistics are copied from G as they are (they are measurements of G's activations, not
//! weights to average). It is kept in the checkpoint, and `sample`, `eval` and `export` use
//! it when a checkpoint has one.

use crate::model::Generator;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// The average after one more generator update: `ema` blended with `current` (the
/// training generator, read through `valid()` so its newest running statistics count).
pub fn update(ema: Generator, current: &Generator, decay: f64) -> Generator {
    let mut collect = Collect(Vec::new());
    current.valid().visit(&mut collect);
    ema.map(&mut Blend {
        current: collect.0.into_iter(),
        decay,
        path: Vec::new(),
    })
}

/// Every float tensor of a module, in its visiting order, flattened.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().flatten(0, D - 1));
    }
}

/// The same walk over the average, taking each tensor of the current generator in turn.
struct Blend<I> {
    current: I,
    decay: f64,
    path: Vec<String>,
}

impl<I: Iterator<Item = Tensor<1>>> ModuleMapper for Blend<I> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let current = self
            .current
            .next()
            .expect("the average and the generator have the same structure");
        let running = self
            .path
            .last()
            .is_some_and(|name| name.starts_with("running_"));
        let (id, average, mapper) = param.consume();
        let current = current.reshape(average.shape());
        let blended = if running {
            current
        } else {
            average.mul_scalar(self.decay) + current.mul_scalar(1.0 - self.decay)
        };
        Param::from_mapped_value(id, blended.detach(), mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DcganConfig;
    use crate::model::init::{WeightInit, initialize};
    use crate::training::ModelConfig;
    use burn::tensor::Device;

    /// Every float tensor with its path, in visiting order.
    fn tensors(module: &Generator) -> Vec<(String, Vec<f32>)> {
        struct Named(Vec<String>, Vec<(String, Vec<f32>)>);
        impl ModuleVisitor for Named {
            fn enter_module(&mut self, name: &str, _: &str) {
                self.0.push(name.to_string());
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.0.pop();
            }
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let values = param.val().into_data().convert::<f32>();
                self.1
                    .push((self.0.join("."), values.try_to_vec::<f32>().unwrap()));
            }
        }
        let mut named = Named(Vec::new(), Vec::new());
        module.visit(&mut named);
        named.1
    }

    #[test]
    fn one_update_blends_the_weights_and_copies_the_running_statistics() {
        let device = Device::flex();
        let model = ModelConfig::Dcgan28(
            DcganConfig::new()
                .with_generator_features(4)
                .with_discriminator_features(4),
        );
        let (fresh, _) = model.init(&device);
        let average = initialize(fresh.clone(), WeightInit::Dcgan, 1, 0);
        let mut current = initialize(fresh, WeightInit::GlorotUniform, 2, 0);
        // Running statistics (and weights) unlike the average's, as after some batches.
        let shifted: Vec<Tensor<1>> = tensors(&current)
            .into_iter()
            .map(|(_, v)| {
                let n = v.len();
                let values = v.iter().map(|x| x + 0.5).collect();
                Tensor::from_data(burn::tensor::TensorData::new(values, [n]), &device)
            })
            .collect();
        current = current.map(&mut Blend {
            current: shifted.into_iter(),
            decay: 0.0,
            path: Vec::new(),
        });
        let (before, now) = (tensors(&average), tensors(&current));
        let after = tensors(&update(average, &current, 0.75));
        let mut running = 0;
        for ((name, a), ((_, b), (_, c))) in after.iter().zip(before.iter().zip(&now)) {
            for ((&got, &old), &new) in a.iter().zip(b).zip(c) {
                let want = if name.contains("running_") {
                    new
                } else {
                    0.75 * old + 0.25 * new
                };
                assert!((got - want).abs() <= 1e-6, "{name}: {got} vs {want}");
            }
            running += usize::from(name.contains("running_"));
        }
        assert!(
            running >= 2,
            "BatchNorm's running mean and variance were seen"
        );
    }
}
