//! The memory budget holds: weights past it are refused at load, a run whose values pass
//! it stops with an error (not an out-of-memory abort), and the default runs the page's
//! models. Its own test binary: the budget is process-wide.

use gantry_web::{Generator, budget};
use std::path::PathBuf;

fn model(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../www/models")
            .join(name),
    )
    .unwrap()
}

#[test]
fn loads_and_runs_stay_within_the_budget() {
    let faces = model("faces.onnx"); // ~3 MB of weights
    assert_eq!(budget::bytes(), budget::DEFAULT_BYTES);

    budget::set_bytes(2 << 20);
    let err = Generator::from_bytes(&faces).unwrap_err().to_string();
    assert!(
        err.contains("the weights pass the memory budget of 2 MiB"),
        "{err}"
    );

    budget::set_bytes(16 << 20);
    let generator = Generator::from_bytes(&faces).unwrap();
    // 512 images: the largest activations alone pass 16 MiB (a run frees each value after
    // its last reader, so the budget bounds what is live, not everything computed).
    let z = vec![0.1f32; 512 * generator.latent_dim()];
    let err = generator.generate(&z, None).unwrap_err().to_string();
    // Refused where a tensor of the run would pass it, or the live values together do.
    assert!(err.contains("memory budget of 16 MiB"), "{err}");
    // One image fits.
    generator
        .generate(&z[..generator.latent_dim()], None)
        .unwrap();

    budget::set_bytes(budget::DEFAULT_BYTES);
    let (images, shape) = generator.generate(&z, None).unwrap();
    assert_eq!(shape[0], 512);
    assert_eq!(images.len(), shape.iter().product::<usize>());
}
