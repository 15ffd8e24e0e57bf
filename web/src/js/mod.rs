//! The JavaScript API (wasm-bindgen). Usable from a page, a Web Worker and Node:
//!
//! ```js
//! const g = Generator.fromBytes(new Uint8Array(await (await fetch(url)).arrayBuffer()));
//! // Weights beside the file (PyTorch's `model.onnx.data`): Generator.fromFiles(bytes, [name], [data])
//! // setMemoryBudget(256 << 20);   // refuse files and runs past 256 MiB (default 1 GiB)
//! // runtimeBuild();               // { simd: true, relaxedSimd: false, threads: 1 }
//! // The threaded build, in a Web Worker of a cross-origin isolated page, first of all:
//! // await initThreadPool(navigator.hardwareConcurrency);   // then runtimeBuild().threads > 1
//! const info = g.metadata();   // { input, classNames, valueRange, modelKind, …, props, inputs, outputs }
//! const grid = g.sample(1n, 64);              // `gantry sample --seed 1 --n 64`'s grid
//! g.draw(canvas, grid);                       // a <canvas>, or an OffscreenCanvas in a worker
//! const z = sampleLatent(1n, 64, info.latentDim);   // or your own latents:
//! const { data, shape } = g.generate(z);      // g.generate(z, BigInt64Array.of(...labels))
//! // A Pix2Pix upscaler (info.input.kind === 'source'): pictures in, triples out.
//! const { sources, originals } = g.sourcesFromPictures(rgba, n);
//! const up = g.generate(sources);
//! g.draw(canvas, g.triples(sources, up.data, originals));
//! ```
//!
//! The grid layout, the pictures' block means and the triples are
//! `gantry_onnx::contract`'s, the same code `gantry sample` draws with; [`canvas`] puts the
//! grid's pixels on the canvas, [`types`] names the objects for TypeScript.

mod canvas;
/// `initThreadPool(n)`: start `n` Web Workers on this module's shared memory as the pool
/// burn flex's kernels split their work over. Only in the threaded build
/// (scripts/build-web.sh), only where the page is cross-origin isolated (SharedArrayBuffer),
/// once, before any generator runs, and from a Worker: a page's main thread may not block
/// waiting for the pool.
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub mod pool;
mod types;

use crate::runtime;
use gantry_onnx::contract::{GridLayout, pictures};
use wasm_bindgen::{JsCast, prelude::*};

/// The memory budget in bytes (1 GiB unless lowered): every size a file decides, the
/// weights and the values a run holds are checked against it.
#[wasm_bindgen(js_name = memoryBudget)]
pub fn memory_budget() -> usize {
    crate::budget::bytes()
}

/// Lower (or raise) the memory budget for every later load and run; at least 1 MiB.
#[wasm_bindgen(js_name = setMemoryBudget)]
pub fn set_memory_budget(bytes: usize) {
    crate::budget::set_bytes(bytes);
}

/// How this build of the runtime was compiled, for a page to show (the gantry page's
/// footer): `{ simd: true, relaxedSimd: false, threads: 1 }`.
#[wasm_bindgen(js_name = runtimeBuild, unchecked_return_type = "RuntimeBuild")]
pub fn runtime_build() -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(&crate::runtime::build_info().to_string())
}

#[wasm_bindgen]
pub struct Generator {
    inner: runtime::Generator,
}

pub(crate) fn js_error(e: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}

#[wasm_bindgen]
impl Generator {
    /// Load an ONNX generator from its bytes; throws an Error naming what is not supported.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Generator, JsValue> {
        runtime::Generator::from_bytes(bytes)
            .map(|inner| Generator { inner })
            .map_err(js_error)
    }

    /// Load a generator whose weights are in files beside it (PyTorch's dynamo exporter
    /// writes `model.onnx` + `model.onnx.data`): `names[i]` is the file name the model
    /// refers to, `contents[i]` its bytes. Throws naming any file still missing.
    #[wasm_bindgen(js_name = fromFiles)]
    pub fn from_files(
        bytes: &[u8],
        names: Vec<String>,
        contents: Vec<js_sys::Uint8Array>,
    ) -> Result<Generator, JsValue> {
        if names.len() != contents.len() {
            return Err(js_error(format!(
                "{} names for {} files",
                names.len(),
                contents.len()
            )));
        }
        let files = names
            .into_iter()
            .zip(contents.iter().map(js_sys::Uint8Array::to_vec))
            .collect();
        runtime::Generator::from_files(bytes, &files)
            .map(|inner| Generator { inner })
            .map_err(js_error)
    }

    /// `{ props, inputs, outputs, latentDim, sourceShape, conditional }` (`sourceShape` is
    /// `[c, h, w]` for an upscaler, `null` otherwise); `props` are the file's
    /// `metadata_props` (gantry's exports carry `gantry.class_names`, `gantry.image_shape`, …).
    #[wasm_bindgen(unchecked_return_type = "Metadata")]
    pub fn metadata(&self) -> Result<JsValue, JsValue> {
        js_sys::JSON::parse(&self.inner.describe().to_string())
    }

    #[wasm_bindgen(getter, js_name = latentDim)]
    pub fn latent_dim(&self) -> usize {
        self.inner.latent_dim()
    }

    /// Images for `z` (`n × latentDim` values; for an upscaler `n` source images, NCHW in
    /// [-1, 1]) and optional labels: `{ data: Float32Array (NCHW, values in the model's
    /// range), shape: [n, c, h, w] }`.
    #[wasm_bindgen(unchecked_return_type = "Images")]
    pub fn generate(&self, z: &[f32], labels: Option<Vec<i64>>) -> Result<JsValue, JsValue> {
        let (data, shape) = self
            .inner
            .generate(z, labels.as_deref())
            .map_err(js_error)?;
        images(&data, &shape, None)
    }

    /// Which images a grid of `count` shows: `{ count, columns, labels }` (`labels` a
    /// `BigInt64Array` for a conditional model: all `label`, or one row per class without
    /// one; `null` otherwise).
    #[wasm_bindgen(js_name = gridLayout, unchecked_return_type = "GridLayout")]
    pub fn grid_layout(&self, count: usize, label: Option<i64>) -> Result<JsValue, JsValue> {
        layout_object(&self.inner.grid_layout(count, label).map_err(js_error)?)
    }

    /// The grid `gantry sample --seed SEED --n COUNT [--label L]` draws: `{ data, shape,
    /// columns }`, the latents from `sampleLatent(seed, layout.count, latentDim)`.
    #[wasm_bindgen(unchecked_return_type = "Grid")]
    pub fn sample(&self, seed: u64, count: usize, label: Option<i64>) -> Result<JsValue, JsValue> {
        let layout = self.inner.grid_layout(count, label).map_err(js_error)?;
        let z = sample_latent(seed, layout.count, self.inner.latent_dim());
        let (data, shape) = self
            .inner
            .generate(&z, layout.labels.as_deref())
            .map_err(js_error)?;
        images(&data, &shape, Some(layout.columns))
    }

    /// An upscaler's inputs from `n` pictures (RGBA bytes, each of the output's size, as a
    /// canvas gives them): `{ originals, sources }`, NCHW values in [-1, 1]; the sources are
    /// the originals' block means, as in training.
    #[wasm_bindgen(js_name = sourcesFromPictures, unchecked_return_type = "UpscalerInputs")]
    pub fn sources_from_pictures(&self, rgba: &[u8], n: usize) -> Result<JsValue, JsValue> {
        let [c, h, w] = self.upscaler()?;
        let scale = self.inner.kind().scale();
        let (bh, bw) = (h * scale, w * scale);
        let originals = pictures::from_rgba(rgba, n, c, bh, bw).map_err(js_error)?;
        let sources = pictures::block_mean(&originals, [n, c, bh, bw], scale).map_err(js_error)?;
        let result = js_sys::Object::new();
        set(
            &result,
            "originals",
            &js_sys::Float32Array::from(originals.as_slice()).into(),
        )?;
        set(
            &result,
            "sources",
            &js_sys::Float32Array::from(sources.as_slice()).into(),
        )?;
        Ok(result.into())
    }

    /// The grid an upscaler is shown as: per picture its source enlarged, its upscale and
    /// its original: `{ data, shape, columns }`.
    #[wasm_bindgen(unchecked_return_type = "Grid")]
    pub fn triples(
        &self,
        sources: &[f32],
        upscaled: &[f32],
        originals: &[f32],
    ) -> Result<JsValue, JsValue> {
        let [c, h, w] = self.upscaler()?;
        let scale = self.inner.kind().scale();
        let n = sources.len() / (c * h * w).max(1);
        let data = pictures::triples(sources, upscaled, originals, [n, c, h, w], scale)
            .map_err(js_error)?;
        let layout = GridLayout::triples(n);
        images(
            &data,
            &[3 * n, c, h * scale, w * scale],
            Some(layout.columns),
        )
    }

    /// Draw `images` (what `sample`, `generate` or `triples` returned) as a grid into
    /// `canvas` — a `<canvas>`, or an `OffscreenCanvas` in a worker — sized to fit, values
    /// read in the model's range: `{ width, height }`.
    #[wasm_bindgen(unchecked_return_type = "Size")]
    pub fn draw(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Canvas")] canvas: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "Images")] images: &JsValue,
    ) -> Result<JsValue, JsValue> {
        canvas::put(canvas, &canvas::picture(images, self.inner.value_range())?)
    }

    fn upscaler(&self) -> Result<[usize; 3], JsValue> {
        self.inner
            .source_shape()
            .ok_or_else(|| js_error("this model generates from z: it takes no pictures"))
    }
}

pub(crate) fn set(object: &js_sys::Object, key: &str, value: &JsValue) -> Result<(), JsValue> {
    js_sys::Reflect::set(object, &key.into(), value).map(|_| ())
}

/// `{ data, shape }` (and `columns` for a grid) of images.
fn images(data: &[f32], shape: &[usize], columns: Option<usize>) -> Result<JsValue, JsValue> {
    let result = js_sys::Object::new();
    set(&result, "data", &js_sys::Float32Array::from(data).into())?;
    let dims = js_sys::Array::new();
    for &d in shape {
        dims.push(&JsValue::from(d as u32));
    }
    set(&result, "shape", &dims.into())?;
    if let Some(columns) = columns {
        set(&result, "columns", &JsValue::from(columns as u32))?;
    }
    Ok(result.into())
}

/// The `{ data, shape, columns? }` of `images` (what `generate`, `sample` and `triples`
/// return, or a page's own), checked: a shape `[n, c, h, w]` that `data` fills.
pub(crate) fn read_images(
    images: &JsValue,
) -> Result<(Vec<f32>, [usize; 4], Option<usize>), JsValue> {
    let get = |key: &str| js_sys::Reflect::get(images, &key.into());
    let data = get("data")?
        .dyn_into::<js_sys::Float32Array>()
        .map_err(|_| js_error("images.data must be a Float32Array"))?
        .to_vec();
    let dims: Vec<usize> = js_sys::Array::from(&get("shape")?)
        .iter()
        .map(|d| {
            d.as_f64()
                .filter(|d| d.fract() == 0.0 && *d >= 0.0)
                .map(|d| d as usize)
        })
        .collect::<Option<_>>()
        .ok_or_else(|| js_error("images.shape must be whole numbers [n, c, h, w]"))?;
    let shape = <[usize; 4]>::try_from(dims.as_slice()).map_err(|_| {
        js_error(format!(
            "images.shape is {dims:?}: a grid needs [n, c, h, w]"
        ))
    })?;
    let columns = get("columns")?.as_f64().map(|c| c.max(1.0) as usize);
    Ok((data, shape, columns))
}

fn layout_object(layout: &GridLayout) -> Result<JsValue, JsValue> {
    let result = js_sys::Object::new();
    set(&result, "count", &JsValue::from(layout.count as u32))?;
    set(&result, "columns", &JsValue::from(layout.columns as u32))?;
    let labels = match &layout.labels {
        Some(labels) => js_sys::BigInt64Array::from(labels.as_slice()).into(),
        None => JsValue::NULL,
    };
    set(&result, "labels", &labels)?;
    Ok(result.into())
}

/// `n × latentDim` standard normal values for `seed`: the same as `gantry sample --seed`.
#[wasm_bindgen(js_name = sampleLatent)]
pub fn sample_latent(seed: u64, n: usize, latent_dim: usize) -> Vec<f32> {
    gantry_latent::normal_batch(seed, gantry_latent::Stream::Sample, 0, n, latent_dim)
}

/// The latents `t` of the way from `a` to `b` (both `n × latentDim`), each row along the
/// great circle between its two ends (spherical interpolation): the page's "interpolate".
#[wasm_bindgen(js_name = slerpLatents)]
pub fn slerp_latents(a: &[f32], b: &[f32], latent_dim: usize, t: f32) -> Result<Vec<f32>, JsValue> {
    if a.len() != b.len() || latent_dim == 0 || a.len() % latent_dim != 0 {
        return Err(js_error(format!(
            "slerpLatents: {} and {} values are not two batches of {latent_dim}-value latents",
            a.len(),
            b.len()
        )));
    }
    Ok(gantry_latent::slerp(a, b, latent_dim, t))
}
