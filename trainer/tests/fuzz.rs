//! Damaged and crafted inputs, many of them: a CIFAR-10 batch and a real checkpoint,
//! mutated case by case. Each must load or be refused with an error — never a panic — and
//! a checkpoint changed behind its checksums must be refused naming the changed file.
//! (IDX, `.npy` and SVHN `.mat` have theirs beside their parsers and in `datasets.rs`.)
//!
//! `GANTRY_FUZZ_CASES` scales the number of cases (CI runs the default).

mod common;

use gantry_latent::{SplitMix64, Stream};
use gantry_trainer::data::{DatasetName, ImageDataset, Split};
use gantry_trainer::inference::TrainedRun;
use gantry_trainer::training::checkpoint::{self, CheckpointState};
use gantry_trainer::training::{TrainingConfig, resume, train};
use sha2::{Digest, Sha256};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// A reproducible stream (gantry's own SplitMix64), so a failing case replays from its number.
fn stream(seed: u64) -> SplitMix64 {
    SplitMix64::for_stream(seed, Stream::Sample, 0)
}

fn cases(default: usize) -> usize {
    std::env::var("GANTRY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One to three changes that always change the bytes: a flipped bit, a cut, an insertion.
fn mutate(rng: &mut SplitMix64, real: &[u8]) -> Vec<u8> {
    let mut file = real.to_vec();
    for _ in 0..1 + rng.index(3) {
        let at = rng.index(file.len());
        match rng.index(4) {
            0 | 1 => file[at] ^= 1 << rng.index(8),
            2 => file.truncate(at),
            _ => file.splice(at..at, [rng.next_u64() as u8]).for_each(drop),
        }
        if file.is_empty() {
            break;
        }
    }
    file
}

fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked"))
}

#[test]
fn mutated_cifar10_batches_load_or_are_refused_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let batches = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir_all(&batches).unwrap();
    let real: Vec<u8> = (0..3u8)
        .flat_map(|label| {
            std::iter::once(label).chain((0..3072).map(move |i| (i as u8).wrapping_mul(label + 3)))
        })
        .collect();
    let (mut loaded, mut refused) = (0, 0);
    let mut rng = stream(10);
    for case in 0..cases(1000) {
        let mut file = mutate(&mut rng, &real);
        // Labels are where a reader indexes by value: aim a third of the cases at them.
        if case % 3 == 0 {
            let record = rng.index(3) * 3073;
            if record < file.len() {
                file[record] = rng.next_u64() as u8;
            }
        }
        std::fs::write(batches.join("test_batch.bin"), &file).unwrap();
        let shape = DatasetName::Cifar10.image_shape();
        let result = no_panic(&format!("CIFAR-10 case {case}"), || {
            ImageDataset::load(DatasetName::Cifar10, dir.path(), Split::Test, shape, None)
        });
        match result {
            Ok(data) => {
                assert_eq!(
                    file.len() % 3073,
                    0,
                    "case {case}: a partial record was accepted"
                );
                assert_eq!(data.len(), file.len() / 3073);
                loaded += 1;
            }
            Err(e) => {
                assert!(e.to_string().contains("test_batch.bin"), "case {case}: {e}");
                refused += 1;
            }
        }
    }
    eprintln!(
        "CIFAR-10: {} cases, {loaded} loaded, {refused} refused",
        loaded + refused
    );
    assert!(loaded > 0 && refused > 0);
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Rewrite `state.json` so that its checksums cover what the folder now holds: the case
/// reaches the decoders behind them, as a crafted checkpoint would.
fn reseal(folder: &Path, state: &mut CheckpointState) {
    for (file, sum) in state.files.iter_mut() {
        if let Ok(bytes) = std::fs::read(folder.join(file)) {
            *sum = sha256_hex(&bytes);
        }
    }
    let text = checkpoint::sealed_json(state).unwrap();
    std::fs::write(folder.join("state.json"), text).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A state whose values are the extremes a crafted file would hold.
fn crafted_state(rng: &mut SplitMix64, real: &CheckpointState) -> CheckpointState {
    let mut state = real.clone();
    let extreme =
        |rng: &mut SplitMix64| [0, 1, 5, 6, 7, 1 << 20, u32::MAX as u64, u64::MAX][rng.index(8)];
    match rng.index(7) {
        0 => state.position.step = extreme(rng),
        1 => state.position.epoch = extreme(rng) as usize,
        2 => state.position.batch = extreme(rng) as usize,
        3 => state.rng.seed = extreme(rng),
        4 => state.model = ["", "cgan_mlp", "dcgan64", "pix2pix"][rng.index(4)].to_string(),
        5 => {
            let name = ["../config.json", "generator.bpk.old", "/etc/passwd"][rng.index(3)];
            let sum = state.files.remove("optim_d.bpk").unwrap_or_default();
            state.files.insert(name.to_string(), sum);
        }
        _ => state.format = [0, 1, 3, u32::MAX][rng.index(4)],
    }
    state
}

#[test]
fn mutated_and_crafted_checkpoints_are_refused_or_loaded_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    let config = common::tiny_config()
        .with_epochs(1)
        .with_checkpoint_every(2)
        .with_keep_checkpoints(1);
    train(&reference, &config, &common::options()).unwrap();
    let newest = checkpoint::resolve(&reference).unwrap();
    let name = newest.file_name().unwrap().to_owned();
    let real_state: CheckpointState =
        serde_json::from_slice(&std::fs::read(newest.join("state.json")).unwrap()).unwrap();
    let files = [
        "state.json",
        "generator.bpk",
        "discriminator.bpk",
        "optim_g.bpk",
        "optim_d.bpk",
    ];
    let device = burn::tensor::Device::flex().autodiff();

    let mut rng = stream(16);
    let (mut named, mut decoded_or_refused, mut crafted_resumed, mut crafted_refused) =
        (0, 0, 0, 0);
    for case in 0..cases(150) {
        let run = dir.path().join(format!("case-{case}"));
        copy_dir(&reference, &run);
        let folder: PathBuf = checkpoint::checkpoints_dir(&run).join(&name);
        let what = format!("checkpoint case {case}");
        match case % 3 {
            // Changed behind the checksums: refused, and the error names the file.
            0 => {
                let file = files[rng.index(files.len())];
                let path = folder.join(file);
                let bytes = mutate(&mut rng, &std::fs::read(&path).unwrap());
                std::fs::write(&path, bytes).unwrap();
                let error = no_panic(&what, || checkpoint::load(&folder, &config, &device))
                    .err()
                    .unwrap_or_else(|| panic!("{what}: a changed {file} was loaded"));
                assert!(format!("{error:#}").contains(file), "{what}: {error:#}");
                named += 1;
            }
            // Changed and resealed: the record decoders see damaged bytes.
            1 => {
                let file = files[1 + rng.index(files.len() - 1)];
                let path = folder.join(file);
                let bytes = mutate(&mut rng, &std::fs::read(&path).unwrap());
                std::fs::write(&path, bytes).unwrap();
                reseal(&folder, &mut real_state.clone());
                no_panic(&what, || {
                    let _ = checkpoint::load(&folder, &config, &device);
                    let _ = TrainedRun::open(&folder, &burn::tensor::Device::flex());
                });
                decoded_or_refused += 1;
            }
            // A sealed state with extreme values: loading, sampling and resuming it either
            // work or say why.
            _ => {
                let mut state = crafted_state(&mut rng, &real_state);
                reseal(&folder, &mut state);
                let resumed = no_panic(&what, || {
                    let _ = TrainedRun::open(&folder, &burn::tensor::Device::flex());
                    resume(&run, None, &common::options())
                });
                match resumed {
                    Ok(summary) => {
                        if std::env::var_os("GANTRY_FUZZ_VERBOSE").is_some() {
                            eprintln!("{what}: resumed to step {}", summary.steps);
                        }
                        crafted_resumed += 1
                    }
                    Err(e) => {
                        let text = format!("{e:#}");
                        assert!(!text.is_empty(), "{what}: an empty error");
                        if std::env::var_os("GANTRY_FUZZ_VERBOSE").is_some() {
                            eprintln!("{what}: {text}");
                        }
                        crafted_refused += 1;
                    }
                }
            }
        }
        std::fs::remove_dir_all(&run).ok();
    }
    eprintln!(
        "checkpoints: {named} changed files named, {decoded_or_refused} resealed damaged files \
         decoded or refused, crafted states: {crafted_resumed} resumed, {crafted_refused} refused"
    );
    assert!(named > 0 && decoded_or_refused > 0 && crafted_refused > 0);
}

/// The harness itself: resealing an intact checkpoint rewrites the very same `state.json`,
/// so the resealed cases above do reach the decoders.
#[test]
fn the_unmutated_reference_loads() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config: TrainingConfig = common::tiny_config()
        .with_epochs(1)
        .with_checkpoint_every(2);
    train(&run, &config, &common::options()).unwrap();
    let newest = checkpoint::resolve(&run).unwrap();
    let written = std::fs::read(newest.join("state.json")).unwrap();
    let mut state: CheckpointState = serde_json::from_slice(&written).unwrap();
    reseal(&newest, &mut state);
    assert_eq!(
        std::fs::read(newest.join("state.json")).unwrap(),
        written,
        "reseal changed an intact state"
    );
    checkpoint::load(&newest, &config, &burn::tensor::Device::flex().autodiff()).unwrap();
    TrainedRun::open(&run, &burn::tensor::Device::flex()).unwrap();
}
