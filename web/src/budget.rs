//! The memory budget: how many bytes of tensors one generator may hold, stated so a page
//! can trust a file it did not write. Every size a file decides (a ConstantOfShape, a Pad,
//! a Resize factor, a ConvTranspose stride, the weights themselves) is checked against it
//! before allocating, and a run stops with an error, not an out-of-memory abort, once the
//! values it holds pass it. A page on a small device lowers it (`setMemoryBudget` in JS).

use std::sync::atomic::{AtomicUsize, Ordering};

/// 1 GiB: far above any generator gantry ships (the largest holds ~15 MB of weights and
/// ~100 MB of activations at batch 64), far below what makes a tab die.
pub const DEFAULT_BYTES: usize = 1 << 30;

static BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_BYTES);

/// The budget in bytes.
pub fn bytes() -> usize {
    BYTES.load(Ordering::Relaxed)
}

/// Set the budget for every later load and run (at least 1 MiB).
pub fn set_bytes(bytes: usize) {
    BYTES.store(bytes.max(1 << 20), Ordering::Relaxed);
}

/// The most float32 values one tensor may have.
pub fn max_values() -> usize {
    bytes() / 4
}

/// `dims`' element count, refused past the budget (or on overflow) with `what` named.
pub fn check_values(dims: &[usize], what: &str) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= max_values())
        .ok_or_else(|| {
            format!(
                "{what} of shape {dims:?} would pass the memory budget of {} MiB (setMemoryBudget raises it)",
                bytes() >> 20
            )
        })
}
