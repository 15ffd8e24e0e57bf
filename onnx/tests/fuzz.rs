//! The shared ONNX decoding faced with damaged files: the page's shipped models (real
//! gantry exports), mutated byte by byte, truncated, spliced. Every case must decode to a
//! model or an error; whatever decodes is then read as a consumer reads it (metadata,
//! every initializer's shape and values, the graph's declared dimensions) without a panic.
//!
//! `GANTRY_FUZZ_CASES` sets the number of mutated files (CI runs the default).

use gantry_latent::{SplitMix64, Stream};
use gantry_onnx::contract::ModelMetadata;
use gantry_onnx::{DimensionValue, ModelProto};
use prost::Message;
use std::path::PathBuf;

/// A reproducible stream (gantry's own SplitMix64), so a failing case replays from its number.
fn stream(seed: u64) -> SplitMix64 {
    SplitMix64::for_stream(seed, Stream::Sample, 0)
}

fn cases() -> usize {
    std::env::var("GANTRY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// A byte position: protobuf structure (tags, lengths) sits at both ends of an export — the
/// graph's nodes first, the metadata last — and between initializers; raw weights fill the
/// rest, where a flipped byte changes only a value.
fn position(rng: &mut SplitMix64, len: usize) -> usize {
    match rng.index(4) {
        0 => rng.index(len.min(4096)),
        1 => len - 1 - rng.index(len.min(4096)),
        _ => rng.index(len),
    }
}

fn mutate(rng: &mut SplitMix64, real: &[u8]) -> Vec<u8> {
    let mut file = real.to_vec();
    for _ in 0..1 + rng.index(4) {
        let at = position(rng, file.len());
        match rng.index(6) {
            // Values that matter to varints: continuation bit, all ones, zero.
            0 => file[at] = [0x00, 0x7f, 0x80, 0xff][rng.index(4)],
            1 => file[at] = rng.next_u64() as u8,
            2 => file[at] ^= 1 << rng.index(8),
            3 => file.truncate(at.max(1)),
            4 => {
                let bytes: Vec<u8> = (0..1 + rng.index(10))
                    .map(|_| rng.next_u64() as u8)
                    .collect();
                file.splice(at..at, bytes);
            }
            _ => {
                let from = position(rng, file.len());
                let len = rng.index(64).min(file.len() - from);
                let slice = file[from..from + len].to_vec();
                file.splice(at..at, slice);
            }
        }
        if file.is_empty() {
            break;
        }
    }
    file
}

/// Everything a consumer reads from a decoded file, errors allowed.
fn read_like_a_consumer(model: &ModelProto) {
    let _ = ModelMetadata::from_props(&model.metadata_props);
    let Some(graph) = &model.graph else { return };
    for tensor in &graph.initializer {
        let _ = tensor.shape();
        let _ = tensor.element_count();
        let _ = tensor.f32_values();
        let _ = tensor.i64_values();
    }
    for value in graph.input.iter().chain(&graph.output) {
        let dims = value
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .and_then(|t| t.shape.as_ref())
            .map(|s| s.dim.as_slice())
            .unwrap_or_default();
        for dim in dims {
            if let Some(DimensionValue::DimValue(v)) = dim.value {
                let _ = usize::try_from(v);
            }
        }
    }
}

#[test]
fn mutated_exports_decode_or_are_refused_never_a_panic() {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www/models");
    let files = [
        "mnist-cgan.onnx",
        "faces-upscale.onnx",
        "faces.onnx",
        "fashion-mnist-cgan.onnx",
    ];
    let reals: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(models.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect();
    for real in &reals {
        let model = ModelProto::decode(real.as_slice()).unwrap();
        assert!(
            ModelMetadata::from_props(&model.metadata_props)
                .unwrap()
                .is_some()
        );
    }
    let (mut decoded, mut with_metadata, mut refused) = (0, 0, 0);
    let mut rng = stream(0x5eed);
    for case in 0..cases() {
        let which = rng.index(reals.len());
        let file = mutate(&mut rng, &reals[which]);
        let outcome = std::panic::catch_unwind(|| match ModelProto::decode(file.as_slice()) {
            Ok(model) => {
                read_like_a_consumer(&model);
                Some(matches!(
                    ModelMetadata::from_props(&model.metadata_props),
                    Ok(Some(_))
                ))
            }
            Err(_) => None,
        });
        match outcome {
            Ok(Some(meta)) => {
                decoded += 1;
                with_metadata += usize::from(meta);
            }
            Ok(None) => refused += 1,
            Err(_) => panic!("case {case} (a mutation of {}) panicked", files[which]),
        }
    }
    eprintln!(
        "{} cases: {decoded} decoded ({with_metadata} with valid gantry metadata), {refused} refused",
        cases()
    );
    assert!(
        decoded > 0 && refused > 0,
        "the mutations neither broke nor spared any file"
    );
}
