//! SVG plots: latency and throughput against load, speedup against nodes, time profiles.
//!
//! Every plot keeps its legend in a panel to the right of the data, so no curve hides
//! behind it, and picks its own tick positions (the data's x values, or 1-2-5 steps on
//! log axes) so that tick labels never run into each other.

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Size of every plot, legend panel included.
const SIZE: (u32, u32) = (960, 560);
/// Width of the legend panel on the right.
const LEGEND_WIDTH: u32 = 230;
/// Most tick labels on an axis.
const MAX_TICKS: usize = 12;

/// A named series of (x, y) points.
pub type Series = (String, Vec<(f64, f64)>);

/// How one legend entry is drawn.
enum Mark {
    Line(RGBAColor),
    Dashed(RGBAColor),
    Block(RGBAColor),
}

/// Strong, distinguishable colours (no pale yellow that vanishes on white).
const COLORS: [(u8, u8, u8); 8] = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (23, 190, 207),
];

fn color(i: usize) -> RGBAColor {
    let (r, g, b) = COLORS[i % COLORS.len()];
    RGBColor(r, g, b).to_rgba()
}

fn reference_color() -> RGBAColor {
    RGBColor(110, 110, 110).to_rgba()
}

/// Splits the drawing into the plot area and the legend panel, and draws the legend.
fn with_legend<'a>(
    root: &DrawingArea<SVGBackend<'a>, Shift>,
    entries: &[(String, Mark)],
    e: &dyn Fn(&dyn std::fmt::Display) -> String,
) -> Result<DrawingArea<SVGBackend<'a>, Shift>, String> {
    let (plot, legend) = root.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let font = ("sans-serif", 15).into_font();
    for (i, (name, mark)) in entries.iter().enumerate() {
        let y = 70 + 26 * i as i32;
        match mark {
            Mark::Line(c) => legend
                .draw(&PathElement::new(vec![(8, y), (38, y)], c.stroke_width(2)))
                .map_err(|x| e(&x))?,
            Mark::Dashed(c) => {
                for k in 0..3 {
                    legend
                        .draw(&PathElement::new(
                            vec![(8 + 11 * k, y), (14 + 11 * k, y)],
                            c.stroke_width(2),
                        ))
                        .map_err(|x| e(&x))?;
                }
            }
            Mark::Block(c) => legend
                .draw(&Rectangle::new([(14, y - 6), (30, y + 6)], c.filled()))
                .map_err(|x| e(&x))?,
        }
        legend
            .draw(&Text::new(name.clone(), (46, y - 8), font.clone()))
            .map_err(|x| e(&x))?;
    }
    Ok(plot)
}

/// Labels on a linear axis: few enough that they never run into each other; the
/// plotting crate places them at round values.
const LINEAR_LABELS: usize = 8;

/// The label of category `i` at x = i; nothing between categories.
fn category_label(cats: &[String], x: f64) -> String {
    let i = x.round();
    if i >= 0.0 && (x - i).abs() < 1e-6 {
        cats.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// Draws the reference curve (dashed, if any) and the series as lines with point
/// markers; earlier series are drawn wider, so a series that coincides with a later one
/// (packet and network latency at low load) still shows as a border around it.
fn draw_series<'a, DB: DrawingBackend + 'a, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'a, DB, CT>,
    reference: Option<&[(f64, f64)]>,
    series: &[Series],
    e: &dyn Fn(&dyn std::fmt::Display) -> String,
) -> Result<(), String> {
    if let Some(pts) = reference {
        chart
            .draw_series(DashedLineSeries::new(
                pts.iter().copied(),
                6,
                5,
                reference_color().stroke_width(2),
            ))
            .map_err(|x| e(&x))?;
    }
    let n = series.len();
    for (i, (_, s)) in series.iter().enumerate() {
        let c = color(i);
        let wider = (n - 1 - i).min(3) as u32;
        chart
            .draw_series(LineSeries::new(
                s.iter().copied(),
                c.stroke_width(2 + 2 * wider),
            ))
            .map_err(|x| e(&x))?;
        chart
            .draw_series(
                s.iter()
                    .map(|&p| Circle::new(p, 3 + 2 * wider as i32, c.filled())),
            )
            .map_err(|x| e(&x))?;
    }
    Ok(())
}

/// Tick positions for a log axis over [lo, hi]: 1-2-5 per decade, or whole decades
/// when that would be too many.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for mults in [&[1.0, 2.0, 5.0][..], &[1.0][..]] {
        out.clear();
        let mut dec = 10f64.powf(lo.log10().floor());
        while dec <= hi * 10.0 && out.len() <= 100 {
            for m in mults {
                let v = m * dec;
                if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                    out.push(v);
                }
            }
            dec *= 10.0;
        }
        if out.len() <= MAX_TICKS {
            break;
        }
    }
    out
}

/// Ticks at the data's own x values (node counts), thinned to at most `MAX_TICKS`.
fn data_ticks(xs: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    let every = v.len().div_ceil(MAX_TICKS).max(1);
    v.into_iter().step_by(every).collect()
}

/// A tick label: integers without decimals, others with up to 4 significant digits.
fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) && v.abs() < 1e9 {
        return format!("{}", v.round() as i64);
    }
    let s = format!("{v:.4}");
    let s: &str = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

/// Options of [`line_plot`].
#[derive(Default)]
pub struct LineOptions {
    /// A dashed grey reference line (e.g. accepted = offered), drawn under the data.
    pub reference: Option<Series>,
    /// Labels of a categorical x axis: point `i` of every series sits at x = i.
    pub categories: Option<Vec<String>>,
}

/// A line plot of named series, from 0 on both axes, legend beside the data.
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    opts: &LineOptions,
) -> Result<(), String> {
    let all = series
        .iter()
        .chain(opts.reference.iter())
        .flat_map(|(_, s)| s.iter());
    let (mut x1, mut y1, mut any) = (0.0f64, 0.0f64, false);
    for &(x, y) in all {
        x1 = x1.max(x);
        y1 = y1.max(y);
        any = true;
    }
    if !any {
        return Err("nothing to plot".into());
    }
    let (x_top, x_ticks) = match &opts.categories {
        Some(c) => (c.len().saturating_sub(1) as f64 + 0.5, c.len().max(1)),
        None => (if x1 > 0.0 { x1 * 1.05 } else { 1.0 }, LINEAR_LABELS),
    };
    let y_top = if y1 > 0.0 { y1 * 1.1 } else { 1.0 };
    let x_min = if opts.categories.is_some() { -0.5 } else { 0.0 };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut entries: Vec<(String, Mark)> = series
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), Mark::Line(color(i))))
            .collect();
        if let Some((n, _)) = &opts.reference {
            entries.push((n.clone(), Mark::Dashed(reference_color())));
        }
        let area = with_legend(&root, &entries, &e)?;
        let cats = opts.categories.clone();
        let mut chart = ChartBuilder::on(&area)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x_min..x_top, 0.0..y_top)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_labels(x_ticks)
            .y_labels(LINEAR_LABELS)
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|x| match &cats {
                Some(c) => category_label(c, *x),
                None => tick_label(*x),
            })
            .y_label_formatter(&|y| tick_label(*y))
            .draw()
            .map_err(|x| e(&x))?;
        let reference = opts.reference.as_ref().map(|(_, pts)| pts.as_slice());
        draw_series(&mut chart, reference, series, &e)?;
        root.present().map_err(|x| e(&x))?;
    }
    // Rendered in memory, written atomically: a crash or a concurrent run never
    // leaves half a picture.
    super::atomic::write_atomic(path, svg.as_bytes())
}

/// A log-log plot of named series (e.g. speedup against node count), with an optional
/// dashed reference line (e.g. ideal speedup); x ticks at the data's x values.
pub fn log_log_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    reference: Option<&Series>,
) -> Result<(), String> {
    let pts: Vec<(f64, f64)> = series
        .iter()
        .chain(reference)
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
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.0))
        .collect();
    let x_ticks = data_ticks(&xs);
    let (ylo, yhi) = (y0 / 1.5, y1 * 1.5);
    let y_ticks = log_ticks(ylo, yhi);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut entries: Vec<(String, Mark)> = series
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), Mark::Line(color(i))))
            .collect();
        if let Some((n, _)) = reference {
            entries.push((n.clone(), Mark::Dashed(reference_color())));
        }
        let area = with_legend(&root, &entries, &e)?;
        let mut chart = ChartBuilder::on(&area)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (x0 / 1.3..x1 * 1.3).log_scale().with_key_points(x_ticks),
                (ylo..yhi).log_scale().with_key_points(y_ticks),
            )
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|x| tick_label(*x))
            .y_label_formatter(&|y| tick_label(*y))
            .draw()
            .map_err(|x| e(&x))?;
        let reference = reference.map(|(_, pts)| pts.as_slice());
        draw_series(&mut chart, reference, series, &e)?;
        root.present().map_err(|x| e(&x))?;
    }
    // Rendered in memory, written atomically: a crash or a concurrent run never
    // leaves half a picture.
    super::atomic::write_atomic(path, svg.as_bytes())
}

/// A time unit that suits `max_seconds`: (factor to multiply seconds by, name).
pub fn time_unit(max_seconds: f64) -> (f64, &'static str) {
    if max_seconds >= 1.0 {
        (1.0, "s")
    } else if max_seconds >= 1e-3 {
        (1e3, "ms")
    } else if max_seconds >= 1e-6 {
        (1e6, "us")
    } else {
        (1e9, "ns")
    }
}

/// One panel of [`stacked_bar_panels`]: a title, the bar labels, and the named parts
/// stacked in each bar (values in seconds).
pub struct BarPanel {
    pub title: String,
    pub categories: Vec<String>,
    pub parts: Vec<(String, Vec<f64>)>,
}

/// Stacked bars of times, one panel per series (e.g. compute and communication per
/// node count, one panel per algorithm and dimension count), stacked vertically with
/// one time unit chosen per panel and one legend beside them.
pub fn stacked_bar_panels(
    path: &Path,
    title: &str,
    y_label: &str,
    x_label: &str,
    panels: &[BarPanel],
) -> Result<(), String> {
    if panels.is_empty() || panels.iter().all(|p| p.categories.is_empty()) {
        return Err("nothing to plot".into());
    }
    let height = (SIZE.1 - 60).max(260 * panels.len() as u32 + 60);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let names: Vec<String> = panels
            .first()
            .map(|p| p.parts.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        let entries: Vec<(String, Mark)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), Mark::Block(color(i))))
            .collect();
        let area = with_legend(&root, &entries, &e)?;
        let area = area.titled(title, ("sans-serif", 20)).map_err(|x| e(&x))?;
        let rows = area.split_evenly((panels.len(), 1));
        for (panel, sub) in panels.iter().zip(rows.iter()) {
            let n = panel.categories.len();
            let top = (0..n)
                .map(|i| panel.parts.iter().map(|p| p.1[i]).sum::<f64>())
                .fold(0.0, f64::max);
            let (scale, unit) = time_unit(top);
            let y_top = if top > 0.0 { top * scale * 1.1 } else { 1.0 };
            let cats = panel.categories.clone();
            let mut chart = ChartBuilder::on(sub)
                .caption(&panel.title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(45)
                .y_label_area_size(70)
                .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..y_top)
                .map_err(|x| e(&x))?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n.max(1))
                .y_labels(LINEAR_LABELS)
                .x_label_formatter(&|x| category_label(&cats, *x))
                .y_label_formatter(&|y| tick_label(*y))
                .x_desc(x_label)
                .y_desc(format!("{y_label} ({unit})"))
                .draw()
                .map_err(|x| e(&x))?;
            let mut base = vec![0.0; n];
            for (k, (_, vals)) in panel.parts.iter().enumerate() {
                let c = color(k);
                let bars: Vec<_> = (0..n)
                    .map(|i| {
                        let v = vals.get(i).copied().unwrap_or(0.0) * scale;
                        let r = Rectangle::new(
                            [(i as f64 - 0.35, base[i]), (i as f64 + 0.35, base[i] + v)],
                            c.filled(),
                        );
                        base[i] += v;
                        r
                    })
                    .collect();
                chart.draw_series(bars).map_err(|x| e(&x))?;
            }
        }
        root.present().map_err(|x| e(&x))?;
    }
    // Rendered in memory, written atomically: a crash or a concurrent run never
    // leaves half a picture.
    super::atomic::write_atomic(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_few_and_readable() {
        assert_eq!(tick_label(0.1), "0.1");
        assert_eq!(category_label(&["a".into(), "b".into()], 1.0), "b");
        assert_eq!(category_label(&["a".into(), "b".into()], 0.5), "");
        let l = log_ticks(1.0, 3000.0);
        assert!(l.len() <= MAX_TICKS, "{l:?}");
        assert_eq!(tick_label(2048.0), "2048");
        assert_eq!(tick_label(0.25), "0.25");
        let d = data_ticks(&(0..30).map(|i| i as f64).collect::<Vec<_>>());
        assert!(d.len() <= MAX_TICKS);
    }

    #[test]
    fn time_units_suit_the_values() {
        assert_eq!(time_unit(0.0004).1, "us");
        assert_eq!(time_unit(0.004).1, "ms");
        assert_eq!(time_unit(2.0).1, "s");
    }
}
