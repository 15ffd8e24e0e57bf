//! A sample grid: which images it shows, how many a row, and its pixels.
//!
//! `gantry sample`, the training loop's epoch grids and the page all lay out and draw
//! grids here, so the same seed and count give the same picture in every place a user
//! looks.

/// Pixels between images and around the grid.
pub const PAD: usize = 2;
/// The grey of the gaps.
pub const BACKGROUND: u8 = 24;
/// An upscaler's grid shows this many source / upscale / original triples a row.
pub const TRIPLES_PER_ROW: usize = 4;
/// The most images one grid holds: 64×64 of them, a 4096-pixel-wide PNG of 64×64 faces.
/// A count beyond it is a typo (`--n 100000000`), refused before anything is allocated.
pub const MAX_IMAGES: usize = 4096;

/// Which images a grid shows and how many a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridLayout {
    /// The images in the grid.
    pub count: usize,
    pub columns: usize,
    /// A conditional model's label for each image, in grid order.
    pub labels: Option<Vec<i64>>,
}

impl GridLayout {
    /// `count` images of a generator of z in ⌈√count⌉ columns. A conditional model with
    /// `classes` draws class `label` in every cell or, without one, one row per class (row
    /// `k` has label `k`): all classes are shown, `classes × ⌈√count⌉` images.
    pub fn samples(
        count: usize,
        classes: Option<usize>,
        label: Option<i64>,
    ) -> Result<Self, String> {
        if count == 0 {
            return Err("a grid needs at least one image".into());
        }
        if count > MAX_IMAGES {
            return Err(format!("{count} images: a grid holds at most {MAX_IMAGES}"));
        }
        let columns = square_columns(count);
        if let Some(classes) = classes.filter(|_| label.is_none())
            && classes.saturating_mul(columns) > MAX_IMAGES
        {
            return Err(format!(
                "{classes} class rows of {columns}: a grid holds at most {MAX_IMAGES} images"
            ));
        }
        match (classes, label) {
            (None, None) => Ok(Self {
                count,
                columns,
                labels: None,
            }),
            (None, Some(_)) => Err("the model is not conditional: it takes no label".into()),
            (Some(classes), Some(label)) => {
                if !(0..classes as i64).contains(&label) {
                    return Err(format!("label {label}: the model has classes 0..{classes}"));
                }
                Ok(Self {
                    count,
                    columns,
                    labels: Some(vec![label; count]),
                })
            }
            (Some(classes), None) => {
                let labels: Vec<i64> = (0..classes as i64)
                    .flat_map(|k| std::iter::repeat_n(k, columns))
                    .collect();
                Ok(Self {
                    count: labels.len(),
                    columns,
                    labels: Some(labels),
                })
            }
        }
    }

    /// An upscaler's grid of `pictures` source / upscale / original triples.
    pub fn triples(pictures: usize) -> Self {
        Self {
            count: 3 * pictures,
            columns: 3 * pictures.clamp(1, TRIPLES_PER_ROW),
            labels: None,
        }
    }

    pub fn rows(&self) -> usize {
        self.count.div_ceil(self.columns.max(1))
    }
}

/// ⌈√n⌉, the columns of a square-ish grid.
pub fn square_columns(n: usize) -> usize {
    let mut columns = (n as f64).sqrt().ceil() as usize;
    // Exact for any n: floating point may be one off for huge counts.
    while columns * columns < n {
        columns += 1;
    }
    while columns > 1 && (columns - 1) * (columns - 1) >= n {
        columns -= 1;
    }
    columns.max(1)
}

/// An RGB picture, row-major, 3 bytes a pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Picture {
    /// The same pixels with an opaque alpha byte each (a canvas's `ImageData`).
    pub fn rgba(&self) -> Vec<u8> {
        self.rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    }
}

/// One value of an image with values in `[lo, hi]` as a byte: `(v − lo) / (hi − lo)`,
/// clamped to [0, 1], times 255, plus ½, floored, in f32, in that order. The grids, the PNGs
/// of `gantry sample --out-dir`, and the graph `gantry export --for torch-fidelity` appends
/// (Sub, Div, Clip, Mul, Add, Floor, Cast) all compute it so, so each gives the same bytes.
pub fn byte(v: f32, [lo, hi]: [f32; 2]) -> u8 {
    (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0 + 0.5).floor() as u8
}

/// Draw `values` (`[n, c, h, w]` row-major, c = 1 or 3, values in `range`) with `columns`
/// images a row and `pad` pixels between and around them. Grey images become grey RGB.
pub fn draw(
    values: &[f32],
    [n, c, h, w]: [usize; 4],
    columns: usize,
    range: [f32; 2],
    pad: usize,
) -> Result<Picture, String> {
    if c != 1 && c != 3 {
        return Err(format!("grid images need 1 or 3 channels, got {c}"));
    }
    let size = n
        .checked_mul(c)
        .and_then(|v| v.checked_mul(h))
        .and_then(|v| v.checked_mul(w));
    if size != Some(values.len()) {
        return Err(format!(
            "{} values for shape [{n}, {c}, {h}, {w}]",
            values.len()
        ));
    }
    if n == 0 {
        return Err("no images to lay out".into());
    }
    let [lo, hi] = range;
    if !(hi > lo) || !lo.is_finite() || !hi.is_finite() {
        return Err(format!("value range [{lo}, {hi}] is empty"));
    }
    let columns = columns.clamp(1, n);
    let rows = n.div_ceil(columns);
    let width = columns * (w + pad) + pad;
    let height = rows * (h + pad) + pad;
    let mut rgb = vec![BACKGROUND; width * height * 3];
    let byte = |v: f32| byte(v, range);
    for (i, image) in values.chunks_exact(c * h * w).enumerate() {
        let (ox, oy) = (
            pad + (i % columns) * (w + pad),
            pad + (i / columns) * (h + pad),
        );
        for y in 0..h {
            for x in 0..w {
                let at = |ch: usize| byte(image[ch * h * w + y * w + x]);
                let pixel = if c == 1 {
                    [at(0); 3]
                } else {
                    [at(0), at(1), at(2)]
                };
                let o = ((oy + y) * width + ox + x) * 3;
                rgb[o..o + 3].copy_from_slice(&pixel);
            }
        }
    }
    Ok(Picture { width, height, rgb })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_past_its_limit_is_refused_before_anything_is_drawn() {
        let err = GridLayout::samples(100_000_000, None, None).unwrap_err();
        assert!(err.contains("at most 4096"), "{err}");
        let err = GridLayout::samples(4096, Some(100), None).unwrap_err();
        assert!(err.contains("100 class rows of 64"), "{err}");
        assert_eq!(GridLayout::samples(4096, None, None).unwrap().count, 4096);
    }

    #[test]
    fn one_row_per_class_shows_every_class() {
        let layout = GridLayout::samples(64, Some(10), None).unwrap();
        assert_eq!((layout.count, layout.columns, layout.rows()), (80, 8, 10));
        let labels = layout.labels.unwrap();
        assert_eq!(&labels[..9], &[0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(labels[79], 9);
        let one = GridLayout::samples(16, Some(10), Some(7)).unwrap();
        assert_eq!((one.count, one.columns), (16, 4));
        assert!(one.labels.unwrap().iter().all(|&l| l == 7));
        assert!(GridLayout::samples(16, Some(10), Some(10)).is_err());
        assert!(GridLayout::samples(16, None, Some(1)).is_err());
        assert!(GridLayout::samples(0, None, None).is_err());
    }

    #[test]
    fn columns_are_the_ceiling_of_the_square_root() {
        for (n, columns) in [(1, 1), (2, 2), (4, 2), (5, 3), (64, 8), (65, 9), (100, 10)] {
            assert_eq!(GridLayout::samples(n, None, None).unwrap().columns, columns);
        }
        assert_eq!(GridLayout::triples(10).columns, 12);
        assert_eq!(GridLayout::triples(1).columns, 3);
    }

    #[test]
    fn a_grid_has_the_right_size_and_pixels() {
        // 5 images of 3×4: 3 columns, 2 rows.
        let mut values = vec![-1.0; 5 * 3 * 4];
        values[0] = 1.0;
        let grid = draw(&values, [5, 1, 3, 4], 3, [-1.0, 1.0], PAD).unwrap();
        assert_eq!(
            (grid.width, grid.height),
            (3 * (4 + PAD) + PAD, 2 * (3 + PAD) + PAD)
        );
        let at = |x: usize, y: usize| &grid.rgb[(y * grid.width + x) * 3..][..3];
        assert_eq!(at(PAD, PAD), [255, 255, 255]);
        assert_eq!(at(PAD + 1, PAD), [0, 0, 0]);
        assert_eq!(at(0, 0), [BACKGROUND; 3]);
        assert_eq!(grid.rgba().len(), grid.width * grid.height * 4);
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(draw(&[0.0; 10], [1, 1, 3, 3], 1, [-1.0, 1.0], PAD).is_err());
        assert!(draw(&[0.0; 8], [2, 2, 2, 1], 1, [-1.0, 1.0], PAD).is_err());
        assert!(draw(&[0.0; 9], [1, 1, 3, 3], 1, [1.0, 1.0], PAD).is_err());
        assert!(draw(&[], [usize::MAX, 3, 2, 2], 1, [-1.0, 1.0], PAD).is_err());
    }
}
