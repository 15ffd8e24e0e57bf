//! `Conv` and `ConvTranspose` (2-D), on burn flex's convolutions. Every size burn would
//! panic on is checked first: the file decides them.

use super::{Inputs, Op, float, optional_float, take_float};
use crate::graph::Attrs;
use crate::value::{Float, Value};
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor, TensorData};
use gantry_kernels::Window;
use gantry_kernels::conv::PreparedWeight;

fn pair(values: Option<Vec<i64>>, default: usize, what: &str) -> Result<[usize; 2], String> {
    match values {
        None => Ok([default, default]),
        Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 0) => Ok([v[0] as usize, v[1] as usize]),
        Some(v) => Err(format!(
            "{what} {v:?}: expected two non-negative values (2-D operators only)"
        )),
    }
}

/// Strides and dilations: 0 would divide by zero (burn panics on it).
fn positive_pair(values: Option<Vec<i64>>, what: &str) -> Result<[usize; 2], String> {
    let p = pair(values, 1, what)?;
    if p.contains(&0) {
        return Err(format!("{what} {p:?}: must be at least 1"));
    }
    Ok(p)
}

fn check_auto_pad(attrs: &Attrs) -> Result<(), String> {
    match attrs.string("auto_pad").as_deref() {
        None | Some("NOTSET") | Some("") => Ok(()),
        Some(other) => Err(format!(
            "auto_pad={other} is not supported (explicit pads are)"
        )),
    }
}

/// The `group` attribute, checked (the plan reads it again to fold a BatchNorm).
pub fn groups(attrs: &Attrs) -> Result<usize, String> {
    match attrs.int("group", 1) {
        g if g >= 1 => Ok(g as usize),
        g => Err(format!("group {g}: must be at least 1")),
    }
}

/// Check the sizes burn would otherwise panic on: the kernel's reach must fit in the padded
/// input, and the bias must have one value per output channel.
fn check_window(
    input: [usize; 2],
    kernel: [usize; 2],
    pads: [(usize, usize); 2],
    dilations: [usize; 2],
    bias: Option<usize>,
    out_channels: usize,
) -> Result<(), String> {
    for i in 0..2 {
        let reach = dilations[i]
            .checked_mul(kernel[i].saturating_sub(1))
            .and_then(|r| r.checked_add(1));
        let room = input[i]
            .checked_add(pads[i].0)
            .and_then(|r| r.checked_add(pads[i].1));
        if kernel[i] == 0 || reach.zip(room).is_none_or(|(reach, room)| reach > room) {
            return Err(format!(
                "a {kernel:?} kernel (dilations {dilations:?}) does not fit a {input:?} input padded by {pads:?}"
            ));
        }
    }
    if let Some(b) = bias
        && b != out_channels
    {
        return Err(format!(
            "{b} bias values for {out_channels} output channels"
        ));
    }
    Ok(())
}

/// `Conv`: (X, W `[out, in/group, kh, kw]`, optional B).
#[derive(Debug, Clone, Copy)]
pub struct Conv {
    strides: [usize; 2],
    dilations: [usize; 2],
    /// (begin, end) per spatial axis.
    pads: [(usize, usize); 2],
    groups: usize,
}

impl Conv {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        check_auto_pad(attrs)?;
        let pads = match attrs.ints("pads") {
            None => [(0, 0), (0, 0)],
            Some(p) if p.len() == 4 && p.iter().all(|&v| v >= 0) => [
                (p[0] as usize, p[2] as usize),
                (p[1] as usize, p[3] as usize),
            ],
            Some(p) => return Err(format!("pads {p:?}: expected four non-negative values")),
        };
        Ok(Box::new(Conv {
            strides: positive_pair(attrs.ints("strides"), "strides")?,
            dilations: positive_pair(attrs.ints("dilations"), "dilations")?,
            pads,
            groups: groups(attrs)?,
        }))
    }
}

impl Conv {
    /// The checks of [`Op::eval`] before any work: channels, the window, the bias's length.
    fn check(&self, x: [usize; 4], w: [usize; 4], bias: Option<usize>) -> Result<(), String> {
        let groups = self.groups;
        let [_, c, h, wi] = x;
        let [out, wc, kh, kw] = w;
        if Some(c) != wc.checked_mul(groups) || out % groups != 0 {
            return Err(format!(
                "input has {c} channels, the weight [{out}, {wc}, {kh}, {kw}] with {groups} groups expects {}",
                wc.saturating_mul(groups)
            ));
        }
        check_window([h, wi], [kh, kw], self.pads, self.dilations, bias, out)
    }
}

impl Op for Conv {
    fn with_constants(&self, constants: &[Option<&Float>]) -> Result<Option<Box<dyn Op>>, String> {
        let symmetric = self.pads.iter().all(|(begin, end)| begin == end);
        if self.groups != 1 || self.dilations != [1, 1] || !symmetric {
            return Ok(None);
        }
        let Some(kernel) = Kernel::of(constants)? else {
            return Ok(None);
        };
        Ok(Some(Box::new(KernelConv {
            attrs: *self,
            kernel,
        })))
    }

    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let x = take_float(&mut inputs, 0)?.as4()?;
        let w = float(&inputs, 1)?.as4()?;
        let bias = optional_float(&inputs, 2)?.map(Float::as1).transpose()?;
        let groups = self.groups;
        self.check(x.dims(), w.dims(), bias.as_ref().map(|b| b.dims()[0]))?;
        Ok(Value::Float(Float::R4(conv2d(
            x,
            w,
            bias,
            ConvOptions::new_with_padding(self.strides, self.pads, self.dilations, groups),
        ))))
    }
}

/// `ConvTranspose`: (X, W `[in, out/group, kh, kw]`, optional B); symmetric pads.
#[derive(Debug, Clone, Copy)]
pub struct ConvTranspose {
    strides: [usize; 2],
    dilations: [usize; 2],
    output_padding: [usize; 2],
    padding: [usize; 2],
    groups: usize,
}

impl ConvTranspose {
    pub fn build(attrs: &Attrs) -> Result<Box<dyn Op>, String> {
        check_auto_pad(attrs)?;
        if attrs.has("output_shape") {
            return Err(
                "the output_shape attribute is not supported (pads and output_padding are)".into(),
            );
        }
        let strides = positive_pair(attrs.ints("strides"), "strides")?;
        let dilations = positive_pair(attrs.ints("dilations"), "dilations")?;
        let output_padding = pair(attrs.ints("output_padding"), 0, "output_padding")?;
        let padding = match attrs.ints("pads") {
            None => [0, 0],
            Some(p)
                if p.len() == 4 && p[0] == p[2] && p[1] == p[3] && p.iter().all(|&v| v >= 0) =>
            {
                [p[0] as usize, p[1] as usize]
            }
            Some(p) => {
                return Err(format!(
                    "pads {p:?}: only symmetric padding is supported for ConvTranspose"
                ));
            }
        };
        if output_padding[0] >= strides[0].max(dilations[0])
            || output_padding[1] >= strides[1].max(dilations[1])
        {
            return Err(format!(
                "output_padding {output_padding:?} must be smaller than the stride or dilation"
            ));
        }
        Ok(Box::new(ConvTranspose {
            strides,
            dilations,
            output_padding,
            padding,
            groups: groups(attrs)?,
        }))
    }

    /// The output size along spatial axis `i` for an input of `size` and a `k`-wide kernel.
    fn out_size(&self, i: usize, size: usize, k: usize) -> usize {
        size.saturating_sub(1)
            .saturating_mul(self.strides[i])
            .saturating_add(self.dilations[i].saturating_mul(k.saturating_sub(1)))
            .saturating_add(1 + self.output_padding[i])
            .saturating_sub(2 * self.padding[i])
    }

    /// The checks of [`Op::eval`] before any work: channels, an output of at least one
    /// pixel, the memory budget, the bias's length. The output's `[h, w]`.
    fn check(
        &self,
        x: [usize; 4],
        w: [usize; 4],
        bias: Option<usize>,
    ) -> Result<[usize; 2], String> {
        let groups = self.groups;
        let [n, c, h, wi] = x;
        let [wc, per_group, kh, kw] = w;
        if c != wc || c % groups != 0 {
            return Err(format!(
                "input has {c} channels, the weight expects {wc} in {groups} groups"
            ));
        }
        // The output must have at least one pixel: (in − 1)·s + d·(k − 1) + 1 + op > 2·pad.
        for (i, (size, k)) in [(h, kh), (wi, kw)].into_iter().enumerate() {
            let full = size
                .saturating_sub(1)
                .saturating_mul(self.strides[i])
                .saturating_add(self.dilations[i].saturating_mul(k.saturating_sub(1)))
                .saturating_add(1 + self.output_padding[i]);
            if k == 0 || full <= 2 * self.padding[i] {
                return Err(format!(
                    "pads {:?} leave no output for a {size}-pixel input and a {k}-wide kernel",
                    self.padding
                ));
            }
        }
        let out = [self.out_size(0, h, kh), self.out_size(1, wi, kw)];
        crate::budget::check_values(
            &[n, per_group.saturating_mul(groups), out[0], out[1]],
            "the ConvTranspose output",
        )?;
        if let Some(b) = bias
            && b != per_group * groups
        {
            return Err(format!(
                "{b} bias values for {} output channels",
                per_group * groups
            ));
        }
        Ok(out)
    }
}

impl Op for ConvTranspose {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let x = take_float(&mut inputs, 0)?.as4()?;
        let w = float(&inputs, 1)?.as4()?;
        let bias = optional_float(&inputs, 2)?.map(Float::as1).transpose()?;
        self.check(x.dims(), w.dims(), bias.as_ref().map(|b| b.dims()[0]))?;
        Ok(Value::Float(Float::R4(conv_transpose2d(
            x,
            w,
            bias,
            ConvTransposeOptions::new(
                self.strides,
                self.padding,
                self.output_padding,
                self.dilations,
                self.groups,
            ),
        ))))
    }

    fn with_constants(&self, constants: &[Option<&Float>]) -> Result<Option<Box<dyn Op>>, String> {
        if self.groups != 1 || self.dilations != [1, 1] {
            return Ok(None);
        }
        let Some(kernel) = Kernel::of(constants)? else {
            return Ok(None);
        };
        Ok(Some(Box::new(KernelConvTranspose {
            attrs: *self,
            kernel,
        })))
    }
}

/// A layer's constant weight, reordered once for gantry-kernels' products, and its bias.
#[derive(Debug)]
struct Kernel {
    weight: PreparedWeight,
    dims: [usize; 4],
    bias: Option<Vec<f32>>,
}

impl Kernel {
    /// From a step's constant inputs after the first (weight, optional bias).
    fn of(constants: &[Option<&Float>]) -> Result<Option<Self>, String> {
        let Some(Some(weight)) = constants.first() else {
            return Ok(None);
        };
        let weight = (*weight).clone().as4()?;
        let dims = weight.dims();
        let bias = match constants.get(1).copied().flatten() {
            None => None,
            Some(b) => Some(b.clone().as1()?),
        };
        let [grid_channels, channels, kh, kw] = dims;
        let values = Float::R4(weight).values();
        Ok(Some(Kernel {
            weight: PreparedWeight::new(&values, grid_channels, channels, [kh, kw]),
            dims,
            bias: bias.map(|b| Float::R1(b).values()),
        }))
    }

    fn bias_len(&self) -> Option<usize> {
        self.bias.as_ref().map(Vec::len)
    }

    /// `values` `[n, c, h·w]` plus the bias of each channel, as a tensor `[n, c, h, w]`.
    fn output(&self, mut values: Vec<f32>, dims: [usize; 4], device: &Device) -> Value {
        if let Some(bias) = &self.bias {
            let plane = dims[2] * dims[3];
            for (i, plane_values) in values.chunks_mut(plane.max(1)).enumerate() {
                let b = bias[i % dims[1]];
                plane_values.iter_mut().for_each(|v| *v += b);
            }
        }
        Value::Float(Float::R4(Tensor::from_data(
            TensorData::new(values, dims),
            device,
        )))
    }
}

/// `ConvTranspose` with constant weights, one group and no dilation, on gantry-kernels: the
/// trainer's whole-batch product (one gemm for the batch, channels-last `col2im` from 16
/// output channels on) where burn flex runs one small product per image.
#[derive(Debug)]
struct KernelConvTranspose {
    attrs: ConvTranspose,
    kernel: Kernel,
}

impl Op for KernelConvTranspose {
    fn eval(&self, mut inputs: Inputs, device: &Device) -> Result<Value, String> {
        let x = take_float(&mut inputs, 0)?.as4()?;
        let [n, _, h, w] = x.dims();
        let [_, out_channels, kh, kw] = self.kernel.dims;
        let out = self
            .attrs
            .check(x.dims(), self.kernel.dims, self.kernel.bias_len())?;
        let window = Window::over(
            out_channels,
            out,
            [kh, kw],
            self.attrs.strides,
            self.attrs.padding,
        );
        if window.grid != [h, w] {
            return Err(format!(
                "internal: a {out:?} output's window has a {:?} grid, not the input's [{h}, {w}]",
                window.grid
            ));
        }
        let image = self
            .kernel
            .weight
            .grid_to_image(&Float::R4(x).values(), n, &window);
        Ok(self
            .kernel
            .output(image, [n, out_channels, out[0], out[1]], device))
    }
}

/// `Conv` with constant weights, one group, no dilation and symmetric pads, on
/// gantry-kernels: one whole-batch product, as in training.
#[derive(Debug)]
struct KernelConv {
    attrs: Conv,
    kernel: Kernel,
}

impl Op for KernelConv {
    fn eval(&self, mut inputs: Inputs, device: &Device) -> Result<Value, String> {
        let x = take_float(&mut inputs, 0)?.as4()?;
        let [n, c, h, w] = x.dims();
        let [out_channels, _, kh, kw] = self.kernel.dims;
        self.attrs
            .check(x.dims(), self.kernel.dims, self.kernel.bias_len())?;
        let padding = self.attrs.pads.map(|(begin, _)| begin);
        let window = Window::over(c, [h, w], [kh, kw], self.attrs.strides, padding);
        crate::budget::check_values(
            &[n, out_channels, window.grid[0], window.grid[1]],
            "the Conv output",
        )?;
        let grid = self
            .kernel
            .weight
            .image_to_grid(&Float::R4(x).values(), n, &window);
        Ok(self.kernel.output(
            grid,
            [n, out_channels, window.grid[0], window.grid[1]],
            device,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::prepared_and_plain;
    use super::*;

    fn float(dims: [usize; 4], seed: usize) -> Float {
        let count = dims.iter().product();
        let values = (0..count)
            .map(|i| (((i * 37 + seed * 11) % 101) as f32) / 50.0 - 1.0)
            .collect();
        Float::from_values(values, &dims, &Device::flex()).unwrap()
    }

    fn bias(len: usize) -> Float {
        Float::from_values(
            (0..len).map(|i| i as f32 * 0.1 - 0.3).collect(),
            &[len],
            &Device::flex(),
        )
        .unwrap()
    }

    /// `op`'s kernel op (made of `w` and `b` at load) gives `op`'s own output for `x`.
    fn assert_kernel_matches(op: &dyn Op, x: Float, w: Float, b: Option<Float>, what: &str) {
        let (got, want) = prepared_and_plain(op, x, &[Some(w), b]).expect("packed");
        assert_eq!(got.1, want.1, "{what}: shape");
        for (i, (g, w)) in got.0.iter().zip(&want.0).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                "{what} [{i}]: {g} vs {w}"
            );
        }
    }

    /// gantry-kernels' ConvTranspose gives burn flex's output: few and many output channels
    /// (planar and channels-last columns), strides, pads, output padding, with and without
    /// a bias.
    #[test]
    fn kernel_conv_transpose_matches_burn() {
        for (x, w, stride, padding, output_padding, with_bias) in [
            ([3, 100, 1, 1], [100, 32, 4, 4], 1, 0, 0, false),
            ([2, 32, 4, 4], [32, 16, 4, 4], 2, 1, 0, true),
            ([2, 16, 7, 7], [16, 3, 4, 4], 2, 1, 0, true),
            ([2, 8, 5, 6], [8, 20, 3, 3], 2, 1, 1, true),
        ] {
            let op = ConvTranspose {
                strides: [stride; 2],
                dilations: [1, 1],
                output_padding: [output_padding; 2],
                padding: [padding; 2],
                groups: 1,
            };
            let (x, w) = (float(x, 1), float(w, 2));
            let b = with_bias.then(|| bias(w.dims()[1]));
            assert_kernel_matches(&op, x, w, b, &format!("{op:?}"));
        }
    }

    #[test]
    fn kernel_conv_matches_burn() {
        for (x, w, stride, padding, with_bias) in [
            ([2, 3, 8, 8], [16, 3, 4, 4], 2, 1, true),
            ([2, 32, 7, 9], [8, 32, 3, 3], 1, 1, false),
            ([1, 16, 6, 6], [4, 16, 1, 1], 1, 0, true),
        ] {
            let op = Conv {
                strides: [stride; 2],
                dilations: [1, 1],
                pads: [(padding, padding); 2],
                groups: 1,
            };
            let (x, w) = (float(x, 3), float(w, 4));
            let b = with_bias.then(|| bias(w.dims()[0]));
            assert_kernel_matches(&op, x, w, b, &format!("{op:?}"));
        }
    }

    #[test]
    fn grouped_dilated_or_asymmetric_layers_stay_on_burn() {
        let w = float([4, 4, 3, 3], 5);
        let conv = Conv {
            strides: [1, 1],
            dilations: [2, 2],
            pads: [(1, 1); 2],
            groups: 1,
        };
        assert!(conv.with_constants(&[Some(&w), None]).unwrap().is_none());
        let conv = Conv {
            strides: [1, 1],
            dilations: [1, 1],
            pads: [(0, 1); 2],
            groups: 1,
        };
        assert!(conv.with_constants(&[Some(&w), None]).unwrap().is_none());
        let t = ConvTranspose {
            strides: [1, 1],
            dilations: [1, 1],
            output_padding: [0, 0],
            padding: [0, 0],
            groups: 2,
        };
        assert!(t.with_constants(&[Some(&w), None]).unwrap().is_none());
    }

    #[test]
    fn kernel_layers_refuse_what_burn_would_panic_on() {
        let w = float([8, 4, 3, 3], 6);
        let t = ConvTranspose {
            strides: [1, 1],
            dilations: [1, 1],
            output_padding: [0, 0],
            padding: [0, 0],
            groups: 1,
        };
        let kernel = t.with_constants(&[Some(&w), None]).unwrap().unwrap();
        let err = kernel
            .eval(
                vec![Some(Value::Float(float([1, 5, 4, 4], 7)))],
                &Device::flex(),
            )
            .unwrap_err();
        assert!(err.contains("5 channels"), "{err}");
        let conv = Conv {
            strides: [1, 1],
            dilations: [1, 1],
            pads: [(0, 0); 2],
            groups: 1,
        };
        let kernel = conv
            .with_constants(&[Some(&float([2, 3, 5, 5], 8)), None])
            .unwrap()
            .unwrap();
        let err = kernel
            .eval(
                vec![Some(Value::Float(float([1, 3, 4, 4], 9)))],
                &Device::flex(),
            )
            .unwrap_err();
        assert!(err.contains("does not fit"), "{err}");
    }
}
