//! Catching a run that has diverged before it is called finished: not only NaN and
//! infinity (the loop stops on those at once) but losses past a bound and a generator
//! whose outputs sit at ±1, each for `patience` steps in a row, so that one wild step does
//! not stop a healthy run.

use super::step::StepStats;
use serde::{Deserialize, Serialize};

/// What a run does once it has diverged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnDivergence {
    /// Stop with an error (non-zero exit) naming the newest checkpoint from before it.
    #[default]
    Stop,
    /// Go back to the newest checkpoint from before it with the learning rate times `lr_factor` (saved in
    /// `config.json`), at most `max_rollbacks` times, then stop.
    Rollback,
}

/// When a run counts as diverged, and what it does then (`[divergence]` in a config).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DivergenceConfig {
    /// A loss whose magnitude passes this is divergence. BCE losses of a working GAN stay
    /// under ~20 and a WGAN-GP critic's under ~10³.
    pub max_loss: f32,
    /// The generator has collapsed when more than this fraction of its batch's values is
    /// at ±1. Real MNIST batches have ~82% of their pixels at 0 or 255 (Fashion-MNIST ~51%),
    /// so a healthy digit generator sits well below the default 0.99.
    pub max_saturated: f32,
    /// Steps in a row past a bound before the run counts as diverged.
    pub patience: usize,
    pub action: OnDivergence,
    /// Rollback: the learning rate is multiplied by this.
    pub lr_factor: f64,
    /// Rollback: at most this many times in one `gantry train` before it stops.
    pub max_rollbacks: usize,
}

impl Default for DivergenceConfig {
    fn default() -> Self {
        Self {
            max_loss: 1e4,
            max_saturated: 0.99,
            patience: 20,
            action: OnDivergence::Stop,
            lr_factor: 0.5,
            max_rollbacks: 3,
        }
    }
}

impl DivergenceConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.max_loss.is_nan() || self.max_loss <= 0.0 {
            return Err(format!(
                "divergence.max_loss must be positive, got {}",
                self.max_loss
            ));
        }
        if !(0.0..=1.0).contains(&self.max_saturated) || self.max_saturated == 0.0 {
            return Err(format!(
                "divergence.max_saturated must be in (0, 1], got {}",
                self.max_saturated
            ));
        }
        if self.patience == 0 {
            return Err("divergence.patience must be at least 1".into());
        }
        if !(self.lr_factor > 0.0 && self.lr_factor < 1.0) || self.lr_factor.is_nan() {
            return Err(format!(
                "divergence.lr_factor must be in (0, 1), got {}",
                self.lr_factor
            ));
        }
        Ok(())
    }
}

/// Counts the steps in a row past a bound.
#[derive(Debug, Clone)]
pub struct DivergenceGuard {
    config: DivergenceConfig,
    bad_in_a_row: usize,
    /// The step (counted from 1) whose figures were the first of the current bad streak.
    first_bad: u64,
}

/// A run found diverged: why, and the newest state that was still sound.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub reason: String,
    /// The figures of step `k` are those of the state after `k − 1` updates: the first
    /// bad step `k` condemns that state, and the last sound one has `k − 2` steps done.
    pub last_sound_step: Option<u64>,
}

impl DivergenceGuard {
    pub fn new(config: DivergenceConfig) -> Self {
        Self {
            config,
            bad_in_a_row: 0,
            first_bad: 0,
        }
    }

    /// Look at the figures of `step` (counted from 1); a verdict once the run has diverged.
    pub fn observe(&mut self, step: u64, stats: &StepStats) -> Option<Verdict> {
        if self.bad_in_a_row == 0 {
            self.first_bad = step;
        }
        let last_sound_step = self.first_bad.checked_sub(2);
        if !stats.is_finite() {
            return Some(Verdict {
                reason: format!("a figure is not finite: {stats:?}"),
                last_sound_step,
            });
        }
        let c = &self.config;
        let loss = stats.loss_d.abs().max(stats.loss_g.abs());
        let why = if loss > c.max_loss {
            format!(
                "a loss of {loss:.3e}, past divergence.max_loss = {:e}",
                c.max_loss
            )
        } else if stats.saturated > c.max_saturated {
            format!(
                "{:.1}% of the generator's values at ±1 (divergence.max_saturated = {})",
                100.0 * stats.saturated,
                c.max_saturated
            )
        } else {
            self.bad_in_a_row = 0;
            return None;
        };
        self.bad_in_a_row += 1;
        (self.bad_in_a_row >= c.patience).then(|| Verdict {
            reason: format!("{why} for {} steps in a row", self.bad_in_a_row),
            last_sound_step,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(loss: f32, saturated: f32) -> StepStats {
        StepStats {
            loss_d: 0.7,
            loss_g: loss,
            d_real: 0.5,
            d_fake: 0.5,
            saturated,
        }
    }

    #[test]
    fn a_bound_passed_patience_times_in_a_row_is_divergence() {
        let config = DivergenceConfig {
            patience: 3,
            ..DivergenceConfig::default()
        };
        let mut guard = DivergenceGuard::new(config);
        assert_eq!(guard.observe(1, &stats(1e9, 0.0)), None);
        assert_eq!(guard.observe(2, &stats(1e9, 0.0)), None);
        assert_eq!(
            guard.observe(3, &stats(1.0, 0.1)),
            None,
            "a good step resets the count"
        );
        assert_eq!(guard.observe(4, &stats(1.0, 0.995)), None);
        assert_eq!(guard.observe(5, &stats(2e4, 0.0)), None);
        let verdict = guard.observe(6, &stats(1.0, 1.0)).expect("three bad steps");
        let why = &verdict.reason;
        assert!(
            why.contains("100.0% of the generator's values at ±1"),
            "{why}"
        );
        assert!(why.contains("3 steps in a row"), "{why}");
        assert_eq!(
            verdict.last_sound_step,
            Some(2),
            "step 4's figures condemn state 3"
        );
    }

    #[test]
    fn a_non_finite_figure_is_divergence_at_once() {
        let mut guard = DivergenceGuard::new(DivergenceConfig::default());
        let verdict = guard.observe(1, &stats(f32::NAN, 0.0)).unwrap();
        assert_eq!(verdict.last_sound_step, None, "not even the initial state");
    }

    #[test]
    fn nonsense_settings_are_refused_by_name() {
        let bad = DivergenceConfig {
            lr_factor: 2.0,
            ..DivergenceConfig::default()
        };
        assert!(bad.check().unwrap_err().contains("divergence.lr_factor"));
    }
}
