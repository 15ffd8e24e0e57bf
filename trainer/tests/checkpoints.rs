//! Checkpoints a user can choose and trust: damaged ones are passed over with a warning,
//! any one can be resumed from, `state.json` is covered by a checksum, a run stopped before
//! its first checkpoint resumes from step 0, and a diverged run is stopped (or rolled back).

mod common;

use gantry_trainer::inference::TrainedRun;
use gantry_trainer::training::checkpoint::{self, Need};
use gantry_trainer::training::divergence::{DivergenceConfig, OnDivergence};
use gantry_trainer::training::metrics;
use gantry_trainer::training::run::Diverged;
use gantry_trainer::training::{TrainingConfig, resume, resume_from, train};
use std::path::{Path, PathBuf};

/// 6 steps in one epoch, a checkpoint after every second: step-2, step-4, step-6.
fn config() -> TrainingConfig {
    common::tiny_config()
        .with_epochs(1)
        .with_checkpoint_every(2)
        .with_keep_checkpoints(3)
}

fn losses(run: &Path) -> Vec<(u64, f32, f32)> {
    metrics::read(&metrics::metrics_path(run))
        .unwrap()
        .iter()
        .map(|r| (r.step, r.loss_d, r.loss_g))
        .collect()
}

/// The newest checkpoint's generator weights (the files also hold per-process parameter
/// ids, so their bytes differ between runs even when the weights do not).
fn generator_weights(run: &Path) -> Vec<(String, Vec<f32>)> {
    let newest = checkpoint::resolve(run).unwrap();
    let config = TrainingConfig::from_file(&run.join("config.json")).unwrap();
    let (state, _) =
        checkpoint::load(&newest, &config, &burn::tensor::Device::flex().autodiff()).unwrap();
    common::tensors(&state.generator)
}

fn same_generator(a: &Path, b: &Path) {
    let diff = common::max_abs_diff(&generator_weights(a), &generator_weights(b));
    assert_eq!(
        diff,
        0.0,
        "generators of {} and {} differ",
        a.display(),
        b.display()
    );
}

fn step(run: &Path, n: u64) -> PathBuf {
    checkpoint::checkpoints_dir(run).join(format!("step-{n:08}"))
}

/// One straight run, shared by the tests below as the reference.
fn straight(dir: &Path) -> PathBuf {
    let run = dir.join("straight");
    train(&run, &config(), &common::options()).unwrap();
    run
}

fn copy_run(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_damaged_newest_checkpoint_is_passed_over_and_the_run_still_ends_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let reference = straight(dir.path());

    // Only the discriminator's optimiser of the newest is bad: sample and export still
    // use it (they need the generator only); a resumed run cannot, and takes step-4.
    let run = dir.path().join("optim-d");
    copy_run(&reference, &run);
    let bad = step(&run, 6).join("optim_d.bpk");
    std::fs::write(&bad, b"not an optimiser").unwrap();
    assert_eq!(
        checkpoint::resolve_for(&run, Need::Generator).unwrap(),
        step(&run, 6)
    );
    assert_eq!(checkpoint::resolve(&run).unwrap(), step(&run, 4));
    let opened = TrainedRun::open(&run, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(opened.checkpoint, step(&run, 6));
    assert!(opened.position.step == 6);

    // Resumed from step-4 (step-6 set aside), it trains steps 5 and 6 again: same losses,
    // same generator as the straight run.
    let summary = resume(&run, None, &common::options()).unwrap();
    assert!(summary.finished);
    assert_eq!(losses(&run), losses(&reference));
    same_generator(&run, &reference);
    let aside = checkpoint::checkpoints_dir(&run).join("superseded-step-00000006");
    assert!(
        aside.join("optim_d.bpk").exists(),
        "the damaged one is kept aside, not deleted"
    );
}

#[test]
fn state_json_is_covered_by_its_own_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let reference = straight(dir.path());

    // One digit of the position changed: blamed on state.json, not on a network file.
    let run = dir.path().join("edited");
    copy_run(&reference, &run);
    let state = step(&run, 6).join("state.json");
    let text = std::fs::read_to_string(&state).unwrap();
    let edited = text.replacen("\"step\": 6", "\"step\": 5", 1);
    assert_ne!(text, edited);
    std::fs::write(&state, edited).unwrap();
    let err = format!(
        "{:#}",
        checkpoint::read_state(&step(&run, 6), Need::Everything).unwrap_err()
    );
    assert!(err.contains("state.json: altered or corrupt"), "{err}");
    assert!(!err.contains("generator.bpk"), "{err}");
    assert_eq!(checkpoint::resolve(&run).unwrap(), step(&run, 4));

    // state.json deleted: that folder is incomplete, the one before it is used.
    let run = dir.path().join("deleted");
    copy_run(&reference, &run);
    std::fs::remove_file(step(&run, 6).join("state.json")).unwrap();
    assert_eq!(checkpoint::resolve(&run).unwrap(), step(&run, 4));

    // Every checkpoint damaged: refused, not started over.
    for n in [2, 4] {
        std::fs::write(step(&run, n).join("generator.bpk"), b"").unwrap();
    }
    let err = format!("{:#}", resume(&run, None, &common::options()).unwrap_err());
    assert!(
        err.contains("no sound checkpoint: all 3 are damaged"),
        "{err}"
    );
}

#[test]
fn any_checkpoint_can_be_resumed_from_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let reference = straight(dir.path());
    let run = dir.path().join("from-2");
    copy_run(&reference, &run);
    let err = format!(
        "{:#}",
        resume_from(&run, Some("step-00000003"), None, &common::options()).unwrap_err()
    );
    assert!(
        err.contains("this run has: step-00000002, step-00000004, step-00000006"),
        "{err}"
    );
    let summary = resume_from(&run, Some("step-00000002"), None, &common::options()).unwrap();
    assert_eq!(summary.steps, 6);
    assert_eq!(losses(&run), losses(&reference));
    same_generator(&run, &reference);
    // A plain resume afterwards finds the new timeline's step-6, not the superseded one.
    assert_eq!(checkpoint::resolve(&run).unwrap(), step(&run, 6));
    assert!(
        checkpoint::checkpoints_dir(&run)
            .join("superseded-step-00000004")
            .exists()
    );
}

#[test]
fn a_run_stopped_before_its_first_checkpoint_resumes_from_step_zero() {
    let dir = tempfile::tempdir().unwrap();
    let reference = straight(dir.path());
    // What a kill before the first checkpoint leaves: config.json, some metrics lines
    // (one cut in half) and a half-written checkpoint folder.
    let run = dir.path().join("early");
    std::fs::create_dir_all(checkpoint::checkpoints_dir(&run).join(".step-00000002.tmp-4242"))
        .unwrap();
    std::fs::copy(reference.join("config.json"), run.join("config.json")).unwrap();
    let lines = std::fs::read_to_string(metrics::metrics_path(&reference)).unwrap();
    std::fs::write(metrics::metrics_path(&run), &lines[..lines.len() / 3]).unwrap();

    let summary = resume(&run, None, &common::options()).unwrap();
    assert!(summary.finished);
    assert_eq!(losses(&run), losses(&reference));
    same_generator(&run, &reference);
    let left: Vec<_> = std::fs::read_dir(checkpoint::checkpoints_dir(&run))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "leftovers: {left:?}");
}

/// Killed after the last step's checkpoint but before that epoch's grid was drawn: the
/// resumed run, with nothing left to train, draws it (the same grid), rather than
/// "finishing" without it.
#[test]
fn a_kill_between_an_epochs_checkpoint_and_its_grid_is_made_good_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let reference = straight(dir.path());
    let run = dir.path().join("no-grid");
    copy_run(&reference, &run);
    let grid = run.join("samples/epoch-001.png");
    std::fs::remove_file(&grid).unwrap();
    resume(&run, None, &common::options()).unwrap();
    assert_eq!(
        std::fs::read(&grid).expect("the resumed run drew the missing grid"),
        std::fs::read(reference.join("samples/epoch-001.png")).unwrap()
    );
    assert_eq!(losses(&run), losses(&reference));
}

fn diverging(action: OnDivergence) -> TrainingConfig {
    config()
        .with_lr(1e6)
        .with_checkpoint_every(1)
        .with_divergence(DivergenceConfig {
            patience: 2,
            action,
            max_rollbacks: 2,
            lr_factor: 0.1,
            ..DivergenceConfig::default()
        })
}

#[test]
fn a_diverged_run_stops_naming_a_checkpoint_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("lr-1e6");
    let error = train(&run, &diverging(OnDivergence::Stop), &common::options()).unwrap_err();
    let diverged = error
        .downcast_ref::<Diverged>()
        .expect("a divergence, not another error");
    assert!(diverged.step < 6, "caught before the end: {diverged}");
    let message = diverged.to_string();
    match &diverged.go_back_to {
        Some(last) => {
            assert!(last.join("state.json").exists(), "{message}");
            assert!(message.contains(&last.display().to_string()), "{message}");
        }
        None => assert!(
            message.contains("no checkpoint from before it"),
            "{message}"
        ),
    }
    // Never "finished": and the checkpoints it wrote while diverging are not offered.
    assert!(!message.contains("step-00000002"), "{message}");
}

#[test]
fn a_diverged_run_can_roll_back_with_a_lower_learning_rate() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("rollback");
    // Two sound steps at a sane lr, then the saved lr is made absurd.
    let sane = diverging(OnDivergence::Rollback).with_lr(2e-4);
    train(&run, &sane, &common::stopping_after(2)).unwrap();
    let absurd = sane.with_lr(1e6);
    std::fs::write(
        run.join("config.json"),
        serde_json::to_vec_pretty(&absurd).unwrap(),
    )
    .unwrap();

    let error = resume(&run, None, &common::options()).unwrap_err();
    let diverged = error
        .downcast_ref::<Diverged>()
        .expect("a divergence, not another error");
    // Each rollback goes back to the newest checkpoint from before the figures went bad,
    // with the saved lr divided by 10. At 1e5 it diverges again, and by then no checkpoint
    // is from before it: the run stops, the lowered lr saved, never "finished".
    let saved = TrainingConfig::from_file(&run.join("config.json")).unwrap();
    let rollbacks = (1e6 / saved.lr).log10().round();
    assert!(
        (1.0..=2.0).contains(&rollbacks)
            && (saved.lr * 10f64.powf(rollbacks) / 1e6 - 1.0).abs() < 1e-9,
        "lr after the rollbacks: {}",
        saved.lr
    );
    assert!(diverged.step >= 2, "{diverged}");
}
