//! WGAN-GP's gradient penalty really trains the critic.
//!
//! The penalty `mean (‖∇ₓD(x)‖ − 1)²` is built on the critic's input-gradient written as
//! tracked ops (`forward_with_input_gradient`). Two independent checks:
//! 1. that input-gradient equals burn's own (first-order autodiff) input-gradient;
//! 2. the penalty's gradient with respect to the critic's weights, by autodiff through the
//!    explicit input-gradient, equals central finite differences of the penalty computed
//!    with burn's autodiff input-gradient and summed in f64 here.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Gradients;
use burn::tensor::{Device, Tensor, TensorData};
use gantry_trainer::latent::{SplitMix64, Stream};
use gantry_trainer::model::{LayerSpec, Network, WganGp64Config};
use gantry_trainer::training::step::gradient_penalty;

/// Every layer kind the explicit input-gradient supports, on a `[2, 6, 6]` input.
fn small_critic() -> Vec<LayerSpec> {
    vec![
        LayerSpec::Conv2d {
            input: 2,
            output: 3,
            kernel: 3,
            stride: 2,
            padding: 1,
            bias: true,
        }, // 6 → 3
        LayerSpec::InstanceNorm { features: 3 },
        LayerSpec::LeakyRelu { slope: 0.2 },
        LayerSpec::ConvTranspose2d {
            input: 3,
            output: 2,
            kernel: 2,
            stride: 1,
            padding: 0,
            output_padding: 0,
            bias: true,
        }, // 3 → 4
        LayerSpec::Tanh,
        LayerSpec::Conv2d {
            input: 2,
            output: 2,
            kernel: 2,
            stride: 2,
            padding: 0,
            bias: true,
        }, // 4 → 2
        LayerSpec::Relu,
        LayerSpec::Flatten,
        LayerSpec::Linear {
            input: 8,
            output: 4,
            bias: true,
        },
        LayerSpec::Sigmoid,
        LayerSpec::Reshape { shape: [2, 2, 1] },
        LayerSpec::Flatten,
        LayerSpec::Linear {
            input: 4,
            output: 1,
            bias: true,
        },
    ]
}

/// Replaces every parameter with N(mean, std) values (InstanceNorm's scale away from 1).
struct Randomise(SplitMix64, f32);

impl ModuleMapper for Randomise {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let shape = tensor.shape();
        let mut values = vec![0.0; shape.num_elements()];
        self.0.fill_normal(&mut values);
        values.iter_mut().for_each(|v| *v = 0.3 + *v * self.1);
        let fresh =
            Tensor::from_data(TensorData::new(values, shape), &tensor.device()).require_grad();
        Param::from_mapped_value(id, fresh, mapper)
    }
}

/// Adds `delta` to element `index` of the `target`-th float parameter.
struct Nudge {
    target: usize,
    index: usize,
    delta: f32,
    seen: usize,
}

impl ModuleMapper for Nudge {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let this = self.seen;
        self.seen += 1;
        if this != self.target {
            return param;
        }
        let (id, tensor, mapper) = param.consume();
        let shape = tensor.shape();
        let mut values = tensor.into_data().try_into_vec::<f32>().unwrap();
        values[self.index] += self.delta;
        let device = Device::flex().autodiff();
        let fresh = Tensor::from_data(TensorData::new(values, shape), &device).require_grad();
        Param::from_mapped_value(id, fresh, mapper)
    }
}

/// Each float parameter's gradient in `grads` (zeros where it has none).
struct CollectGrads<'a>(&'a Gradients, Vec<Vec<f32>>);

impl ModuleVisitor for CollectGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        let grad = value
            .grad(self.0)
            .map(|g| g.into_data().try_into_vec::<f32>().unwrap())
            .unwrap_or_else(|| vec![0.0; n]);
        self.1.push(grad);
    }
}

fn critic(specs: &[LayerSpec], seed: u64, std: f32) -> Network {
    let device = Device::flex().autodiff();
    Network::init(specs, &device).map(&mut Randomise(
        SplitMix64::for_stream(seed, Stream::Init, 0),
        std,
    ))
}

fn input(shape: [usize; 4], seed: u64) -> Tensor<4> {
    let mut values = vec![0.0; shape.iter().product()];
    SplitMix64::for_stream(seed, Stream::Sample, 0).fill_normal(&mut values);
    Tensor::from_data(TensorData::new(values, shape), &Device::flex().autodiff())
}

fn to_vec(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

/// burn's own input-gradient of Σ D(x): first-order autodiff, detached.
fn autodiff_input_gradient(network: &Network, x: &Tensor<4>) -> Vec<f32> {
    let x = x.clone().detach().require_grad();
    let grads = network.forward(x.clone()).sum().backward();
    to_vec(x.grad(&grads).expect("x requires grad"))
}

/// The penalty from burn's input-gradient, summed in f64.
fn penalty_by_autodiff(network: &Network, x: &Tensor<4>) -> f64 {
    let [n, ..] = x.dims();
    let grad = autodiff_input_gradient(network, x);
    let per_sample = grad.len() / n;
    grad.chunks(per_sample)
        .map(|g| {
            let norm = g.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
            (norm - 1.0).powi(2)
        })
        .sum::<f64>()
        / n as f64
}

fn assert_close(what: &str, explicit: &[f32], reference: &[f32], tolerance: f32) {
    assert_eq!(explicit.len(), reference.len());
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = explicit
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        scale > 1e-4,
        "{what}: the reference gradient is zero, the test would prove nothing"
    );
    assert!(
        worst <= tolerance * scale,
        "{what}: max |Δ| {worst} vs scale {scale}"
    );
}

#[test]
fn the_explicit_input_gradient_equals_autodiffs() {
    let network = critic(&small_critic(), 1, 0.5);
    let x = input([3, 2, 6, 6], 2);
    let (_, explicit) = network.forward_with_input_gradient(x.clone()).unwrap();
    assert_close(
        "small critic",
        &to_vec(explicit),
        &autodiff_input_gradient(&network, &x),
        1e-5,
    );

    // The CelebA seed's critic at 64×64 (narrow, so the test stays fast).
    let spec = WganGp64Config::new().with_critic_features(4).spec();
    let network = critic(&spec.discriminator, 3, 0.2);
    let x = input([2, 3, 64, 64], 4);
    let (_, explicit) = network.forward_with_input_gradient(x.clone()).unwrap();
    assert_close(
        "WGAN-GP critic",
        &to_vec(explicit),
        &autodiff_input_gradient(&network, &x),
        1e-4,
    );
}

#[test]
fn the_penalty_gradient_reaches_the_weights_and_matches_finite_differences() {
    let network = critic(&small_critic(), 5, 0.5);
    let x = input([3, 2, 6, 6], 6);
    let (_, grad) = network.forward_with_input_gradient(x.clone()).unwrap();
    let penalty = gradient_penalty(grad);
    let value = penalty.clone().into_data().try_into_vec::<f32>().unwrap()[0] as f64;
    assert!((value - penalty_by_autodiff(&network, &x)).abs() < 1e-4 * value.max(1.0));
    let mut collect = CollectGrads(&penalty.backward(), Vec::new());
    network.visit(&mut collect);
    let analytic = collect.1;

    // Parameters in visiting order: conv weight, conv bias, InstanceNorm γ, β, convT
    // weight, bias, conv weight, bias, linear weight, bias, linear weight, bias.
    // Small steps: LeakyReLU and ReLU have kinks, and a pixel crossing one within ±ε would
    // make the difference quotient jump (at 1e-2 one of these entries does).
    let epsilon = 1e-3f32;
    let mut checked = 0;
    for (target, index) in [
        (0, 0),
        (0, 7),
        (1, 2),
        (2, 1),
        (3, 0),
        (4, 5),
        (6, 3),
        (8, 11),
        (10, 2),
    ] {
        let nudged = |delta| {
            let mut nudge = Nudge {
                target,
                index,
                delta,
                seen: 0,
            };
            network.clone().map(&mut nudge)
        };
        let numeric = (penalty_by_autodiff(&nudged(epsilon), &x)
            - penalty_by_autodiff(&nudged(-epsilon), &x))
            / (2.0 * epsilon as f64);
        let exact = analytic[target][index] as f64;
        eprintln!(
            "parameter {target}[{index}]: autodiff {exact:.6}, finite differences {numeric:.6}"
        );
        assert!(
            (exact - numeric).abs() <= 2e-4 + 1e-2 * numeric.abs(),
            "parameter {target}[{index}]: autodiff {exact}, finite differences {numeric}"
        );
        checked += (numeric.abs() > 1e-3) as usize;
    }
    assert!(
        checked >= 6,
        "only {checked} of the checked gradients are non-zero"
    );
}
