//! Output buffers that a kernel writes whole, in parallel: allocated without zeroing,
//! and split into rayon tasks big enough to be worth scheduling.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// A vector of `len` values built in parallel chunks of `chunk`: `fill(i, chunk)` writes
/// chunk `i`. Not zeroed first: with the heap kept by `device::keep_freed_memory`, a
/// zeroed allocation is a `memset` (5% of a DCGAN step in `perf`) of values that are all
/// overwritten.
///
/// # Safety
///
/// `fill` must write every element of the chunk it is given.
pub unsafe fn written_in_chunks(
    len: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync,
) -> Vec<f32> {
    let mut out = Vec::<f32>::with_capacity(len);
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(chunk.max(1))
        .with_min_len(chunks_per_task(chunk))
        .enumerate()
        .for_each(|(i, part)| fill(i, part));
    // SAFETY: the caller's `fill` wrote every element of every chunk, and the chunks
    // cover the first `len` elements.
    unsafe { out.set_len(len) };
    out
}

/// How many chunks of `chunk` values one rayon task takes at least: a task of a few
/// hundred values (one 7×7 plane) costs more to schedule than to run.
pub fn chunks_per_task(chunk: usize) -> usize {
    const VALUES_PER_TASK: usize = 1 << 14;
    (VALUES_PER_TASK / chunk.max(1)).max(1)
}

/// `dst = src` for a destination not yet written.
pub fn copy(dst: &mut [MaybeUninit<f32>], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = MaybeUninit::new(*s);
    }
}
