//! What the training loop tells the rest of a run: events, and the listeners that hear
//! them (progress bar and log lines, the metrics file, epoch artefacts, the best
//! checkpoint, TensorBoard), in the manner of burn-train's event processors.

use super::checkpoint::Position;
use super::step::StepStats;
use crate::data::ImageDataset;
use crate::eval::QualityReport;
use crate::model::Generator;
use std::path::Path;

/// An epoch begins (or continues, after a resume, at `position.batch`).
pub struct EpochStarted {
    pub position: Position,
    pub epochs: usize,
    pub batches: usize,
}

/// One training step is done.
pub struct StepDone {
    /// 0-based epoch the step belonged to.
    pub epoch: usize,
    /// 1-based batch within that epoch, and the epoch's batch count.
    pub batch: usize,
    pub batches: usize,
    pub epochs: usize,
    /// Steps done in total.
    pub step: u64,
    pub stats: StepStats,
    pub images_per_sec: f32,
}

/// The checkpoint `checkpoint` was measured.
pub struct EvaluationDone<'a> {
    pub position: Position,
    pub checkpoint: &'a Path,
    pub stats: StepStats,
    pub report: &'a QualityReport,
}

/// An epoch is done (after its checkpoint and evaluation, if any).
pub struct EpochDone<'a> {
    /// Epochs done in total.
    pub epochs_done: usize,
    pub generator: &'a Generator,
    pub dataset: &'a ImageDataset,
}

/// Something that follows a run. Every method has a default that does nothing.
pub trait Listener {
    fn epoch_started(&mut self, _event: &EpochStarted) -> anyhow::Result<()> {
        Ok(())
    }
    fn step_done(&mut self, _event: &StepDone) -> anyhow::Result<()> {
        Ok(())
    }
    /// A checkpoint is about to be written: make what was heard so far durable.
    fn flush(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
    fn evaluation_done(&mut self, _event: &EvaluationDone) -> anyhow::Result<()> {
        Ok(())
    }
    fn epoch_done(&mut self, _event: &EpochDone) -> anyhow::Result<()> {
        Ok(())
    }
    /// The run stopped on purpose (`--max-steps`) before its last epoch.
    fn stopped(&mut self, _position: Position) {}
}

/// The listeners of one run, called in order.
#[derive(Default)]
pub struct Listeners(Vec<Box<dyn Listener>>);

impl Listeners {
    pub fn push(&mut self, listener: impl Listener + 'static) {
        self.0.push(Box::new(listener));
    }

    pub fn epoch_started(&mut self, event: &EpochStarted) -> anyhow::Result<()> {
        self.0.iter_mut().try_for_each(|l| l.epoch_started(event))
    }
    pub fn step_done(&mut self, event: &StepDone) -> anyhow::Result<()> {
        self.0.iter_mut().try_for_each(|l| l.step_done(event))
    }
    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.0.iter_mut().try_for_each(|l| l.flush())
    }
    pub fn evaluation_done(&mut self, event: &EvaluationDone) -> anyhow::Result<()> {
        self.0.iter_mut().try_for_each(|l| l.evaluation_done(event))
    }
    pub fn epoch_done(&mut self, event: &EpochDone) -> anyhow::Result<()> {
        self.0.iter_mut().try_for_each(|l| l.epoch_done(event))
    }
    pub fn stopped(&mut self, position: Position) {
        self.0.iter_mut().for_each(|l| l.stopped(position));
    }
}
