//! Putting a grid on a canvas from wasm (web-sys): the pixels go from the contract's
//! [`grid::draw`] straight into an `ImageData`, so no page loops over pixels in JavaScript.

use gantry_onnx::contract::grid::{self, Picture};
use wasm_bindgen::{JsCast, JsValue, prelude::*};
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, ImageData, OffscreenCanvas,
    OffscreenCanvasRenderingContext2d,
};

use super::{js_error, read_images, set};

/// The pixels of a grid of `images` (`{ data, shape: [n, c, h, w], columns }`, values in
/// `range`), as `gantry sample` draws them.
pub(super) fn picture(images: &JsValue, range: [f32; 2]) -> Result<Picture, JsValue> {
    let (data, shape, columns) = read_images(images)?;
    let columns = columns.unwrap_or_else(|| grid::square_columns(shape[0]));
    grid::draw(&data, shape, columns, range, grid::PAD).map_err(js_error)
}

/// Size `canvas` (an `OffscreenCanvas`, as a worker holds, or a page's `<canvas>`) to
/// `picture` and put its pixels there.
pub(super) fn put(canvas: &JsValue, picture: &Picture) -> Result<JsValue, JsValue> {
    let (width, height) = (picture.width as u32, picture.height as u32);
    // Copied out of wasm memory: in the threaded build that memory is shared, and an
    // ImageData may not be a view of shared memory.
    let rgba = js_sys::Uint8ClampedArray::from(picture.rgba().as_slice());
    let image = ImageData::new_with_js_u8_clamped_array_and_sh(&rgba, width, height)?;
    // Checked in this order: a worker has no HTMLCanvasElement, Node has neither.
    if let Some(canvas) = canvas.dyn_ref::<OffscreenCanvas>() {
        canvas.set_width(width);
        canvas.set_height(height);
        context(canvas.get_context("2d")?)?
            .dyn_into::<OffscreenCanvasRenderingContext2d>()?
            .put_image_data(&image, 0.0, 0.0)?;
    } else if let Some(canvas) = canvas.dyn_ref::<HtmlCanvasElement>() {
        canvas.set_width(width);
        canvas.set_height(height);
        context(canvas.get_context("2d")?)?
            .dyn_into::<CanvasRenderingContext2d>()?
            .put_image_data(&image, 0.0, 0.0)?;
    } else {
        return Err(js_error(
            "draw takes a <canvas> or an OffscreenCanvas (a canvas given to a worker with \
             transferControlToOffscreen())",
        ));
    }
    let size = js_sys::Object::new();
    set(&size, "width", &width.into())?;
    set(&size, "height", &height.into())?;
    Ok(size.into())
}

fn context(context: Option<js_sys::Object>) -> Result<js_sys::Object, JsValue> {
    context.ok_or_else(|| {
        js_error("the canvas has no 2d context: another kind of context was taken from it first")
    })
}

/// Draw a grid of `images` (`{ data, shape: [n, c, h, w], columns? }`, values in `range`,
/// `[lo, hi]`) into `canvas`, sized to fit: `{ width, height }`.
#[wasm_bindgen(js_name = drawGrid, unchecked_return_type = "Size")]
pub fn draw_grid(
    #[wasm_bindgen(unchecked_param_type = "Canvas")] canvas: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "Images")] images: &JsValue,
    range: Vec<f32>,
) -> Result<JsValue, JsValue> {
    put(canvas, &picture(images, value_range(range)?)?)
}

/// A grid's pixels without a canvas (Node, or a page that draws them itself):
/// `{ width, height, rgba }`, `rgba` an `ImageData`'s bytes.
#[wasm_bindgen(js_name = gridPixels, unchecked_return_type = "Pixels")]
pub fn grid_pixels(
    #[wasm_bindgen(unchecked_param_type = "Images")] images: &JsValue,
    range: Vec<f32>,
) -> Result<JsValue, JsValue> {
    let picture = picture(images, value_range(range)?)?;
    let result = js_sys::Object::new();
    set(&result, "width", &(picture.width as u32).into())?;
    set(&result, "height", &(picture.height as u32).into())?;
    let rgba = js_sys::Uint8ClampedArray::from(picture.rgba().as_slice());
    set(&result, "rgba", &rgba.into())?;
    Ok(result.into())
}

fn value_range(range: Vec<f32>) -> Result<[f32; 2], JsValue> {
    <[f32; 2]>::try_from(range).map_err(|_| js_error("a value range is [lo, hi]"))
}
