//! Running an exported file in ONNX Runtime, the reference every export is checked against.
//!
//! `ort` is built with `load-dynamic`: the ONNX Runtime library is opened at run time from
//! `ORT_DYLIB_PATH` (or the copy `scripts/setup-python-tools.sh` installs under `.tools/`),
//! so building gantry downloads nothing.

use anyhow::{Context, bail};
use gantry_onnx::contract::{IMAGE_OUTPUT, LABEL_INPUT, LATENT_INPUT, SOURCE_INPUT};
use ort::session::Session;
use ort::value::{PrimitiveTensorElementType, Tensor};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where `scripts/setup-python-tools.sh` installs the `onnxruntime` wheel.
pub const TOOLS_DIR: &str = ".tools/python";

/// The ONNX Runtime shared library: `ORT_DYLIB_PATH`, else the one under `.tools/python`
/// of the current directory or of any parent.
pub fn find_library() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        let path = PathBuf::from(path);
        if path.exists() {
            return Ok(path);
        }
        bail!("ORT_DYLIB_PATH={} does not exist", path.display());
    }
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let capi = d.join(TOOLS_DIR).join("onnxruntime/capi");
        if let Ok(entries) = std::fs::read_dir(&capi) {
            let mut libs: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("libonnxruntime.so."))
                })
                .collect();
            libs.sort();
            if let Some(lib) = libs.pop() {
                return Ok(lib);
            }
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    bail!(
        "ONNX Runtime not found: run `scripts/setup-python-tools.sh` (installs the onnxruntime wheel under {TOOLS_DIR}) \
         or set ORT_DYLIB_PATH to a libonnxruntime.so (`gantry export --no-verify` skips the check)"
    )
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

pub(crate) fn environment() -> anyhow::Result<&'static ort::environment::Environment> {
    let env = ENVIRONMENT.get_or_init(|| {
        let library = find_library().map_err(|e| e.to_string())?;
        let builder = ort::init_from(&library)
            .map_err(|e| format!("{}: cannot load ONNX Runtime: {e}", library.display()))?;
        builder.build().map_err(|e| format!("ONNX Runtime: {e}"))
    });
    env.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

/// How a conditional generator not written by gantry takes its labels.
#[derive(Debug, Clone, Copy)]
pub enum Labels<'a> {
    /// int64 `[N]` class indices.
    Index(&'a [i64]),
    /// float `[N, classes]` one-hot rows.
    OneHot { labels: &'a [i64], classes: usize },
}

/// An exported generator opened in ONNX Runtime.
pub struct OrtGenerator {
    session: Session,
}

impl OrtGenerator {
    pub fn open(model: &Path) -> anyhow::Result<Self> {
        let session = Session::builder(environment()?)
            .map_err(|e| anyhow::anyhow!("ONNX Runtime: {e}"))?
            .commit_from_file(model)
            .map_err(|e| {
                anyhow::anyhow!("{}: ONNX Runtime cannot load it: {e}", model.display())
            })?;
        Ok(Self { session })
    }

    /// `image` for latent `z` (`[n, latent]` row-major) and optional `label`s; values and shape.
    pub fn generate(
        &mut self,
        z: &[f32],
        n: usize,
        labels: Option<&[i64]>,
    ) -> anyhow::Result<(Vec<f32>, Vec<usize>)> {
        self.generate_as(z, n, labels)
    }

    /// Any generator, by the names its file gives: float input `input` (`shape`, row-major
    /// `values`), optionally an int64 input of one label per image, and the output named
    /// `output`. For files not written by gantry (PyTorch's exports call them `input`, `x`,
    /// `noise`, `labels`, …).
    pub fn generate_named(
        &mut self,
        input: (&str, &[usize], &[f32]),
        labels: Option<(&str, Labels)>,
        output: &str,
    ) -> anyhow::Result<(Vec<f32>, Vec<usize>)> {
        self.generate_named_as(input, labels, output)
    }

    /// `image` as bytes, from a file whose output is uint8 (`export --for torch-fidelity`).
    pub fn generate_bytes(
        &mut self,
        z: &[f32],
        n: usize,
        labels: Option<&[i64]>,
    ) -> anyhow::Result<(Vec<u8>, Vec<usize>)> {
        self.generate_as(z, n, labels)
    }

    /// gantry's own inputs and output (`z`, `label`, `image`) with elements of type `T`.
    fn generate_as<T: PrimitiveTensorElementType + Clone + std::fmt::Debug>(
        &mut self,
        z: &[f32],
        n: usize,
        labels: Option<&[i64]>,
    ) -> anyhow::Result<(Vec<T>, Vec<usize>)> {
        let shape = [n, z.len() / n.max(1)];
        let labels = labels.map(|l| (LABEL_INPUT, Labels::Index(l)));
        self.generate_named_as((LATENT_INPUT, &shape, z), labels, IMAGE_OUTPUT)
    }

    /// [`Self::generate_named`] for an output of element type `T`.
    fn generate_named_as<T: PrimitiveTensorElementType + Clone + std::fmt::Debug>(
        &mut self,
        (input, shape, values): (&str, &[usize], &[f32]),
        labels: Option<(&str, Labels)>,
        output: &str,
    ) -> anyhow::Result<(Vec<T>, Vec<usize>)> {
        let x = Tensor::from_array((shape.to_vec(), values.to_vec())).context("float input")?;
        let outputs = match labels {
            Some((name, Labels::Index(labels))) => {
                let labels =
                    Tensor::from_array(([labels.len()], labels.to_vec())).context("labels")?;
                self.session.run(ort::inputs![input => x, name => labels])
            }
            Some((name, Labels::OneHot { labels, classes })) => {
                let mut rows = vec![0f32; labels.len() * classes];
                for (row, &k) in labels.iter().enumerate() {
                    rows[row * classes + k as usize] = 1.0;
                }
                let labels =
                    Tensor::from_array(([labels.len(), classes], rows)).context("labels")?;
                self.session.run(ort::inputs![input => x, name => labels])
            }
            None => self.session.run(ort::inputs![input => x]),
        }
        .map_err(|e| anyhow::anyhow!("ONNX Runtime run: {e}"))?;
        let (shape, values) = outputs[output]
            .try_extract_tensor::<T>()
            .map_err(|e| anyhow::anyhow!("ONNX Runtime output `{output}`: {e}"))?;
        Ok((values.to_vec(), shape.iter().map(|&d| d as usize).collect()))
    }

    /// `image` for a translation model's `image_lr` sources (`shape` `[n, c, h, w]`).
    pub fn translate(
        &mut self,
        sources: &[f32],
        shape: [usize; 4],
    ) -> anyhow::Result<(Vec<f32>, Vec<usize>)> {
        self.generate_named((SOURCE_INPUT, &shape, sources), None, IMAGE_OUTPUT)
    }
}
