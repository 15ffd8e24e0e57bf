//! The browser runtime faced with damaged files: the page's shipped models, mutated (bit
//! flips, varint bytes, cuts, insertions, splices). Each case loads or is refused; what
//! loads draws one image or says why — never a panic (in wasm a panic kills the worker).
//!
//! `GANTRY_FUZZ_CASES` sets the number of cases (CI runs the default).

use gantry_latent::{SplitMix64, Stream};
use gantry_web::Generator;
use std::path::PathBuf;

/// A reproducible stream (gantry's own SplitMix64), so a failing case replays from its number.
fn stream(seed: u64) -> SplitMix64 {
    SplitMix64::for_stream(seed, Stream::Sample, 0)
}

/// Mostly where the structure is (graph first, metadata last), sometimes anywhere.
fn position(rng: &mut SplitMix64, len: usize) -> usize {
    match rng.index(4) {
        0 => rng.index(len.min(4096)),
        1 => len - 1 - rng.index(len.min(4096)),
        _ => rng.index(len),
    }
}

fn mutate(rng: &mut SplitMix64, real: &[u8]) -> Vec<u8> {
    let mut file = real.to_vec();
    for _ in 0..1 + rng.index(3) {
        if file.is_empty() {
            break;
        }
        let at = position(rng, file.len());
        match rng.index(5) {
            0 => file[at] = [0x00, 0x7f, 0x80, 0xff][rng.index(4)],
            1 => file[at] ^= 1 << rng.index(8),
            2 => file.truncate(at.max(1)),
            3 => file.splice(at..at, [rng.next_u64() as u8]).for_each(drop),
            _ => {
                let from = position(rng, file.len());
                let len = rng.index(64).min(file.len() - from);
                let slice = file[from..from + len].to_vec();
                file.splice(at..at, slice).for_each(drop);
            }
        }
    }
    file
}

#[test]
fn mutated_models_load_and_draw_or_are_refused_never_a_panic() {
    let cases: usize = std::env::var("GANTRY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www/models");
    // The two small ones: each loaded case also draws an image.
    let files = ["mnist-cgan.onnx", "faces-upscale.onnx"];
    let reals: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(models.join(f)).unwrap())
        .collect();
    let (mut drew, mut refused_at_load, mut refused_at_run) = (0, 0, 0);
    let mut rng = stream(0xfeed);
    for case in 0..cases {
        let which = rng.index(files.len());
        let file = mutate(&mut rng, &reals[which]);
        let outcome = std::panic::catch_unwind(|| {
            let generator = match Generator::from_bytes(&file) {
                Ok(g) => g,
                Err(_) => return 0,
            };
            let one: usize = generator.input_shape().iter().product();
            let labels = generator.is_conditional().then(|| vec![0i64]);
            match generator.generate(&vec![0.1; one], labels.as_deref()) {
                Ok(_) => 2,
                Err(_) => 1,
            }
        });
        match outcome {
            Ok(0) => refused_at_load += 1,
            Ok(1) => refused_at_run += 1,
            Ok(_) => drew += 1,
            Err(_) => panic!("case {case} (a mutation of {}) panicked", files[which]),
        }
    }
    eprintln!(
        "{cases} cases: {drew} drew an image, {refused_at_load} refused at load, {refused_at_run} refused when run"
    );
    assert!(drew > 0 && refused_at_load > 0);
}
