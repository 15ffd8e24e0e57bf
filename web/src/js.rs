//! The JavaScript API (wasm-bindgen). Usable from a page, a Web Worker and Node:
//!
//! ```js
//! const g = Generator.fromBytes(new Uint8Array(await (await fetch(url)).arrayBuffer()));
//! const info = g.metadata();                  // { props, inputs, outputs, latentDim, conditional }
//! const z = sampleLatent(1n, 64, info.latentDim);   // same values as `gantry sample --seed 1`
//! const { data, shape } = g.generate(z);      // or g.generate(z, BigInt64Array.of(...labels))
//! // A Pix2Pix upscaler (info.sourceShape = [c, h, w]): n source images in [-1, 1] in, larger out.
//! const big = g.generate(lowResValues);
//! ```

use crate::runtime;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct Generator {
    inner: runtime::Generator,
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
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

    /// `{ props, inputs, outputs, latentDim, sourceShape, conditional }` (`sourceShape` is
    /// `[c, h, w]` for an upscaler, `null` otherwise); `props` are the file's
    /// `metadata_props` (gantry's exports carry `gantry.class_names`, `gantry.image_shape`, …).
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
    pub fn generate(&self, z: &[f32], labels: Option<Vec<i64>>) -> Result<JsValue, JsValue> {
        let (data, shape) = self
            .inner
            .generate(z, labels.as_deref())
            .map_err(js_error)?;
        let result = js_sys::Object::new();
        js_sys::Reflect::set(
            &result,
            &"data".into(),
            &js_sys::Float32Array::from(data.as_slice()).into(),
        )?;
        let dims = js_sys::Array::new();
        for d in shape {
            dims.push(&JsValue::from(d as u32));
        }
        js_sys::Reflect::set(&result, &"shape".into(), &dims.into())?;
        Ok(result.into())
    }
}

/// `n × latentDim` standard normal values for `seed`: the same as `gantry sample --seed`.
#[wasm_bindgen(js_name = sampleLatent)]
pub fn sample_latent(seed: u64, n: usize, latent_dim: usize) -> Vec<f32> {
    gantry_latent::normal_batch(seed, gantry_latent::Stream::Sample, 0, n, latent_dim)
}
