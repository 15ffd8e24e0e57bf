//! The TypeScript names of the objects the JS API passes (`gantry_web.d.ts` declares them
//! beside the generated classes and functions). `Metadata` lists the keys of
//! [`crate::runtime::Generator::describe`]; a test checks the two against each other.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
pub const TYPES: &'static str = r#"
/** Where a grid is drawn: a page's canvas, or one handed to a worker with transferControlToOffscreen(). */
export type Canvas = HTMLCanvasElement | OffscreenCanvas;

/** Images, NCHW, values in the model's range; `columns` when they are laid out as a grid. */
export interface Images {
  data: Float32Array;
  shape: number[];
  columns?: number;
}

/** Images laid out as a grid, `columns` a row. */
export interface Grid extends Images {
  columns: number;
}

/** Which images a grid shows: `labels` (one per image) for a conditional model, else null. */
export interface GridLayout {
  count: number;
  columns: number;
  labels: BigInt64Array | null;
}

export interface Size {
  width: number;
  height: number;
}

/** How the runtime was compiled: wasm SIMD (128-bit), relaxed SIMD (fused multiply-add), threads. */
export interface RuntimeBuild {
  simd: boolean;
  relaxedSimd: boolean;
  threads: number;
}

/** A grid's pixels: an ImageData's bytes. */
export interface Pixels extends Size {
  rgba: Uint8ClampedArray;
}

/** An upscaler's inputs made from pictures: both NCHW in [-1, 1]. */
export interface UpscalerInputs {
  originals: Float32Array;
  sources: Float32Array;
}

/** What one image is made from. */
export type GeneratorInput =
  | { kind: 'latent'; dim: number; classes: number | null }
  | { kind: 'source'; shape: [number, number, number]; scale: number };

/** A graph input or output; dynamic axes by name. */
export interface Io {
  name: string;
  dtype: 'float32' | 'int64' | 'int32' | 'other';
  shape: (number | string)[];
}

/** Generator.metadata(): everything a page needs to present a model. */
export interface Metadata {
  input: GeneratorInput;
  classNames: string[];
  valueRange: [number, number];
  modelKind: string | null;
  dataset: string | null;
  epochs: number | null;
  steps: number | null;
  props: Record<string, string>;
  inputs: Io[];
  outputs: Io[];
  latentDim: number;
  sourceShape: [number, number, number] | null;
  scale: number;
  conditional: boolean;
}
"#;

#[cfg(test)]
mod tests {
    /// This file: wasm-bindgen takes the `TYPES` constant for the declarations file, so the
    /// test reads the declarations where they are written.
    const TYPES: &str = include_str!("types.rs");

    /// The keys an `interface NAME { … }` in `TYPES` declares.
    fn interface_keys(name: &str) -> Vec<String> {
        let start = TYPES
            .find(&format!("export interface {name} "))
            .unwrap_or_else(|| panic!("no interface {name}"));
        let body = &TYPES[start..];
        let body = &body[body.find('{').unwrap() + 1..body.find("\n}").unwrap()];
        body.lines()
            .filter_map(|l| {
                l.trim()
                    .split_once(':')
                    .map(|(k, _)| k.trim_end_matches('?'))
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn metadata_declares_every_key_describe_writes() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../www/models/faces.onnx"
        ))
        .expect("www/models/faces.onnx");
        let described = crate::Generator::from_bytes(&bytes).unwrap().describe();
        let mut written: Vec<String> = described.as_object().unwrap().keys().cloned().collect();
        let mut declared = interface_keys("Metadata");
        written.sort();
        declared.sort();
        assert_eq!(
            declared, written,
            "interface Metadata vs Generator::describe()"
        );
    }
}
