//! The loss curves as an SVG.

use std::path::Path;

use plotters::prelude::*;

use super::checkpoint::History;

/// Draws training (smoothed) and validation bits per character against the
/// step, with the unigram baseline, into `path` (SVG).
pub fn loss_curves(path: &Path, history: &History, baseline: f64, title: &str) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = history.train_bits.len().max(2);
    let smooth: Vec<(usize, f64)> = history
        .train_bits
        .iter()
        .enumerate()
        .scan(None, |ema: &mut Option<f64>, (i, &b)| {
            let e = ema.map_or(b, |e| 0.95 * e + 0.05 * b);
            *ema = Some(e);
            Some((i + 1, e))
        })
        .collect();
    let top = history.train_bits.iter().cloned().fold(baseline, f64::max).min(2.0 * baseline) * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0usize..n, 0f64..top)?;
    chart.configure_mesh().x_desc("step").y_desc("bits per character").draw()?;
    chart
        .draw_series(LineSeries::new(smooth, &BLUE))?
        .label("train (EMA)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(history.val_bits.iter().copied(), RED.stroke_width(2)))?
        .label("validation")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .draw_series(LineSeries::new(vec![(0, baseline), (n, baseline)], BLACK.mix(0.5)))?
        .label("unigram baseline")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
    root.present()?;
    Ok(())
}
