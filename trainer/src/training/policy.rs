//! When a run writes a checkpoint and when it measures one, as burn-train's
//! `CheckpointingStrategy` decides: every N steps, every N epochs, before an evaluation,
//! after the last epoch and when stopped on purpose. Keeping the last N is
//! [`super::checkpoint::save`]'s; keeping the best by Fréchet distance is
//! [`super::listeners::BestCheckpoint`]'s.

use super::checkpoint::Position;
use super::config::TrainingConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Every N steps (0: never by steps).
    pub every_steps: u64,
    /// At the end of every N-th epoch.
    pub every_epochs: usize,
    /// Measure quality every N epochs (0: never).
    pub eval_every: usize,
    /// The planned number of epochs: the last one always ends in a checkpoint.
    pub epochs: usize,
}

impl CheckpointPolicy {
    pub fn new(config: &TrainingConfig) -> Self {
        Self {
            every_steps: config.checkpoint_every as u64,
            every_epochs: config.checkpoint_every_epochs.max(1),
            eval_every: config.eval_every,
            epochs: config.epochs,
        }
    }

    /// Whether to write a checkpoint at `position` (just after a step), given whether the
    /// run stops there.
    pub fn save_at(&self, position: Position, stopping: bool) -> bool {
        let periodic = self.every_steps > 0 && position.step % self.every_steps == 0;
        let epoch_end = position.batch == 0;
        stopping
            || periodic
            || (epoch_end
                && (self.epoch_saves(position.epoch) || self.evaluate_after(position.epoch)))
    }

    /// Whether the epochs-done count `epochs` ends in a checkpoint by the epoch rule.
    fn epoch_saves(&self, epochs: usize) -> bool {
        epochs % self.every_epochs == 0 || epochs == self.epochs
    }

    /// Whether the checkpoint after `epochs` epochs is measured.
    pub fn evaluate_after(&self, epochs: usize) -> bool {
        self.eval_every > 0 && (epochs % self.eval_every == 0 || epochs == self.epochs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(epoch: usize, batch: usize, step: u64) -> Position {
        Position { epoch, batch, step }
    }

    #[test]
    fn checkpoints_fall_where_the_config_says() {
        let policy = CheckpointPolicy {
            every_steps: 0,
            every_epochs: 15,
            eval_every: 0,
            epochs: 40,
        };
        assert!(!policy.save_at(at(1, 0, 10), false));
        assert!(policy.save_at(at(15, 0, 150), false));
        assert!(policy.save_at(at(40, 0, 400), false), "the last epoch");
        assert!(policy.save_at(at(3, 4, 34), true), "a stop");
        assert!(!policy.save_at(at(15, 1, 151), false), "mid-epoch");
        let steps = CheckpointPolicy {
            every_steps: 4,
            ..policy
        };
        assert!(steps.save_at(at(0, 8, 8), false));
        let eval = CheckpointPolicy {
            eval_every: 2,
            ..policy
        };
        assert!(eval.save_at(at(2, 0, 20), false), "an evaluated epoch");
        assert!(eval.evaluate_after(2) && eval.evaluate_after(40) && !eval.evaluate_after(3));
        assert!(!policy.evaluate_after(40), "no evaluation configured");
    }
}
