//! What a person looks at: sample grids and loss plots as PNG files, the run's
//! progression as an animated GIF, and TensorBoard event files.
//!
//! Both are written to a temporary file and renamed into place, so a viewer never sees a
//! half-written image and an old one survives a failed write.

pub mod grid;
pub mod plot;
pub mod progress;
pub mod tensorboard;

pub use grid::{save_grid, save_strip, write_png_atomic};
pub use plot::save_loss_plot;
pub use progress::save_progress_gif;
