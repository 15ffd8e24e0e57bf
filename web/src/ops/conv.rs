//! `Conv` and `ConvTranspose` (2-D), on burn flex's convolutions. Every size burn would
//! panic on is checked first: the file decides them.

use super::{Inputs, Op, float, optional_float, take_float};
use crate::graph::Attrs;
use crate::value::{Float, Value};
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor};

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
    bias: Option<&Tensor<1>>,
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
        && b.dims()[0] != out_channels
    {
        return Err(format!(
            "{} bias values for {out_channels} output channels",
            b.dims()[0]
        ));
    }
    Ok(())
}

/// `Conv`: (X, W `[out, in/group, kh, kw]`, optional B).
#[derive(Debug)]
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

impl Op for Conv {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let x = take_float(&mut inputs, 0)?.as4()?;
        let w = float(&inputs, 1)?.as4()?;
        let bias = optional_float(&inputs, 2)?.map(Float::as1).transpose()?;
        let groups = self.groups;
        let [_, c, h, wi] = x.dims();
        let [out, wc, kh, kw] = w.dims();
        if Some(c) != wc.checked_mul(groups) || out % groups != 0 {
            return Err(format!(
                "input has {c} channels, the weight [{out}, {wc}, {kh}, {kw}] with {groups} groups expects {}",
                wc.saturating_mul(groups)
            ));
        }
        check_window(
            [h, wi],
            [kh, kw],
            self.pads,
            self.dilations,
            bias.as_ref(),
            out,
        )?;
        Ok(Value::Float(Float::R4(conv2d(
            x,
            w,
            bias,
            ConvOptions::new_with_padding(self.strides, self.pads, self.dilations, groups),
        ))))
    }
}

/// `ConvTranspose`: (X, W `[in, out/group, kh, kw]`, optional B); symmetric pads.
#[derive(Debug)]
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
}

impl Op for ConvTranspose {
    fn eval(&self, mut inputs: Inputs, _: &Device) -> Result<Value, String> {
        let x = take_float(&mut inputs, 0)?.as4()?;
        let w = float(&inputs, 1)?.as4()?;
        let bias = optional_float(&inputs, 2)?.map(Float::as1).transpose()?;
        let groups = self.groups;
        let [n, c, h, wi] = x.dims();
        let [wc, per_group, kh, kw] = w.dims();
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
        crate::budget::check_values(
            &[
                n,
                per_group.saturating_mul(groups),
                self.out_size(0, h, kh),
                self.out_size(1, wi, kw),
            ],
            "the ConvTranspose output",
        )?;
        if let Some(b) = &bias
            && b.dims()[0] != per_group * groups
        {
            return Err(format!(
                "{} bias values for {} output channels",
                b.dims()[0],
                per_group * groups
            ));
        }
        Ok(Value::Float(Float::R4(conv_transpose2d(
            x,
            w,
            bias,
            ConvTransposeOptions::new(
                self.strides,
                self.padding,
                self.output_padding,
                self.dilations,
                groups,
            ),
        ))))
    }
}
