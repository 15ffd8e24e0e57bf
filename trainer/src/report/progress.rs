//! The progression of a run as one animated GIF: the fixed-noise grid of each epoch
//! (`samples/epoch-NNN.png`) as frames, as the Fashion-MNIST seed shows its training.

use anyhow::Context;
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame};
use std::path::{Path, PathBuf};

/// Frames at most: long runs (the LFW preset's 1,000 epochs) keep evenly spaced epochs.
pub const MAX_FRAMES: usize = 100;

/// The per-epoch grids of a run's `samples` folder, in epoch order.
pub fn epoch_grids(samples: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut grids: Vec<PathBuf> = std::fs::read_dir(samples)
        .with_context(|| format!("{}: cannot list", samples.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("epoch-") && name.ends_with(".png")
        })
        .collect();
    // By epoch number: `epoch-1000.png` sorts before `epoch-101.png` as text.
    grids.sort_by_key(|p| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.trim_start_matches("epoch-").parse::<u64>().ok())
    });
    Ok(grids)
}

/// Write `samples/progress.gif` from the run's epoch grids (temp file, then rename); the
/// last frame stays up longer. Returns the GIF's path and its number of frames.
pub fn save_progress_gif(samples: &Path) -> anyhow::Result<(PathBuf, usize)> {
    let grids = epoch_grids(samples)?;
    anyhow::ensure!(
        !grids.is_empty(),
        "{}: no epoch grids yet",
        samples.display()
    );
    let step = grids.len().div_ceil(MAX_FRAMES);
    let mut chosen: Vec<&PathBuf> = grids.iter().step_by(step).collect();
    if chosen.last() != grids.last().as_ref() {
        chosen.push(grids.last().expect("non-empty"));
    }
    let path = samples.join("progress.gif");
    crate::fs_atomic::write_with(&path, |tmp| {
        let file = std::fs::File::create(tmp)
            .with_context(|| format!("{}: cannot write", tmp.display()))?;
        let mut encoder = GifEncoder::new_with_speed(std::io::BufWriter::new(file), 10);
        encoder.set_repeat(Repeat::Infinite)?;
        for (i, grid) in chosen.iter().enumerate() {
            let image = image::open(grid)
                .with_context(|| format!("{}: cannot read", grid.display()))?
                .to_rgba8();
            let ms = if i + 1 == chosen.len() { 2000 } else { 250 };
            encoder
                .encode_frame(Frame::from_parts(
                    image,
                    0,
                    0,
                    Delay::from_numer_denom_ms(ms, 1),
                ))
                .with_context(|| format!("{}: cannot encode", tmp.display()))?;
        }
        Ok(())
    })?;
    Ok((path, chosen.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gif_has_one_frame_per_epoch_grid() {
        let dir = tempfile::tempdir().unwrap();
        for epoch in 1..=3u8 {
            let image = image::RgbImage::from_pixel(8, 6, image::Rgb([epoch * 60, 0, 0]));
            image
                .save(dir.path().join(format!("epoch-{epoch:03}.png")))
                .unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let (path, frames) = save_progress_gif(dir.path()).unwrap();
        assert_eq!(frames, 3);
        let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
            std::fs::File::open(&path).unwrap(),
        ))
        .unwrap();
        use image::AnimationDecoder;
        let decoded = decoder.into_frames().collect_frames().unwrap();
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded[0].buffer().dimensions(), (8, 6));
        let red = |f: &Frame| f.buffer().get_pixel(4, 3)[0] as i32;
        assert!(
            (red(&decoded[2]) - 180).abs() <= 8,
            "last frame is epoch 3's"
        );
    }
}
