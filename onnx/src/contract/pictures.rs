//! An upscaler's pictures: the source it is given (the block means of the full-size
//! picture, as in training) and the source / upscale / original triples it is shown as.

/// Pictures as RGBA bytes (`n` pictures of `width × height`, as a canvas gives them) to
/// `[n, c, height, width]` values in [-1, 1]; one channel is grey by luma (ITU-R 601).
pub fn from_rgba(
    rgba: &[u8],
    n: usize,
    channels: usize,
    height: usize,
    width: usize,
) -> Result<Vec<f32>, String> {
    if channels != 1 && channels != 3 {
        return Err(format!("pictures have 1 or 3 channels, not {channels}"));
    }
    if n.checked_mul(height * width * 4) != Some(rgba.len()) {
        return Err(format!(
            "{} bytes are not {n} RGBA pictures of {width}×{height}",
            rgba.len()
        ));
    }
    let plane = height * width;
    let mut values = vec![0.0; n * channels * plane];
    for (k, picture) in rgba.chunks_exact(plane * 4).enumerate() {
        for (i, p) in picture.chunks_exact(4).enumerate() {
            let [r, g, b] = [p[0], p[1], p[2]].map(f32::from);
            let out = &mut values[k * channels * plane..];
            if channels == 1 {
                out[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 127.5 - 1.0;
            } else {
                for (ch, v) in [r, g, b].into_iter().enumerate() {
                    out[ch * plane + i] = v / 127.5 - 1.0;
                }
            }
        }
    }
    Ok(values)
}

/// The mean of each `scale × scale` block of `[n, c, h, w]` images: how an upscaler's
/// sources are made from full-size pictures, in training and on the page.
pub fn block_mean(
    values: &[f32],
    [n, c, h, w]: [usize; 4],
    scale: usize,
) -> Result<Vec<f32>, String> {
    if scale == 0 || h % scale != 0 || w % scale != 0 || values.len() != n * c * h * w {
        return Err(format!(
            "{} values of [{n}, {c}, {h}, {w}] cannot shrink by {scale}",
            values.len()
        ));
    }
    let (sh, sw) = (h / scale, w / scale);
    let mut out = vec![0.0; n * c * sh * sw];
    for (plane, source) in values
        .chunks_exact(h * w)
        .zip(out.chunks_exact_mut(sh * sw))
    {
        for y in 0..sh {
            for x in 0..sw {
                // The mean of each block row, then the mean of those: the order training's
                // tensor version (`mean_dim` over columns, then rows) adds in.
                let mut rows = 0.0;
                for dy in 0..scale {
                    let row = &plane[(y * scale + dy) * w + x * scale..][..scale];
                    rows += row.iter().sum::<f32>() / scale as f32;
                }
                source[y * sw + x] = rows / scale as f32;
            }
        }
    }
    Ok(out)
}

/// Each pixel of `[n, c, h, w]` images repeated `scale × scale` times (nearest neighbour).
pub fn enlarge(values: &[f32], [n, c, h, w]: [usize; 4], scale: usize) -> Vec<f32> {
    let (bh, bw) = (h * scale, w * scale);
    let mut out = vec![0.0; n * c * bh * bw];
    for (plane, big) in values
        .chunks_exact(h * w)
        .zip(out.chunks_exact_mut(bh * bw))
    {
        for y in 0..bh {
            for x in 0..bw {
                big[y * bw + x] = plane[(y / scale) * w + x / scale];
            }
        }
    }
    out
}

/// The triples an upscaler is shown as, one after another: the source enlarged, the
/// upscale, the original. `sources` is `[n, c, h, w]`; `upscaled` and `originals` are
/// `scale` times larger. Returns `3n` images.
pub fn triples(
    sources: &[f32],
    upscaled: &[f32],
    originals: &[f32],
    [n, c, h, w]: [usize; 4],
    scale: usize,
) -> Result<Vec<f32>, String> {
    let size = c * h * w * scale * scale;
    if sources.len() != n * c * h * w || upscaled.len() != n * size || originals.len() != n * size {
        return Err(format!(
            "triples of [{n}, {c}, {h}, {w}] sources scaled {scale}× got {}, {} and {} values",
            sources.len(),
            upscaled.len(),
            originals.len()
        ));
    }
    let enlarged = enlarge(sources, [n, c, h, w], scale);
    let mut out = Vec::with_capacity(3 * n * size);
    for k in 0..n {
        for part in [&enlarged, upscaled, originals] {
            out.extend_from_slice(&part[k * size..(k + 1) * size]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_means_and_enlargement() {
        let values: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mean = block_mean(&values, [1, 1, 4, 4], 2).unwrap();
        assert_eq!(mean, [2.5, 4.5, 10.5, 12.5]);
        let big = enlarge(&mean, [1, 1, 2, 2], 2);
        assert_eq!(&big[..4], &[2.5, 2.5, 4.5, 4.5]);
        assert!(block_mean(&values, [1, 1, 4, 4], 3).is_err());
    }

    #[test]
    fn triples_interleave_source_upscale_original() {
        let sources = [0.5, -0.5];
        let up = [1.0; 8];
        let orig = [-1.0; 8];
        let t = triples(&sources, &up, &orig, [2, 1, 1, 1], 2).unwrap();
        assert_eq!(t.len(), 24);
        assert_eq!(&t[..4], &[0.5; 4]);
        assert_eq!(&t[4..8], &[1.0; 4]);
        assert_eq!(&t[8..12], &[-1.0; 4]);
        assert_eq!(&t[12..16], &[-0.5; 4]);
    }

    #[test]
    fn pictures_to_values() {
        let white_black = [255, 255, 255, 255, 0, 0, 0, 255];
        assert_eq!(
            from_rgba(&white_black, 1, 3, 1, 2).unwrap(),
            [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
        );
        let grey = from_rgba(&white_black, 1, 1, 1, 2).unwrap();
        assert!((grey[0] - 1.0).abs() < 1e-5 && grey[1] == -1.0);
        assert!(from_rgba(&white_black, 2, 1, 1, 2).is_err());
    }
}
