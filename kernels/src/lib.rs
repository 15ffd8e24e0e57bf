//! gantry's convolution kernels on contiguous `f32` slices (NCHW), shared by the trainer's
//! CPU backend (`gantry-trainer`'s `kernels`, which adds burn's tensors and autodiff around
//! them) and the browser runtime (`gantry-web`'s Conv and ConvTranspose): one description of
//! how a convolution is computed, so training and the page cannot drift.
//!
//! - [`window`]: a convolution's sliding window, and planar `im2col` / `col2im` over the
//!   whole batch.
//! - [`channels_last`]: the same column matrices from NHWC, whole channel vectors per copy.
//! - [`conv`]: the three products a (transposed) convolution is made of, each one gemm.
//! - [`buffer`]: output buffers written whole in parallel chunks, never zeroed first.

pub mod buffer;
pub mod channels_last;
pub mod conv;
pub mod window;

#[cfg(test)]
mod testing;

pub use window::Window;
