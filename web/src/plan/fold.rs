//! Folding a BatchNorm with constant statistics into the layer before it: the layer's
//! weights are scaled per output channel and its bias shifted, once at load, so the
//! BatchNorm costs nothing per call. (PyTorch's dynamo exporter folds them itself; gantry's
//! exports and TorchScript's keep them.)

use crate::ops::norm::BatchNorm;
use crate::value::Float;
use burn::tensor::Device;

/// A BatchNorm as `y = x·scale + shift` per channel.
pub struct Affine {
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

impl Affine {
    /// From the BatchNorm's constant (scale, B, mean, var).
    pub fn of_batch_norm(bn: &BatchNorm, params: [&Float; 4]) -> Result<Self, String> {
        let [gamma, beta, mean, var] = params.map(|p| p.clone().values());
        let (scale, shift) = bn.affine(&gamma, &beta, &mean, &var)?;
        Ok(Affine { scale, shift })
    }

    pub fn channels(&self) -> usize {
        self.scale.len()
    }

    /// The affine's scale and shift as constants `[C]`.
    pub fn tensors(&self, device: &Device) -> Result<(Float, Float), String> {
        let c = self.channels();
        Ok((
            Float::from_values(self.scale.clone(), &[c], device)?,
            Float::from_values(self.shift.clone(), &[c], device)?,
        ))
    }

    /// The bias after the fold: `b·scale + shift` (a missing bias is 0).
    fn bias(&self, bias: Option<&Float>, device: &Device) -> Result<Float, String> {
        let c = self.channels();
        let b = match bias {
            Some(b) => b.clone().values(),
            None => vec![0.0; c],
        };
        if b.len() != c {
            return Err(format!("{} bias values for {c} channels", b.len()));
        }
        let folded = (0..c)
            .map(|i| b[i].mul_add(self.scale[i], self.shift[i]))
            .collect();
        Float::from_values(folded, &[c], device)
    }

    /// Scale `weight`'s values, `output_channel(i)` giving the output channel of its `i`-th
    /// block of `block` values.
    fn scale_blocks(
        &self,
        weight: &Float,
        block: usize,
        output_channel: impl Fn(usize) -> usize,
        device: &Device,
    ) -> Result<Float, String> {
        let dims = weight.dims();
        let mut values = weight.clone().values();
        for (i, chunk) in values.chunks_mut(block.max(1)).enumerate() {
            let s = self.scale[output_channel(i)];
            chunk.iter_mut().for_each(|v| *v *= s);
        }
        Float::from_values(values, &dims, device)
    }

    /// Into a `Conv` weight `[out, in/group, kh, kw]` and bias: `None` if the shapes do not
    /// line up (the BatchNorm then runs on its own).
    pub fn into_conv(
        &self,
        weight: &Float,
        bias: Option<&Float>,
        device: &Device,
    ) -> Result<Option<(Float, Float)>, String> {
        let dims = weight.dims();
        if dims.len() != 4 || dims[0] != self.channels() {
            return Ok(None);
        }
        let block = dims[1] * dims[2] * dims[3];
        let w = self.scale_blocks(weight, block, |i| i, device)?;
        Ok(Some((w, self.bias(bias, device)?)))
    }

    /// Into a `ConvTranspose` weight `[in, out/group, kh, kw]` with `groups` and its bias.
    pub fn into_conv_transpose(
        &self,
        weight: &Float,
        bias: Option<&Float>,
        groups: usize,
        device: &Device,
    ) -> Result<Option<(Float, Float)>, String> {
        let dims = weight.dims();
        if dims.len() != 4 || groups == 0 || dims[0] % groups != 0 {
            return Ok(None);
        }
        let [inputs, per_group, kh, kw] = [dims[0], dims[1], dims[2], dims[3]];
        if per_group * groups != self.channels() {
            return Ok(None);
        }
        let inputs_per_group = inputs / groups;
        // Block i is weight[ci, j] for ci = i / per_group, j = i % per_group: output channel
        // (ci's group)·per_group + j.
        let w = self.scale_blocks(
            weight,
            kh * kw,
            |i| (i / per_group / inputs_per_group) * per_group + i % per_group,
            device,
        )?;
        Ok(Some((w, self.bias(bias, device)?)))
    }

    /// Into a `Gemm`'s B (`[K, N]`, or `[N, K]` when `trans_b`) and C scaled by `beta`: the
    /// folded Gemm takes beta = 1. `None` if C is not one value per output column.
    pub fn into_gemm(
        &self,
        b: &Float,
        c: Option<&Float>,
        trans_b: bool,
        beta: f32,
        device: &Device,
    ) -> Result<Option<(Float, Float)>, String> {
        let dims = b.dims();
        let n = self.channels();
        if dims.len() != 2 || dims[usize::from(!trans_b)] != n {
            return Ok(None);
        }
        let c = match c {
            Some(c) if c.dims().iter().product::<usize>() != n || c.dims().last() != Some(&n) => {
                return Ok(None);
            }
            Some(c) => Some(Float::from_values(
                c.clone().values().iter().map(|v| v * beta).collect(),
                &[n],
                device,
            )?),
            None => None,
        };
        let w = if trans_b {
            // [N, K]: row n is output column n.
            self.scale_blocks(b, dims[1], |i| i, device)?
        } else {
            // [K, N]: every row holds one value per output column.
            self.scale_blocks(b, 1, |i| i % n, device)?
        };
        Ok(Some((w, self.bias(c.as_ref(), device)?)))
    }
}
