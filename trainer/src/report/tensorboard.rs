//! TensorBoard event files: what `tensorboard --logdir runs` reads. A run writes them to
//! `tb/` (per-step losses and D outputs, evaluations, each epoch's grid as an image).
//!
//! No well-kept Rust crate writes them, and the format is small: a file of records, each
//! `length: u64 LE`, `masked CRC32C of those 8 bytes: u32 LE`, `data`, `masked CRC32C of
//! data: u32 LE`, where each `data` is an `Event` protobuf and the first one names the
//! file version. The messages below are the fields gantry writes of TensorFlow's
//! `util/event.proto` and `framework/summary.proto`, with their field numbers.

use anyhow::Context;
use prost::Message;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, PartialEq, Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(oneof = "EventKind", tags = "3, 5")]
    kind: Option<EventKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum EventKind {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
}

#[derive(Clone, PartialEq, Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(oneof = "ValueKind", tags = "2, 4")]
    value: Option<ValueKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum ValueKind {
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    #[prost(message, tag = "4")]
    Image(Image),
}

#[derive(Clone, PartialEq, Message)]
struct Image {
    #[prost(int32, tag = "1")]
    height: i32,
    #[prost(int32, tag = "2")]
    width: i32,
    /// 1 grey, 3 RGB, 4 RGBA.
    #[prost(int32, tag = "3")]
    colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    encoded_image_string: Vec<u8>,
}

/// TFRecord's checksum: CRC32C, rotated and offset so a CRC of CRCs is not trivially zero.
fn masked_crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
        .rotate_right(15)
        .wrapping_add(0xa282_ead8)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One event file, appended to as a run goes.
pub struct EventWriter {
    file: BufWriter<File>,
    path: PathBuf,
}

impl EventWriter {
    /// A new event file in `dir` (created if need be). A resumed run adds a file beside
    /// its earlier ones; TensorBoard reads a folder's files in name order, as one log.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or_else(|| "localhost".into());
        let seconds = now() as u64;
        // The same second twice (a quick resume) gets a numbered name, never an overwrite.
        let path = (0..)
            .map(|n| {
                let suffix = if n == 0 {
                    String::new()
                } else {
                    format!(".{n}")
                };
                dir.join(format!("events.out.tfevents.{seconds:010}.{host}{suffix}"))
            })
            .find(|p| !p.exists())
            .expect("some name is free");
        let file = File::create_new(&path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        let mut writer = Self {
            file: BufWriter::new(file),
            path,
        };
        writer.write(&Event {
            wall_time: now(),
            step: 0,
            kind: Some(EventKind::FileVersion("brain.Event:2".into())),
        })?;
        writer.flush()?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Named values at `step` (tags with a `/` group into sections: `loss/generator`).
    pub fn scalars(&mut self, step: u64, values: &[(&str, f32)]) -> anyhow::Result<()> {
        let value = values
            .iter()
            .map(|(tag, v)| SummaryValue {
                tag: (*tag).into(),
                value: Some(ValueKind::SimpleValue(*v)),
            })
            .collect();
        self.summary(step, value)
    }

    /// A PNG image at `step`.
    pub fn png(&mut self, step: u64, tag: &str, png: &[u8]) -> anyhow::Result<()> {
        let decoded = image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .context("an image for TensorBoard: not a PNG")?;
        let image = Image {
            height: decoded.height() as i32,
            width: decoded.width() as i32,
            colorspace: i32::from(decoded.color().channel_count()),
            encoded_image_string: png.to_vec(),
        };
        let value = vec![SummaryValue {
            tag: tag.into(),
            value: Some(ValueKind::Image(image)),
        }];
        self.summary(step, value)
    }

    /// Hand what was written to the operating system.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.file
            .flush()
            .with_context(|| format!("{}: cannot write", self.path.display()))
    }

    fn summary(&mut self, step: u64, value: Vec<SummaryValue>) -> anyhow::Result<()> {
        self.write(&Event {
            wall_time: now(),
            step: step as i64,
            kind: Some(EventKind::Summary(Summary { value })),
        })
    }

    fn write(&mut self, event: &Event) -> anyhow::Result<()> {
        let data = event.encode_to_vec();
        let length = (data.len() as u64).to_le_bytes();
        let mut record = Vec::with_capacity(data.len() + 16);
        record.extend_from_slice(&length);
        record.extend_from_slice(&masked_crc(&length).to_le_bytes());
        record.extend_from_slice(&data);
        record.extend_from_slice(&masked_crc(&data).to_le_bytes());
        self.file
            .write_all(&record)
            .with_context(|| format!("{}: cannot write", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_framed_and_checksummed() {
        // TFRecord's masked CRC of nothing, as TensorFlow computes it.
        assert_eq!(masked_crc(b""), 0xa282_ead8);
        let dir = tempfile::tempdir().unwrap();
        let mut writer = EventWriter::create(dir.path()).unwrap();
        writer.scalars(3, &[("loss/generator", 0.5)]).unwrap();
        writer.flush().unwrap();
        let bytes = std::fs::read(writer.path()).unwrap();
        let mut at = 0;
        let mut events = Vec::new();
        while at < bytes.len() {
            let length: [u8; 8] = bytes[at..at + 8].try_into().unwrap();
            let crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            assert_eq!(crc, masked_crc(&length));
            let n = u64::from_le_bytes(length) as usize;
            let data = &bytes[at + 12..at + 12 + n];
            let crc = u32::from_le_bytes(bytes[at + 12 + n..at + 16 + n].try_into().unwrap());
            assert_eq!(crc, masked_crc(data));
            events.push(Event::decode(data).unwrap());
            at += 16 + n;
        }
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].kind,
            Some(EventKind::FileVersion("brain.Event:2".into()))
        );
        assert_eq!(events[1].step, 3);
        // A second writer in the same second gets its own file.
        let second = EventWriter::create(dir.path()).unwrap();
        assert_ne!(second.path(), writer.path());
    }
}
