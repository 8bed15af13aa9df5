//! SVG plots.

use plotters::prelude::*;
use std::path::Path;

/// Draws named series as lines with point markers, and their legend.
fn draw_lines<'a, DB: DrawingBackend + 'a, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'a, DB, CT>,
    series: &[(String, Vec<(f64, f64)>)],
    e: &dyn Fn(&dyn std::fmt::Display) -> String,
) -> Result<(), String> {
    for (i, (name, s)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(s.iter().copied(), color.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(s.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|x| e(&x))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|x| e(&x))?;
    Ok(())
}

/// A line plot of one or more named series of (x, y) points.
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), String> {
    let pts = series.iter().flat_map(|(_, s)| s.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Err("nothing to plot".into());
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (800, 560)).into_drawing_area();
    let e = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x1 * 1.05, 0.0..y1 * 1.1 + 1e-9)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(|x| e(&x))?;
    draw_lines(&mut chart, series, &e)?;
    root.present().map_err(|x| e(&x))?;
    drop(chart);
    drop(root);
    super::atomic::write_atomic(path, svg.as_bytes())
}

/// A log-log plot of named series (e.g. speedup against node count).
pub fn log_log_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), String> {
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .filter(|p| p.0 > 0.0 && p.1 > 0.0)
        .collect();
    if pts.is_empty() {
        return Err("nothing to plot".into());
    }
    let (x0, x1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (800, 560)).into_drawing_area();
    let e = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (x0 / 1.3..x1 * 1.3).log_scale(),
            (y0 / 1.5..y1 * 1.5).log_scale(),
        )
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(|x| e(&x))?;
    draw_lines(&mut chart, series, &e)?;
    root.present().map_err(|x| e(&x))?;
    drop(chart);
    drop(root);
    super::atomic::write_atomic(path, svg.as_bytes())
}

/// Stacked bars, one per category, each split into named parts (e.g. compute and
/// communication time per node count).
pub fn stacked_bars(
    path: &Path,
    title: &str,
    y_label: &str,
    categories: &[String],
    parts: &[(String, Vec<f64>)],
) -> Result<(), String> {
    let n = categories.len();
    if n == 0 {
        return Err("nothing to plot".into());
    }
    let top = (0..n)
        .map(|i| parts.iter().map(|p| p.1[i]).sum::<f64>())
        .fold(0.0, f64::max);
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (800, 560)).into_drawing_area();
    let e = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..top * 1.1 + 1e-12)
        .map_err(|x| e(&x))?;
    let cats = categories.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if i >= 0.0 && (x - i).abs() < 1e-6 {
                cats.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("nodes")
        .y_desc(y_label)
        .draw()
        .map_err(|x| e(&x))?;
    let mut base = vec![0.0; n];
    for (k, (name, vals)) in parts.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let bars: Vec<_> = (0..n)
            .map(|i| {
                let r = Rectangle::new(
                    [
                        (i as f64 - 0.35, base[i]),
                        (i as f64 + 0.35, base[i] + vals[i]),
                    ],
                    color.filled(),
                );
                base[i] += vals[i];
                r
            })
            .collect();
        chart
            .draw_series(bars)
            .map_err(|x| e(&x))?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    drop(chart);
    drop(root);
    super::atomic::write_atomic(path, svg.as_bytes())
}
