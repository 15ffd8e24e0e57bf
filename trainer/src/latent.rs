//! The seeded random streams, shared with the browser runtime (crate `gantry-latent`).

pub use gantry_latent::*;
