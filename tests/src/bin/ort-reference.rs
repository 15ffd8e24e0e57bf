//! What ONNX Runtime makes of a generator for a seed, for the browser tests to compare with:
//!
//!   ort-reference MODEL.onnx SEED N OUT.f32     (little-endian float32, NCHW)
//!
//! The latents are `sampleLatent(SEED, N, latent)`, exactly what the page draws.

use anyhow::Context;
use gantry_exporter::runtime::OrtGenerator;
use gantry_latent::{Stream, normal_batch};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, seed, n, out] = args.as_slice() else {
        anyhow::bail!("usage: ort-reference MODEL.onnx SEED N OUT.f32");
    };
    let (seed, n): (u64, usize) = (seed.parse().context("SEED")?, n.parse().context("N")?);
    let mut generator = OrtGenerator::open(model.as_ref())?;
    // The latent size, read from the file by gantry's own runtime.
    let latent = gantry_web::Generator::from_bytes(&std::fs::read(model)?)
        .map_err(|e| anyhow::anyhow!("{model}: {e}"))?
        .latent_dim();
    let z = normal_batch(seed, Stream::Sample, 0, n, latent);
    let (values, shape) = generator.generate(&z, n, None)?;
    std::fs::write(
        out,
        values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )?;
    println!("{shape:?}");
    Ok(())
}
