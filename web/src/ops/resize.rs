//! `Resize` of images: nearest-neighbour repeats and bilinear resampling.

use super::{Inputs, Op, axis, optional_float, take_float};
use crate::graph::Attrs;
use crate::value::{Float, Value};
use burn::tensor::{Device, Tensor};

/// `Resize`: nearest neighbour where it is an exact pixel repeat (integer factors on height
/// and width, output pixel `i` reading input pixel `⌊i/s⌋`: gantry's export, PyTorch's
/// `Upsample(mode="nearest")`), and bilinear (`linear`, PyTorch's `mode="bilinear"`) with
/// any positive factors under the half_pixel, pytorch_half_pixel, align_corners and
/// asymmetric mappings. Other modes are refused rather than approximated.
#[derive(Debug)]
pub struct Resize {
    /// `linear`; otherwise nearest.
    linear: bool,
    transform: String,
    /// The axes the scales or sizes are for (opset 18's `axes`; default all four).
    axes: Vec<usize>,
}

impl Resize {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        let attr = |name: &str, default: &str| attrs.string(name).unwrap_or_else(|| default.into());
        let mode = attr("mode", "nearest");
        let transform = attr("coordinate_transformation_mode", "half_pixel");
        let rounding = attr("nearest_mode", "round_prefer_floor");
        let nearest = mode == "nearest"
            && matches!(
                (transform.as_str(), rounding.as_str()),
                ("asymmetric", "floor")
                    | (
                        "half_pixel" | "pytorch_half_pixel",
                        "round_prefer_floor" | "round_prefer_ceil"
                    )
            );
        let linear = mode == "linear"
            && matches!(
                transform.as_str(),
                "half_pixel" | "pytorch_half_pixel" | "align_corners" | "asymmetric"
            );
        if !nearest && !linear {
            return Err(format!(
                "Resize mode={mode} coordinate_transformation_mode={transform} nearest_mode={rounding} is not supported (nearest-neighbour repeats by integer factors, and linear, are)"
            ));
        }
        // Opset 10's Resize is (X, scales); later ones (X, roi, scales, sizes); opset 18's
        // `axes` names the axes the scales or sizes are for.
        let axes: Vec<usize> = match attrs.ints("axes") {
            None => (0..4).collect(),
            Some(a) => a.iter().map(|&a| axis(a, 4)).collect::<Result<_, _>>()?,
        };
        Ok(Box::new(Resize {
            linear,
            transform,
            axes,
        }))
    }
}

impl Op for Resize {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let scales_at = if inputs.len() == 2 { 1 } else { 2 };
        let (given_scales, given_sizes) = (
            optional_float(&inputs, scales_at)?,
            inputs.get(3).cloned().flatten(),
        );
        let x = take_float(&mut inputs, 0)?.as4()?;
        let dims = x.dims();
        let axes = &self.axes;
        let (mut scales, mut out) = ([1.0f64; 4], dims);
        match (given_scales, given_sizes) {
            (Some(given), _) if given.dims().iter().product::<usize>() > 0 => {
                let given = given.values();
                if given.len() != axes.len() {
                    return Err(format!("{} scales for axes {axes:?}", given.len()));
                }
                for (&a, &f) in axes.iter().zip(&given) {
                    let f = f64::from(f);
                    if !(f.is_finite() && f > 0.0) {
                        return Err(format!("scale {f} is not a positive number"));
                    }
                    scales[a] = f;
                    out[a] = (dims[a] as f64 * f).floor() as usize;
                }
            }
            (_, Some(Value::Int(sizes))) => {
                if sizes.data.len() != axes.len() {
                    return Err(format!("{} sizes for axes {axes:?}", sizes.data.len()));
                }
                for (&a, &size) in axes.iter().zip(&sizes.data) {
                    out[a] = usize::try_from(size)
                        .ok()
                        .filter(|&s| s > 0)
                        .ok_or_else(|| format!("size {size} is not positive"))?;
                    scales[a] = out[a] as f64 / dims[a].max(1) as f64;
                }
            }
            _ => return Err("Resize needs scales or sizes".into()),
        }
        let [n, c, h, w] = dims;
        if out[0] != n || out[1] != c {
            return Err(format!(
                "Resize of {dims:?} to {out:?}: only height and width may change"
            ));
        }
        crate::budget::check_values(&out, "the resized image")?;
        if self.linear {
            return Ok(Value::Float(Float::R4(bilinear(
                x,
                out,
                [scales[2], scales[3]],
                &self.transform,
            ))));
        }
        let integer = |f: f64| (f >= 1.0 && f.fract() == 0.0).then_some(f as usize);
        match (integer(scales[2]), integer(scales[3])) {
            (Some(s), Some(t)) if s == t => Ok(Value::Float(Float::R4(
                x.reshape([n, c, h, 1, w, 1])
                    .expand([n, c, h, s, w, s])
                    .reshape([n, c, h * s, w * s]),
            ))),
            _ => Err(format!(
                "nearest Resize by {:?}: only equal integer factors on height and width are supported",
                [scales[2], scales[3]]
            )),
        }
    }
}

/// Bilinear resampling on the host, as ONNX's `linear` mode defines it: each output
/// coordinate mapped back by `transform`, the two nearest input pixels per axis blended,
/// coordinates outside the image clamped to its edge.
fn bilinear(
    x: Tensor<4>,
    [n, c, oh, ow]: [usize; 4],
    scales: [f64; 2],
    transform: &str,
) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let device = x.device();
    let input = Float::R4(x).values();
    // Per output index: (low, high, weight of high).
    let taps = |out: usize, len: usize, scale: f64| -> Vec<(usize, usize, f32)> {
        (0..out)
            .map(|i| {
                let i = i as f64;
                let source = match transform {
                    "align_corners" if out > 1 => i * (len as f64 - 1.0) / (out as f64 - 1.0),
                    "align_corners" => 0.0,
                    "asymmetric" => i / scale,
                    "pytorch_half_pixel" if out <= 1 => 0.0,
                    _ => (i + 0.5) / scale - 0.5,
                };
                let source = source.clamp(0.0, (len - 1) as f64);
                let low = source.floor() as usize;
                let high = (low + 1).min(len - 1);
                (low, high, (source - low as f64) as f32)
            })
            .collect()
    };
    let (rows, cols) = (taps(oh, h, scales[0]), taps(ow, w, scales[1]));
    let mut out = Vec::with_capacity(n * c * oh * ow);
    for plane in input.chunks_exact(h * w) {
        for &(y0, y1, wy) in &rows {
            for &(x0, x1, wx) in &cols {
                let at = |y: usize, x: usize| plane[y * w + x];
                let top = at(y0, x0) * (1.0 - wx) + at(y0, x1) * wx;
                let bottom = at(y1, x0) * (1.0 - wx) + at(y1, x1) * wx;
                out.push(top * (1.0 - wy) + bottom * wy);
            }
        }
    }
    Tensor::from_data(burn::tensor::TensorData::new(out, [n, c, oh, ow]), &device)
}

#[cfg(test)]
mod tests {
    use super::bilinear;
    use burn::tensor::{Device, Tensor, TensorData};

    fn row(values: &[f32]) -> Tensor<4> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [1, 1, 1, values.len()]),
            &Device::flex(),
        )
    }

    fn values(t: Tensor<4>) -> Vec<f32> {
        crate::value::Float::R4(t).values()
    }

    #[test]
    fn bilinear_follows_each_coordinate_mapping() {
        // align_corners: the ends stay put, the middle is halfway.
        let out = bilinear(row(&[0.0, 1.0]), [1, 1, 1, 3], [1.0, 1.5], "align_corners");
        assert_eq!(values(out), vec![0.0, 0.5, 1.0]);
        // asymmetric: x / scale, clamped at the right edge.
        let out = bilinear(row(&[0.0, 1.0]), [1, 1, 1, 4], [1.0, 2.0], "asymmetric");
        assert_eq!(values(out), vec![0.0, 0.5, 1.0, 1.0]);
        // half_pixel: (x + 0.5) / scale − 0.5, clamped at the left edge.
        let out = bilinear(row(&[0.0, 1.0]), [1, 1, 1, 4], [1.0, 2.0], "half_pixel");
        assert_eq!(values(out), vec![0.0, 0.25, 0.75, 1.0]);
    }
}
