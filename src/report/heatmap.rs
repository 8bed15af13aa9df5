//! Link-utilisation heatmaps: one panel per link direction, one cell per link (the
//! link leaving that node in that direction). A 2D torus is one row of panels; a 3D
//! or 4D torus is drawn as small multiples, one row per (x, y) plane, every panel on
//! the same colour scale so planes compare at a glance. The hottest links are listed
//! under the panels.

use plotters::prelude::*;
use serde_json::Value;
use std::path::Path;

/// Colour-bar steps in the legend.
pub const LEGEND_STEPS: usize = 10;

/// The utilisation of every link direction of a run, read from a result document.
#[derive(Clone, Debug)]
pub struct LinkMap {
    pub shape: Vec<usize>,
    /// (coordinates of the node, port index `2d + minus`, utilisation, failed).
    pub links: Vec<(Vec<usize>, usize, f64, bool)>,
    pub title: String,
}

/// Port index of a direction name such as `+x` or `-w`.
fn port_of(name: &str) -> Option<usize> {
    let mut c = name.chars();
    let sign = c.next()?;
    let dim = "xyzw".find(c.next()?)?;
    Some(2 * dim + (sign == '-') as usize)
}

fn direction_name(port: usize) -> String {
    let dim = ["x", "y", "z", "w"].get(port / 2).copied().unwrap_or("?");
    format!("{}{dim}", if port % 2 == 1 { '-' } else { '+' })
}

impl LinkMap {
    /// Reads the `links` and `link_stats` sections of a result document (a run with
    /// `--link-stats`).
    pub fn from_result(doc: &Value, title: &str) -> Result<LinkMap, String> {
        let missing =
            || "the result has no per-channel statistics: run it with --link-stats".to_string();
        let shape: Vec<usize> = doc
            .get("link_stats")
            .and_then(|m| m.get("shape"))
            .and_then(Value::as_array)
            .ok_or_else(missing)?
            .iter()
            .map(|x| x.as_u64().map(|v| v as usize).ok_or_else(missing))
            .collect::<Result<_, _>>()?;
        if shape.len() > 4 {
            return Err(format!(
                "heatmaps cover tori of up to 4 dimensions, this one has {}",
                shape.len()
            ));
        }
        let links = doc
            .get("links")
            .and_then(Value::as_array)
            .ok_or_else(missing)?
            .iter()
            .map(|l| {
                let coords: Vec<usize> = l["coords"]
                    .as_array()
                    .ok_or_else(missing)?
                    .iter()
                    .map(|c| c.as_u64().unwrap_or(0) as usize)
                    .collect();
                let port = l["direction"]
                    .as_str()
                    .and_then(port_of)
                    .ok_or_else(missing)?;
                Ok((
                    coords,
                    port,
                    l["utilisation"].as_f64().unwrap_or(0.0),
                    l["failed"].as_bool().unwrap_or(false),
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(LinkMap {
            shape,
            links,
            title: title.to_string(),
        })
    }

    /// The `n` busiest links as (`x,y,... dir`, utilisation), busiest first.
    pub fn hottest(&self, n: usize) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self
            .links
            .iter()
            .map(|(c, p, u, _)| {
                let c: Vec<String> = c.iter().map(usize::to_string).collect();
                (format!("({}) {}", c.join(","), direction_name(*p)), *u)
            })
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.truncate(n);
        v
    }
}

/// Sequential colour scale, pale yellow (idle) through orange to dark red (busiest).
fn colour(f: f64) -> RGBColor {
    let stops = [
        (255.0, 255.0, 204.0),
        (253.0, 141.0, 60.0),
        (189.0, 0.0, 38.0),
    ];
    let f = f.clamp(0.0, 1.0) * 2.0;
    let (i, g) = if f >= 1.0 { (1, f - 1.0) } else { (0, f) };
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * g).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Draws `map` as an SVG heatmap at `path`; returns the number of link cells drawn
/// (one per link direction).
pub fn draw(path: &Path, map: &LinkMap) -> Result<usize, String> {
    let dims = map.shape.len().max(1);
    let kx = map.shape.first().copied().unwrap_or(1);
    let ky = map.shape.get(1).copied().unwrap_or(1);
    let planes: usize = map.shape.iter().skip(2).product();
    let np = 2 * dims;
    let cell = (160 / kx.max(ky)).clamp(4, 28) as i32;
    let (pw, ph) = (cell * kx as i32, cell * ky as i32);
    let gap = 18;
    let left = if dims > 2 { 90 } else { 20 };
    let top = 70;
    let hot = map.hottest(10);
    let width = (left + np as i32 * (pw + gap) + 20).max(520);
    let grid_bottom = top + planes as i32 * (ph + gap);
    let height = grid_bottom + 60 + 16 * hot.len() as i32 + 20;
    let e = |x: &dyn std::fmt::Display| format!("plot {}: {x}", path.display());
    let root = SVGBackend::new(path, (width as u32, height as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let style = |size: i32| TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
    root.draw(&Text::new(map.title.clone(), (left, 10), style(18)))
        .map_err(|x| e(&x))?;
    let max = map.links.iter().map(|l| l.2).fold(0.0f64, f64::max);
    let scale = if max > 0.0 { max } else { 1.0 };
    for p in 0..np {
        let x0 = left + p as i32 * (pw + gap);
        root.draw(&Text::new(
            direction_name(p),
            (x0 + pw / 2 - 8, top - 20),
            style(14),
        ))
        .map_err(|x| e(&x))?;
    }
    if dims > 2 {
        for pl in 0..planes {
            let mut rest = pl;
            let names: Vec<String> = map.shape[2..]
                .iter()
                .zip(["z", "w"])
                .map(|(&k, n)| {
                    let c = rest % k;
                    rest /= k;
                    format!("{n}={c}")
                })
                .collect();
            let y0 = top + pl as i32 * (ph + gap);
            root.draw(&Text::new(names.join(" "), (8, y0 + ph / 2 - 6), style(12)))
                .map_err(|x| e(&x))?;
        }
    }
    let mut cells = 0;
    for (c, p, u, failed) in &map.links {
        let x = c.first().copied().unwrap_or(0) as i32;
        let y = c.get(1).copied().unwrap_or(0) as i32;
        let mut plane = 0;
        for (d, &k) in map.shape.iter().enumerate().skip(2).rev() {
            plane = plane * k + c.get(d).copied().unwrap_or(0);
        }
        let x0 = left + *p as i32 * (pw + gap) + x * cell;
        let y0 = top + plane as i32 * (ph + gap) + y * cell;
        let fill = if *failed {
            RGBColor(120, 120, 120)
        } else {
            colour(u / scale)
        };
        root.draw(&Rectangle::new(
            [(x0, y0), (x0 + cell - 1, y0 + cell - 1)],
            fill.filled(),
        ))
        .map_err(|x| e(&x))?;
        cells += 1;
    }
    // Colour bar.
    let ly = grid_bottom + 8;
    let step = 24;
    for i in 0..LEGEND_STEPS {
        let f = (i as f64 + 0.5) / LEGEND_STEPS as f64;
        let x0 = left + i as i32 * step;
        root.draw(&Rectangle::new(
            [(x0, ly), (x0 + step, ly + 12)],
            colour(f).filled(),
        ))
        .map_err(|x| e(&x))?;
    }
    root.draw(&Text::new(
        format!(
            "utilisation 0 .. {:.1}% (one scale for all panels; grey: failed link); in a panel x grows to the right, y downward",
            100.0 * max
        ),
        (left + LEGEND_STEPS as i32 * step + 10, ly),
        style(12),
    ))
    .map_err(|x| e(&x))?;
    let hy = ly + 24;
    root.draw(&Text::new("hottest links:", (left, hy), style(12)))
        .map_err(|x| e(&x))?;
    for (i, (name, u)) in hot.iter().enumerate() {
        root.draw(&Text::new(
            format!("{name}  {:.1}%", 100.0 * u),
            (left + 10, hy + 16 * (i as i32 + 1)),
            style(12),
        ))
        .map_err(|x| e(&x))?;
    }
    root.present().map_err(|x| e(&x))?;
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_names_round_trip() {
        for p in 0..8 {
            assert_eq!(port_of(&direction_name(p)), Some(p));
        }
        assert_eq!(port_of("+q"), None);
    }

    #[test]
    fn colour_scale_runs_from_pale_to_dark() {
        assert_eq!(colour(0.0), RGBColor(255, 255, 204));
        assert_eq!(colour(1.0), RGBColor(189, 0, 38));
        assert_eq!(colour(0.5), RGBColor(253, 141, 60));
    }
}
