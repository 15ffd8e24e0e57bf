//! Data-parallel training on several devices in one process (`--devices cuda:0,cuda:1`).
//!
//! burn-train's multi-device strategy, for a GAN's two networks: each step the batch is cut
//! into one contiguous slice per device; every device runs the same step code
//! ([`Networks::step`]) on its slice with copies of both networks (`Module::fork`); at each
//! update the replicas' gradients are moved to the main device (`GradientsParams::to_device`)
//! and summed there (`GradientsAccumulator`), the main device's optimiser updates the
//! network once, and each replica goes on with a fork of the updated network. Each replica
//! weighs its losses by its share of the batch, so the sum is the whole batch's gradient:
//! without BatchNorm, a data-parallel step equals a one-device step up to float rounding.
//!
//! BatchNorm normalises each slice with that slice's statistics (as PyTorch's DDP without
//! SyncBatchNorm), and only the main device's batches move the running statistics (as DDP
//! keeps rank 0's buffers). The replicas run on threads of their own; a backend that runs
//! asynchronously (CUDA, wgpu) keeps every device busy at once.
//!
//! The main device is the first one listed; it holds the optimisers, and checkpoints,
//! sample grids and evaluations are made from its networks, so a checkpoint is the same
//! whatever the device list: a run can resume on other devices, or on one.

use super::step::{BatchSlice, GanState, Networks, Optimisers, PendingStats, StepPlan, Updater};
use crate::model::network::keeping_running_stats;
use crate::model::{Discriminator, FeedError, Generator};
use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};
use std::sync::{Barrier, Mutex};

/// The devices of a data-parallel run; the first is the main device.
#[derive(Debug, Clone)]
pub struct Replicas {
    devices: Vec<Device>,
}

impl Replicas {
    /// `devices` with autodiff; at least one.
    pub fn new(devices: Vec<Device>) -> anyhow::Result<Self> {
        anyhow::ensure!(!devices.is_empty(), "no device given");
        Ok(Self {
            devices: devices.into_iter().map(Device::autodiff).collect(),
        })
    }

    pub fn main(&self) -> &Device {
        &self.devices[0]
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// The rows of a batch of `n` each device trains on: contiguous, as even as can be,
    /// the first devices taking one more when `n` does not divide.
    pub fn slices(&self, n: usize) -> Vec<BatchSlice> {
        let k = self.devices.len();
        let mut start = 0;
        (0..k)
            .map(|j| {
                let len = n / k + usize::from(j < n % k);
                let slice = BatchSlice {
                    rows: start..start + len,
                    total: n,
                };
                start += len;
                slice
            })
            .collect()
    }

    /// [`GanState::step`] with the batch (on the main device) split over the devices.
    pub fn step(
        &self,
        state: GanState,
        plan: &StepPlan,
        real: Tensor<4>,
        labels: Option<Tensor<1, Int>>,
        step: u64,
    ) -> Result<(GanState, PendingStats), FeedError> {
        if self.devices.len() == 1 {
            return state.step(plan, real, labels, step);
        }
        let [n, ..] = real.dims();
        let slices = self.slices(n);
        if slices.iter().any(|s| s.rows.is_empty()) {
            return Err(FeedError::new(
                "the batch has fewer images than there are devices",
            ));
        }
        let (networks, mut optim_g, mut optim_d) = state.into_parts();
        let exchange = Exchange {
            discriminator: Hub::new(self.devices.len()),
            generator: Hub::new(self.devices.len()),
        };
        // The replicas' inputs and networks, made here, in order, before any thread starts.
        let part = |j: usize| {
            let device = &self.devices[j];
            let rows = slices[j].rows.clone();
            let fork = Networks {
                generator: networks.generator.clone().fork(device),
                discriminator: networks.discriminator.clone().fork(device),
            };
            let real = real
                .clone()
                .narrow(0, rows.start, rows.len())
                .to_device(device);
            let labels = labels.as_ref().map(|l| {
                l.clone()
                    .narrow(0, rows.start, rows.len())
                    .to_device(device)
            });
            (fork, real, labels)
        };
        let parts: Vec<_> = (1..self.devices.len()).map(part).collect();
        let main_rows = slices[0].rows.clone();
        let main_real = real.narrow(0, main_rows.start, main_rows.len());
        let main_labels = labels.map(|l| l.narrow(0, main_rows.start, main_rows.len()));

        let (main, replicas) = std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .into_iter()
                .enumerate()
                .map(|(i, (networks, real, labels))| {
                    let j = i + 1;
                    let (exchange, slice, main_device) = (&exchange, &slices[j], self.main());
                    scope.spawn(move || {
                        keeping_running_stats(|| {
                            let mut updater = ReplicaUpdater {
                                index: j,
                                main: main_device,
                                exchange,
                            };
                            networks
                                .step(plan, real, labels, step, slice, &mut updater)
                                .map(|(_, stats)| stats)
                        })
                    })
                })
                .collect();
            let mut updater = MainUpdater {
                optimisers: Optimisers {
                    generator: &mut optim_g,
                    discriminator: &mut optim_d,
                },
                devices: &self.devices,
                exchange: &exchange,
            };
            let main = networks.step(plan, main_real, main_labels, step, &slices[0], &mut updater);
            let replicas: Vec<_> = handles
                .into_iter()
                .map(|h| h.join().expect("a replica's thread panicked"))
                .collect();
            (main, replicas)
        });
        let (networks, mut stats) = main?;
        for replica in replicas {
            stats = stats.plus(replica?, self.main());
        }
        Ok((GanState::from_parts(networks, optim_g, optim_d), stats))
    }
}

/// Where one step's updates meet: one hub per network.
struct Exchange {
    discriminator: Hub<Discriminator>,
    generator: Hub<Generator>,
}

/// One update of one network: the replicas leave their gradients (on the main device),
/// the main device sums them with its own and updates the network, and leaves each replica
/// a fork of the result.
struct Hub<M> {
    barrier: Barrier,
    gradients: Mutex<Vec<Option<GradientsParams>>>,
    updated: Mutex<Vec<Option<M>>>,
}

impl<M: Module> Hub<M> {
    fn new(devices: usize) -> Self {
        Self {
            barrier: Barrier::new(devices),
            gradients: Mutex::new((0..devices).map(|_| None).collect()),
            updated: Mutex::new((0..devices).map(|_| None).collect()),
        }
    }

    /// A replica's side: hand over the gradients, wait, take the updated network.
    fn replica(&self, index: usize, main: &Device, module: &M, grads: GradientsParams) -> M {
        self.gradients.lock().expect("hub")[index] = Some(grads.to_device(main, module));
        self.barrier.wait();
        self.barrier.wait();
        self.updated.lock().expect("hub")[index]
            .take()
            .expect("the main device leaves every replica its network")
    }

    /// The main device's side: sum every replica's gradients with its own, in device
    /// order (so a run is reproducible), update once, hand out forks.
    fn main(
        &self,
        devices: &[Device],
        update: impl FnOnce(M, GradientsParams) -> M,
        module: M,
        grads: GradientsParams,
    ) -> M {
        self.barrier.wait();
        let mut sum = GradientsAccumulator::<M>::new();
        sum.accumulate(&module, grads);
        for slot in self.gradients.lock().expect("hub").iter_mut().skip(1) {
            sum.accumulate(&module, slot.take().expect("every replica gave gradients"));
        }
        let module = update(module, sum.grads());
        for (j, slot) in self.updated.lock().expect("hub").iter_mut().enumerate() {
            if j > 0 {
                *slot = Some(module.clone().fork(&devices[j]));
            }
        }
        self.barrier.wait();
        module
    }
}

/// The main device's updater: its optimisers, over every replica's gradients.
struct MainUpdater<'a> {
    optimisers: Optimisers<'a>,
    devices: &'a [Device],
    exchange: &'a Exchange,
}

impl Updater for MainUpdater<'_> {
    fn update_discriminator(
        &mut self,
        lr: f64,
        discriminator: Discriminator,
        grads: GradientsParams,
    ) -> Discriminator {
        let optim: &mut ModuleOptimizer = self.optimisers.discriminator;
        self.exchange.discriminator.main(
            self.devices,
            |module, sum| optim.step(lr, module, sum),
            discriminator,
            grads,
        )
    }

    fn update_generator(
        &mut self,
        lr: f64,
        generator: Generator,
        grads: GradientsParams,
    ) -> Generator {
        let optim: &mut ModuleOptimizer = self.optimisers.generator;
        self.exchange.generator.main(
            self.devices,
            |module, sum| optim.step(lr, module, sum),
            generator,
            grads,
        )
    }
}

/// Another device's updater: its gradients go to the main device.
struct ReplicaUpdater<'a> {
    index: usize,
    main: &'a Device,
    exchange: &'a Exchange,
}

impl Updater for ReplicaUpdater<'_> {
    fn update_discriminator(
        &mut self,
        _lr: f64,
        discriminator: Discriminator,
        grads: GradientsParams,
    ) -> Discriminator {
        self.exchange
            .discriminator
            .replica(self.index, self.main, &discriminator, grads)
    }

    fn update_generator(
        &mut self,
        _lr: f64,
        generator: Generator,
        grads: GradientsParams,
    ) -> Generator {
        self.exchange
            .generator
            .replica(self.index, self.main, &generator, grads)
    }
}
