//! Each kernel against burn's own op: the same values and the same gradients, to float
//! rounding, on shapes like the networks' (strides 1 and 2, padding 0 and 1, odd sizes,
//! output padding, 1×1 inputs).

use super::*;
use burn::tensor::{Distribution, Tensor, TensorData};

fn device() -> Device {
    Device::flex().autodiff()
}

fn random<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<D> {
    let device = device();
    device.seed(seed);
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// Largest |a − b| relative to the largest |b| (so a 1e-5 bound means float rounding).
fn relative_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// Forward values and the gradients of `Σ y·r` (a fixed random `r`) for x, weight and bias.
fn outputs_and_grads(
    f: impl Fn(Tensor<4>, Tensor<4>, Option<Tensor<1>>) -> Tensor<4>,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
) -> [Vec<f32>; 4] {
    let y = f(x.clone(), weight.clone(), Some(bias.clone()));
    let r = Tensor::<4>::from_data(
        TensorData::new(
            (0..y.shape().num_elements())
                .map(|i| ((i * 31 % 17) as f32) / 8.0 - 1.0)
                .collect(),
            y.dims(),
        ),
        &y.device(),
    );
    let grads = (y.clone() * r).sum().backward();
    [
        values(y.detach()),
        values(x.grad(&grads).unwrap()),
        values(weight.grad(&grads).unwrap()),
        values(bias.grad(&grads).unwrap()),
    ]
}

/// What [`outputs_and_grads`] returns, by name.
const CONV: &[&str] = &["y", "dx", "dweight", "dbias"];

/// Each of `names`' values in `ours` within 1e-5 (relative) of burn's.
fn assert_close(names: &[&str], ours: &[Vec<f32>], burns: &[Vec<f32>], what: &str) {
    assert_eq!((ours.len(), burns.len()), (names.len(), names.len()));
    for (name, (a, b)) in names.iter().zip(ours.iter().zip(burns)) {
        let diff = relative_diff(a, b);
        assert!(
            diff < 1e-5,
            "{what}: {name} differs from burn's by {diff:e} (relative)"
        );
    }
}

#[test]
fn conv2d_matches_burn_forward_and_backward() {
    // (batch, in, out, size, kernel, stride, padding)
    for (i, &(n, ci, co, size, k, s, p)) in [
        (4, 3, 8, [28, 28], 4, 2, 1),
        (3, 8, 16, [7, 7], 4, 2, 1),
        (2, 5, 4, [9, 6], 3, 1, 1),
        (2, 16, 1, [4, 4], 4, 1, 0),
        (1, 2, 3, [5, 5], 3, 2, 0),
        // ≥ 16 image-side channels: the channels-last columns (`conv::Layout`).
        (2, 32, 8, [8, 8], 4, 2, 1),
    ]
    .iter()
    .enumerate()
    {
        let x = random([n, ci, size[0], size[1]], 10 + i as u64);
        let weight = random([co, ci, k, k], 20 + i as u64);
        let bias = random([co], 30 + i as u64);
        let ours = outputs_and_grads(
            |x, w, b| conv2d(x, w, b, [s, s], [p, p]),
            &x,
            &weight,
            &bias,
        );
        let options = ConvOptions::new([s, s], [p, p], [1, 1], 1);
        let burns = outputs_and_grads(
            |x, w, b| module::conv2d(x, w, b, options.clone()),
            &x,
            &weight,
            &bias,
        );
        assert_close(CONV, &ours, &burns, &format!("conv2d case {i}"));
    }
}

#[test]
fn conv_transpose2d_matches_burn_forward_and_backward() {
    // (batch, in, out, size, kernel, stride, padding, output padding)
    for (i, &(n, ci, co, size, k, s, p, op)) in [
        (4, 16, 8, [1, 1], 7, 1, 0, 0),
        (3, 8, 4, [7, 7], 4, 2, 1, 0),
        (2, 6, 3, [4, 5], 4, 2, 1, 0),
        (2, 4, 2, [5, 5], 3, 2, 1, 1),
        (2, 3, 5, [6, 6], 3, 1, 1, 0),
        // ≥ 16 image-side (output) channels: the channels-last columns.
        (2, 8, 16, [4, 4], 4, 2, 1, 0),
        (3, 32, 16, [1, 1], 4, 1, 0, 0),
    ]
    .iter()
    .enumerate()
    {
        let x = random([n, ci, size[0], size[1]], 40 + i as u64);
        let weight = random([ci, co, k, k], 50 + i as u64);
        let bias = random([co], 60 + i as u64);
        let ours = outputs_and_grads(
            |x, w, b| conv_transpose2d(x, w, b, [s, s], [p, p], [op, op]),
            &x,
            &weight,
            &bias,
        );
        let options = ConvTransposeOptions::new([s, s], [p, p], [op, op], [1, 1], 1);
        let burns = outputs_and_grads(
            |x, w, b| module::conv_transpose2d(x, w, b, options.clone()),
            &x,
            &weight,
            &bias,
        );
        assert_close(CONV, &ours, &burns, &format!("conv_transpose2d case {i}"));
    }
}

#[test]
fn leaky_relu_is_bit_equal_to_burns() {
    let x = random([3, 4, 5, 6], 70);
    let r = random([3, 4, 5, 6], 71).detach();
    let run = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
        let y = f(x.clone());
        let grads = (y.clone() * r.clone()).sum().backward();
        (values(y.detach()), values(x.grad(&grads).unwrap()))
    };
    let ours = run(&|x| leaky_relu(x, 0.2));
    let burns = run(&|x| activation::leaky_relu(x, 0.2));
    assert_eq!(ours, burns);
}

#[test]
fn the_kernels_run_on_the_cpu_backend_only() {
    let x = random([1, 1, 2, 2], 80);
    assert!(runs_here(&x) || burn_ops_requested());
    assert!(!runs_here(&x.clone().int().float().cast(DType::F64)));
}

/// The batch norm alone, and with the ReLU or LeakyReLU it runs in its own pass, against
/// burn's batch norm followed by burn's activation: values, the three gradients (through
/// the activation, recomputed in the backward pass) and the batch statistics.
#[test]
fn batch_norm_train_matches_burn_forward_backward_and_statistics() {
    let cases = [
        ([8, 4, 7, 7], Rectifier::None),
        ([3, 16, 1, 1], Rectifier::None),
        ([5, 3, 14, 9], Rectifier::None),
        ([8, 4, 7, 7], Rectifier::Relu),
        ([5, 3, 14, 9], Rectifier::Leaky(0.2)),
        ([3, 16, 2, 1], Rectifier::Leaky(0.01)),
    ];
    for (i, (shape, rectifier)) in cases.into_iter().enumerate() {
        let x = random(shape, 90 + i as u64);
        let gamma = random([shape[1]], 100 + i as u64);
        let beta = random([shape[1]], 110 + i as u64);
        let r = random(shape, 120 + i as u64).detach();
        let run = |ours: bool| {
            let (y, mean, var) = if ours {
                batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5, rectifier)
            } else {
                let result = module::batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
                let output = match rectifier {
                    Rectifier::None => result.output,
                    Rectifier::Relu => activation::relu(result.output),
                    Rectifier::Leaky(slope) => activation::leaky_relu(result.output, slope),
                };
                (output, result.mean, result.variance)
            };
            let grads = (y.clone() * r.clone()).sum().backward();
            [
                values(y.detach()),
                values(x.grad(&grads).unwrap()),
                values(gamma.grad(&grads).unwrap()),
                values(beta.grad(&grads).unwrap()),
                values(mean.detach()),
                values(var.detach()),
            ]
        };
        let names = ["y", "dx", "dgamma", "dbeta", "mean", "var"];
        assert_close(
            &names,
            &run(true),
            &run(false),
            &format!("batch norm case {i} ({rectifier:?})"),
        );
    }
}

/// A network's first layer sees an input that needs no gradient (real images, z): its
/// backward then builds only what the weight-gradient needs.
#[test]
fn weight_gradients_alone_match_burn_when_the_input_is_constant() {
    let weight_grad = |y: Tensor<4>, weight: &Tensor<4>| {
        let grads = (y.clone() * y.ones_like()).sum().backward();
        values(weight.grad(&grads).unwrap())
    };
    let x = random([3, 4, 7, 7], 130).detach();
    let weight = random([8, 4, 4, 4], 131);
    let ours = weight_grad(
        conv2d(x.clone(), weight.clone(), None, [2, 2], [1, 1]),
        &weight,
    );
    let options = ConvOptions::new([2, 2], [1, 1], [1, 1], 1);
    let burns = weight_grad(module::conv2d(x, weight.clone(), None, options), &weight);
    let diff = relative_diff(&ours, &burns);
    assert!(diff < 1e-5, "conv2d dweight differs by {diff:e}");

    let z = random([5, 6, 1, 1], 132).detach();
    let weight = random([6, 3, 4, 4], 133);
    let ours = weight_grad(
        conv_transpose2d(z.clone(), weight.clone(), None, [1, 1], [0, 0], [0, 0]),
        &weight,
    );
    let options = ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1);
    let burns = weight_grad(
        module::conv_transpose2d(z, weight.clone(), None, options),
        &weight,
    );
    let diff = relative_diff(&ours, &burns);
    assert!(diff < 1e-5, "conv_transpose2d dweight differs by {diff:e}");
}

#[test]
fn instance_norm_matches_burns_forward_and_backward() {
    use burn::nn::InstanceNormConfig;
    let cases = [
        ([4, 3, 8, 8], Rectifier::None),
        ([1, 5, 4, 4], Rectifier::None),
        ([3, 2, 7, 5], Rectifier::None),
        ([4, 3, 8, 8], Rectifier::Leaky(0.2)),
    ];
    for (i, (shape, rectifier)) in cases.into_iter().enumerate() {
        let x = random(shape, 140 + i as u64);
        let r = random(shape, 150 + i as u64).detach();
        let mut norm = InstanceNormConfig::new(shape[1]).init(&device());
        norm.gamma = Some(Param::from_tensor(random([shape[1]], 160 + i as u64)));
        norm.beta = Some(Param::from_tensor(random([shape[1]], 170 + i as u64)));
        let run = |ours: bool| {
            let y = if ours {
                instance_norm(&norm, x.clone(), rectifier)
            } else {
                let y = norm.forward(x.clone());
                match rectifier {
                    Rectifier::Leaky(slope) => activation::leaky_relu(y, slope),
                    _ => y,
                }
            };
            let grads = (y.clone() * r.clone()).sum().backward();
            let gamma = norm.gamma.as_ref().unwrap().val();
            let beta = norm.beta.as_ref().unwrap().val();
            [
                values(y.detach()),
                values(x.grad(&grads).unwrap()),
                values(gamma.grad(&grads).unwrap()),
                values(beta.grad(&grads).unwrap()),
            ]
        };
        let names = ["y", "dx", "dgamma", "dbeta"];
        assert_close(
            &names,
            &run(true),
            &run(false),
            &format!("instance norm case {i} ({rectifier:?})"),
        );
    }
}
