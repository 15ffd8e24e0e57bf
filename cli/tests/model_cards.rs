//! Every model card's "Reproduce" commands (`www/models/*.md`) parse and run, so a card
//! rebuilds the file it describes: each `gantry` line runs as written, in a scratch folder
//! (its `runs/` and `www/models/` are the scratch folder's), with only a budget laid over
//! it — one epoch of a few images, a small classifier and evaluation. A renamed flag, a
//! preset that no longer exists or an export from a folder the run does not write fails.

mod common;

use common::data_dir;
use std::path::Path;
use std::process::Command;

/// The card's commands: its indented lines that start with `gantry` or `scripts/`,
/// without trailing comments.
fn commands(card: &str) -> Vec<Vec<String>> {
    card.lines()
        .filter_map(|line| line.strip_prefix("    "))
        .map(|line| line.split(" #").next().unwrap_or_default().trim())
        .filter(|line| line.starts_with("gantry ") || line.starts_with("scripts/"))
        .map(|line| line.split_whitespace().map(String::from).collect())
        .collect()
}

/// `value` for `flag` in `args`, replacing the card's or added.
fn set(args: &mut Vec<String>, flag: &str, value: &str) {
    match args.iter().position(|a| a == flag) {
        Some(i) => args[i + 1] = value.to_string(),
        None => args.extend([flag.to_string(), value.to_string()]),
    }
}

/// The card's arguments with the budget laid over them.
fn budgeted(mut args: Vec<String>, data: &Path) -> Vec<String> {
    let data = data.to_str().unwrap();
    match (args[1].as_str(), args.get(2).map(String::as_str)) {
        ("train", _) => {
            set(&mut args, "--epochs", "1");
            set(&mut args, "--limit", "64");
            set(&mut args, "--data-dir", data);
            args.extend(["--set".into(), "eval_samples=200".into()]);
        }
        ("classifier", Some("train")) => {
            set(&mut args, "--epochs", "1");
            set(&mut args, "--limit", "256");
            set(&mut args, "--data-dir", data);
        }
        ("eval", _) => {
            set(&mut args, "--samples", "200");
            set(&mut args, "--data-dir", data);
        }
        ("sample", _) => set(&mut args, "--data-dir", data),
        _ => {}
    }
    args
}

#[test]
fn every_model_cards_commands_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = data_dir();
    let mut cards: Vec<_> = std::fs::read_dir(root.join("www/models"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    cards.sort();
    assert!(cards.len() >= 4, "{cards:?}");
    for card in cards {
        let name = card.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&card).unwrap();
        let commands = commands(&text);
        assert!(
            commands
                .iter()
                .any(|c| c[0] == "gantry" && c[1] == "export"),
            "{name}: no export command among {commands:?}"
        );
        let scratch = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(scratch.path().join("www/models")).unwrap();
        for command in commands {
            if command[0] != "gantry" {
                // A script of the repository (the data it fetches is here already).
                let script = root.join(&command[0]);
                assert!(script.is_file(), "{name}: {} does not exist", command[0]);
                continue;
            }
            let args = budgeted(command.clone(), &data);
            let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
                .args(&args[1..])
                .current_dir(scratch.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: `{}` (run as `{}`) failed:\n{}",
                command.join(" "),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let onnx = name.replace(".md", ".onnx");
        assert!(
            scratch.path().join("www/models").join(&onnx).is_file(),
            "{name}: its commands did not write www/models/{onnx}"
        );
    }
}
