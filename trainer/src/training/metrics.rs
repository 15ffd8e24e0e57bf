//! The per-step metrics file, `RUN_DIR/metrics.jsonl`: one JSON object per line.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// One training step's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRecord {
    /// Global step, counted from 1.
    pub step: u64,
    /// Epoch, counted from 1.
    pub epoch: usize,
    pub loss_d: f32,
    pub loss_g: f32,
    /// Mean D(x) on the real batch.
    pub d_real: f32,
    /// Mean D(G(z)) on the generated batch, before the discriminator's update.
    pub d_fake: f32,
    /// The fraction of the generated batch's values at ±1 (a collapsed generator: near 1).
    #[serde(default)]
    pub saturated: f32,
    pub images_per_sec: f32,
    /// Quality figures (`gantry_trainer::eval`), on the extra record written after an
    /// epoch's evaluation: same step as the epoch's last step record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<std::collections::BTreeMap<String, f64>>,
}

impl MetricsRecord {
    /// The Fréchet distance of an evaluation record.
    pub fn frechet_distance(&self) -> Option<f64> {
        self.quality.as_ref()?.get("frechet_distance").copied()
    }
}

pub fn metrics_path(run_dir: &Path) -> PathBuf {
    run_dir.join("metrics.jsonl")
}

/// Appends records to the metrics file.
pub struct MetricsWriter {
    file: fs::File,
}

impl MetricsWriter {
    /// Open for appending, first dropping records past `step` (written after the checkpoint a
    /// resumed run restarts from), so the file tells the story of the weights on disk.
    pub fn open(run_dir: &Path, step: u64) -> anyhow::Result<Self> {
        let path = metrics_path(run_dir);
        if path.exists() {
            let kept: Vec<MetricsRecord> = read(&path)?
                .into_iter()
                .filter(|r| r.step <= step)
                .collect();
            crate::fs_atomic::write_with(&path, |tmp| {
                let mut out = fs::File::create(tmp)
                    .with_context(|| format!("{}: cannot write", tmp.display()))?;
                for record in &kept {
                    writeln!(out, "{}", serde_json::to_string(record)?)?;
                }
                Ok(out.sync_all()?)
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("{}: cannot open for appending", path.display()))?;
        Ok(Self { file })
    }

    pub fn append(&mut self, record: &MetricsRecord) -> anyhow::Result<()> {
        writeln!(self.file, "{}", serde_json::to_string(record)?)?;
        Ok(())
    }

    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.file.flush()?;
        Ok(())
    }
}

/// Every record of a metrics file. A torn last line (a crash mid-write) is skipped.
pub fn read(path: &Path) -> anyhow::Result<Vec<MetricsRecord>> {
    let file = fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut records = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(record) => records.push(record),
            Err(_) => eprintln!(
                "{}:{}: skipping unreadable metrics line",
                path.display(),
                number + 1
            ),
        }
    }
    Ok(records)
}
