//! The kernels under autodiff: each records a backward step that calls the CPU kernels'
//! own gradients (one pass each, no masks, no per-image products).

use super::TrainingKernels;
use super::flex::{self, Conv};
use super::norm::Rectifier;
use burn::backend::Flex;
use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use gantry_kernels::Window;

#[derive(Debug)]
struct ConvBackward {
    conv: Conv,
    window: Window,
}

impl Backward<Flex, 2> for ConvBackward {
    /// The forward inputs: `x` and `weight`.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight) = ops.state;
        let wanted = [node_x.is_some(), node_weight.is_some()];
        let [dx, dweight] =
            flex::conv_backward(self.conv, &x, &weight, &grad, &self.window, wanted);
        for (node, g) in [(node_x, dx), (node_weight, dweight)] {
            if let (Some(node), Some(g)) = (node, g) {
                grads.register::<Flex>(node.id, g);
            }
        }
    }
}

#[derive(Debug)]
struct LeakyReluBackward {
    slope: f32,
}

impl Backward<Flex, 1> for LeakyReluBackward {
    /// The forward input.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node_x {
            grads.register::<Flex>(
                node.id,
                flex::leaky_relu_backward(&ops.state, &grad, self.slope),
            );
        }
    }
}

/// An output that depends on no tracked input.
#[derive(Debug)]
struct Constant;

impl Backward<Flex, 0> for Constant {
    type State = ();

    fn backward(self, _: Ops<(), 0>, _: &mut Gradients, _: &mut Checkpointer) {}
}

#[derive(Debug)]
struct BatchNormBackward {
    epsilon: f64,
    rectifier: Rectifier,
}

impl Backward<Flex, 3> for BatchNormBackward {
    /// `x`, `gamma`, `beta` and the batch's moments: the output before the rectifier is
    /// recomputed from them, so it is never stored.
    type State = [FlexTensor; 4];

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let [x, gamma, beta, moments] = &ops.state;
        let [dx, dgamma, dbeta] = flex::batch_norm_backward(
            [x, gamma, beta, moments],
            self.epsilon,
            self.rectifier,
            &grad,
        );
        for (node, g) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, g);
            }
        }
    }
}

fn tracked_conv<C: CheckpointStrategy>(
    conv: Conv,
    x: FloatTensor<Autodiff<Flex, C>>,
    weight: FloatTensor<Autodiff<Flex, C>>,
    window: Window,
) -> FloatTensor<Autodiff<Flex, C>> {
    let forward = |x, weight| flex::conv_forward(conv, &x, &weight, &window);
    match (ConvBackward { conv, window })
        .prepare::<C>([x.node(), weight.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (x, weight) = (x.into_primitive(), weight.into_primitive());
            let y = forward(x.clone(), weight.clone());
            prep.finish((x, weight), y)
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(forward(x.into_primitive(), weight.into_primitive()))
        }
    }
}

impl<C: CheckpointStrategy> TrainingKernels for Autodiff<Flex, C> {
    fn gantry_channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let moments = <Flex as TrainingKernels>::gantry_channel_moments(x.into_primitive());
        // A constant to autodiff: no parents, so nothing is recorded.
        Constant.prepare::<C>([]).compute_bound().stateless(moments)
    }

    fn gantry_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        epsilon: f64,
        rectifier: Rectifier,
    ) -> FloatTensor<Self> {
        let moments = moments.into_primitive();
        let forward = |x, gamma, beta, moments| {
            <Flex as TrainingKernels>::gantry_batch_norm_train(
                x, gamma, beta, moments, epsilon, rectifier,
            )
        };
        match (BatchNormBackward { epsilon, rectifier })
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, gamma, beta) = (
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                );
                let y = forward(x.clone(), gamma.clone(), beta.clone(), moments.clone());
                prep.finish([x, gamma, beta, moments], y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                moments,
            )),
        }
    }

    fn gantry_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self> {
        tracked_conv::<C>(Conv::Forward, x, weight, window)
    }

    fn gantry_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self> {
        tracked_conv::<C>(Conv::Transposed, x, weight, window)
    }

    fn gantry_leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        match (LeakyReluBackward { slope })
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let y = <Flex as TrainingKernels>::gantry_leaky_relu(x.clone(), slope);
                prep.finish(x, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(<Flex as TrainingKernels>::gantry_leaky_relu(
                x.into_primitive(),
                slope,
            )),
        }
    }
}
