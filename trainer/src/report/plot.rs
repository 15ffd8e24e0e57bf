//! The loss plot: losses and discriminator outputs against steps.

use crate::training::metrics::MetricsRecord;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf32;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

/// The plot's font ships inside the binary (DejaVu Sans), so plots need no system fonts.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .ok();
    });
}

/// Mean over a trailing window, so a plot of thousands of noisy steps shows the trend.
fn smooth(values: &[f32], window: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(values.len());
    let mut sum = 0.0f64;
    for (i, &v) in values.iter().enumerate() {
        sum += v as f64;
        if i >= window {
            sum -= values[i - window] as f64;
        }
        out.push((sum / (i + 1).min(window) as f64) as f32);
    }
    out
}

/// Two panels: the losses of D and G, and D(x) / D(G(z)), against the step.
pub fn save_loss_plot(records: &[MetricsRecord], path: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(!records.is_empty(), "no metrics to plot");
    register_font();
    crate::fs_atomic::write_with(path, |tmp| {
        draw(records, tmp)
            .map_err(|e| anyhow::anyhow!("{}: cannot draw the loss plot: {e}", path.display()))
    })
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf32, RangedCoordf32>>;

/// A chart on `area` with its caption, the y range and the step axis all panels share.
fn panel<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    caption: &str,
    steps: std::ops::Range<f32>,
    y: std::ops::Range<f32>,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(steps, y)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .label_style(("sans-serif", 13))
        .draw()?;
    Ok(chart)
}

fn draw(all: &[MetricsRecord], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let records: Vec<&MetricsRecord> = all.iter().filter(|r| r.quality.is_none()).collect();
    let evaluations: Vec<(f32, f32)> = all
        .iter()
        .filter_map(|r| Some((r.step as f32, r.frechet_distance()? as f32)))
        .collect();
    let window = (records.len() / 100).clamp(1, 200);
    let steps: Vec<f32> = records.iter().map(|r| r.step as f32).collect();
    let series = |f: fn(&MetricsRecord) -> f32| {
        smooth(&records.iter().map(|r| f(r)).collect::<Vec<_>>(), window)
    };
    let (first, last) = (steps[0], steps[steps.len() - 1].max(steps[0] + 1.0));

    let height = if evaluations.is_empty() { 640 } else { 940 };
    let root = BitMapBackend::new(path, (960, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, rest) = root.split_vertically(340);
    let (bottom, quality) = rest.split_vertically(300);

    let panels: [(_, &str, Vec<(&str, Vec<f32>, RGBColor)>); 2] = [
        (
            top,
            "loss",
            vec![
                ("loss D", series(|r| r.loss_d), RGBColor(200, 60, 40)),
                ("loss G", series(|r| r.loss_g), RGBColor(40, 90, 200)),
            ],
        ),
        (
            bottom,
            "discriminator output",
            vec![
                ("D(x)", series(|r| r.d_real), RGBColor(30, 150, 70)),
                ("D(G(z))", series(|r| r.d_fake), RGBColor(150, 70, 170)),
            ],
        ),
    ];
    for (area, title, lines) in panels {
        let finite = || {
            lines
                .iter()
                .flat_map(|(_, v, _)| v.iter().copied())
                .filter(|v| v.is_finite())
        };
        let max = finite().fold(0.0f32, f32::max).max(1e-3);
        // WGAN-GP's losses and critic scores go below zero; BCE's never do.
        let min = finite().fold(0.0f32, f32::min);
        let caption = if window > 1 {
            format!("{title} (mean of {window} steps)")
        } else {
            title.to_string()
        };
        let mut chart = panel(&area, &caption, first..last, min * 1.05..max * 1.05)?;
        for (label, values, color) in lines {
            chart
                .draw_series(LineSeries::new(
                    steps.iter().copied().zip(values),
                    color.stroke_width(2),
                ))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()?;
    }
    if !evaluations.is_empty() {
        let max = evaluations
            .iter()
            .map(|e| e.1)
            .fold(0.0f32, f32::max)
            .max(1e-3);
        let mut chart = panel(
            &quality,
            "Fréchet distance to the test set (classifier features; lower is better)",
            first..last,
            0.0f32..max * 1.1,
        )?;
        let color = RGBColor(220, 120, 0);
        chart.draw_series(LineSeries::new(
            evaluations.iter().copied(),
            color.stroke_width(2),
        ))?;
        chart.draw_series(
            evaluations
                .iter()
                .map(|&p| Circle::new(p, 4, color.filled())),
        )?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plot_has_a_third_panel_once_quality_is_measured() {
        let record = |step: u64, quality: Option<f64>| MetricsRecord {
            step,
            epoch: 1,
            loss_d: 0.5 + step as f32 * 0.01,
            loss_g: 1.0 - step as f32 * 0.01,
            d_real: 0.6,
            d_fake: 0.4,
            saturated: 0.0,
            images_per_sec: 100.0,
            quality: quality.map(|fd| [("frechet_distance".to_string(), fd)].into()),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("losses.png");
        let mut records: Vec<_> = (1..=20).map(|s| record(s, None)).collect();
        save_loss_plot(&records, &path).unwrap();
        assert_eq!(image::image_dimensions(&path).unwrap(), (960, 640));
        records.push(record(20, Some(42.0)));
        save_loss_plot(&records, &path).unwrap();
        assert_eq!(image::image_dimensions(&path).unwrap(), (960, 940));
    }

    #[test]
    fn smoothing_is_a_trailing_mean() {
        assert_eq!(smooth(&[1.0, 3.0, 5.0, 7.0], 2), vec![1.0, 2.0, 4.0, 6.0]);
    }
}
