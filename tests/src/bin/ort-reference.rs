//! What ONNX Runtime makes of a generator for a seed, for the browser tests to compare with:
//!
//!   ort-reference MODEL.onnx SEED N OUT.f32 [LABEL|rows]   (little-endian float32, NCHW)
//!   ort-reference MODEL.onnx sources IN.f32 OUT.f32        (an upscaler's source images)
//!
//! The latents are `sampleLatent(SEED, count, latent)`, exactly what the page draws. A
//! conditional model gets label LABEL for every image, or with `rows` one row per class,
//! laid out by the contract's `GridLayout` as the page and `gantry sample` lay it out
//! (so `count` is `classes × ⌈√N⌉` there).
//! An upscaler (Pix2Pix) gets the source images the page made, read from IN.f32.

use anyhow::Context;
use gantry_exporter::runtime::OrtGenerator;
use gantry_latent::{Stream, normal_batch};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [model, mode, input, out] = args.as_slice()
        && mode == "sources"
    {
        return translate(model, input, out);
    }
    let (model, seed, n, out, label) = match args.as_slice() {
        [model, seed, n, out] => (model, seed, n, out, None),
        [model, seed, n, out, label] => (model, seed, n, out, Some(label.as_str())),
        _ => anyhow::bail!("usage: ort-reference MODEL.onnx SEED N OUT.f32 [LABEL|rows]"),
    };
    let (seed, n): (u64, usize) = (seed.parse().context("SEED")?, n.parse().context("N")?);
    let mut generator = OrtGenerator::open(model.as_ref())?;
    // The latent size, read from the file by gantry's own runtime.
    let ours = gantry_web::Generator::from_bytes(&std::fs::read(model)?)
        .map_err(|e| anyhow::anyhow!("{model}: {e}"))?;
    let latent = ours.latent_dim();
    let label = match label {
        None | Some("rows") => None,
        Some(k) => Some(k.parse::<i64>().context("LABEL")?),
    };
    let layout = ours
        .grid_layout(n, label)
        .map_err(|e| anyhow::anyhow!("{model}: {e}"))?;
    let z = normal_batch(seed, Stream::Sample, 0, layout.count, latent);
    let (values, shape) = generator.generate(&z, layout.count, layout.labels.as_deref())?;
    write_f32(out, &values)?;
    println!("{shape:?}");
    Ok(())
}

fn translate(model: &str, input: &str, out: &str) -> anyhow::Result<()> {
    let ours = gantry_web::Generator::from_bytes(&std::fs::read(model)?)
        .map_err(|e| anyhow::anyhow!("{model}: {e}"))?;
    let [c, h, w] = ours
        .source_shape()
        .with_context(|| format!("{model}: not an upscaler (no image input)"))?;
    let bytes = std::fs::read(input).with_context(|| format!("{input}: cannot read"))?;
    let sources: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    anyhow::ensure!(
        !sources.is_empty() && sources.len() % (c * h * w) == 0,
        "{input}: {} values are not whole [{c}, {h}, {w}] images",
        sources.len()
    );
    let n = sources.len() / (c * h * w);
    let (values, shape) = OrtGenerator::open(model.as_ref())?.translate(&sources, [n, c, h, w])?;
    write_f32(out, &values)?;
    println!("{shape:?}");
    Ok(())
}

fn write_f32(path: &str, values: &[f32]) -> anyhow::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).with_context(|| format!("{path}: cannot write"))
}
