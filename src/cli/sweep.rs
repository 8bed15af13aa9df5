//! `torsim sweep`: run a config over a range of one parameter.
//!
//! The swept key is applied as one more `--set` override on top of the user's, so any
//! dotted config key can be swept. Every point's config is resolved (and its routing
//! checked for deadlock freedom) before the first simulation starts, so a typo in point
//! 9 does not surface after minutes of simulation. Points run in the order given; the
//! sweep stops at the first point past saturation, because the remaining, higher-load
//! points would only take longer to drain and say nothing new (`--keep-going` runs
//! them anyway, for sweeps where the swept key is not the load).

use super::par::Par;
use super::{ConfigArgs, progress_bar, write_file};
use clap::Args;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use torsim::config::{self, Config, Params};
use torsim::experiment::run::{check_routing, run_synthetic_on};
use torsim::report;

/// A point whose mean latency exceeds this multiple of the first point's is taken as
/// past saturation, even if its measured packets drained within `max_drain_cycles`.
const LATENCY_BLOWUP: f64 = 10.0;

/// Most points a `START:STOP:STEP` range may expand to (guards against a typo'd step).
const MAX_POINTS: usize = 10_000;

#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub cfg: ConfigArgs,
    /// The swept key and its values: `KEY=START:STOP:STEP` (stop included) or
    /// `KEY=V1,V2,...`, e.g. `traffic.injection_rate=0.05:0.6:0.05`.
    #[arg(long, value_name = "KEY=VALUES")]
    pub param: String,
    /// Directory for the CSV, JSON and SVG outputs.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out_dir: PathBuf,
    /// Base name of the outputs [default: the config file stem + "-sweep"].
    #[arg(long)]
    pub name: Option<String>,
    /// Worker threads per run.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Split the network into this many partitions (slabs of the longest dimension);
    /// default: one per thread.
    #[arg(long)]
    pub partitions: Option<usize>,
    /// Run every point, even past saturation (saturated points are still flagged).
    /// The early stop assumes load rises along the sweep; use this for other keys.
    #[arg(long)]
    pub keep_going: bool,
}

/// A parsed `--param`: the dotted key and the values, as text for `--set`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub key: String,
    pub values: Vec<String>,
}

/// Parses `KEY=START:STOP:STEP` or `KEY=V1,V2,...`.
///
/// Range points are computed as `start + i*step` rounded to 1e-9, not by repeated
/// addition, so `0.05:0.6:0.05` ends exactly at 0.6 and prints as `0.15`, not
/// `0.15000000000000002`. List items are kept as written (they are TOML values, e.g.
/// `"uniform"` or `[4, 4]`); commas inside brackets or quotes do not split.
pub fn parse_param(spec: &str) -> Result<Sweep, String> {
    let err = |m: &str| format!("--param {spec}: {m}");
    let (key, vals) = spec
        .split_once('=')
        .ok_or_else(|| err("expected KEY=START:STOP:STEP or KEY=V1,V2,..."))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|p| p.trim().is_empty()) {
        return Err(err(
            "the key must be a dotted config key, e.g. traffic.injection_rate",
        ));
    }
    let vals = vals.trim();
    if vals.is_empty() {
        return Err(err("no values given"));
    }
    let values = if !vals.contains(',') && vals.matches(':').count() == 2 {
        parse_range(vals).map_err(|m| err(&m))?
    } else {
        let items = split_list(vals);
        if let Some(i) = items.iter().position(|v| v.is_empty()) {
            return Err(err(&format!("list item {} is empty", i + 1)));
        }
        items
    };
    Ok(Sweep {
        key: key.to_string(),
        values,
    })
}

fn parse_range(r: &str) -> Result<Vec<String>, String> {
    let num = |what: &str, s: &str| -> Result<f64, String> {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{what} `{}` is not a number", s.trim()))
    };
    let mut it = r.split(':');
    let (a, b, c) = match (it.next(), it.next(), it.next()) {
        (Some(a), Some(b), Some(c)) => (a, b, c),
        _ => return Err("expected START:STOP:STEP".into()),
    };
    let (start, stop, step) = (num("start", a)?, num("stop", b)?, num("step", c)?);
    if step <= 0.0 {
        return Err(format!("the step must be positive, got {step}"));
    }
    if stop < start {
        return Err(format!(
            "stop {stop} is below start {start}; list the values instead for a descending sweep"
        ));
    }
    // The tolerance keeps an exactly reachable stop (0.6 = 0.05 + 11*0.05) despite
    // binary rounding of the quotient.
    let steps = ((stop - start) / step + 1e-9).floor();
    if steps >= MAX_POINTS as f64 {
        return Err(format!(
            "{} points; at most {MAX_POINTS} are allowed",
            steps + 1.0
        ));
    }
    Ok((0..=steps as usize)
        .map(|i| {
            let v = ((start + i as f64 * step) * 1e9).round() / 1e9;
            // `{}` prints 4.0 as `4`, so integer keys (buffer_flits) sweep too.
            format!("{v}")
        })
        .collect())
}

/// Splits on commas outside brackets and quotes, trimming each item.
fn split_list(s: &str) -> Vec<String> {
    let (mut items, mut cur, mut depth, mut quote) = (Vec::new(), String::new(), 0i32, None);
    for ch in s.chars() {
        match (quote, ch) {
            (Some(q), _) if ch == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(ch),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth <= 0 => {
                items.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    items.push(cur.trim().to_string());
    items
}

/// One resolved sweep point.
struct Point {
    value: String,
    config: Config,
    params: Params,
}

/// Looks up a number in a result document by path (0 when absent).
fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |x, k| &x[*k]).as_f64().unwrap_or(0.0)
}

const CSV_COLUMNS: &[&str] = &[
    "offered_flits_per_node_cycle",
    "accepted_flits_per_node_cycle",
    "latency_mean_cycles",
    "latency_p50_cycles",
    "latency_p99_cycles",
    "latency_max_cycles",
    "network_latency_mean_cycles",
    "network_latency_p50_cycles",
    "network_latency_p99_cycles",
    "network_latency_max_cycles",
    "latency_mean_ns",
    "avg_hops",
    "saturated",
    "past_saturation",
    "cycles",
    "wall_seconds",
];

/// Quotes a CSV field when it needs it (list values such as `[4, 4]` contain commas).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(key: &str, rows: &[(String, Value, bool)]) -> String {
    let mut out = csv_field(key);
    for c in CSV_COLUMNS {
        out += ",";
        out += c;
    }
    out += "\n";
    for (value, v, saturated) in rows {
        let mut f = vec![
            csv_field(value),
            num(v, &["traffic", "offered_flits_per_node_cycle"]).to_string(),
            num(v, &["traffic", "accepted_flits_per_node_cycle"]).to_string(),
        ];
        for k in ["latency_cycles", "network_latency_cycles"] {
            for s in ["mean", "p50", "p99", "max"] {
                f.push(num(v, &[k, s]).to_string());
            }
        }
        f.push(num(v, &["latency_ns", "mean"]).to_string());
        f.push(num(v, &["avg_hops"]).to_string());
        f.push(v["run"]["saturated"].as_bool().unwrap_or(false).to_string());
        f.push(saturated.to_string());
        f.push(v["run"]["cycles"].as_u64().unwrap_or(0).to_string());
        f.push(num(v, &["performance", "wall_seconds"]).to_string());
        out += &f.join(",");
        out += "\n";
    }
    out
}

/// Runs the sweep; under MPI every rank runs every point together (each point is one
/// parallel run) and rank 0 alone reports and writes the outputs.
pub fn run(a: SweepArgs, par: &Par) -> Result<(), String> {
    let sweep = parse_param(&a.param)?;
    let name = match &a.name {
        Some(n) if n.trim().is_empty() => return Err("--name is empty".into()),
        Some(n) => n.clone(),
        None => format!(
            "{}-sweep",
            a.cfg
                .config
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "torsim".into())
        ),
    };

    // Resolve every point before simulating anything: config and routing errors are
    // cheap to find and should not cost the user the points before them.
    let resolve = || -> Result<Vec<Point>, String> {
        let mut points = Vec::with_capacity(sweep.values.len());
        for value in &sweep.values {
            let mut sets = a.cfg.set.clone();
            sets.push(format!("{}={value}", sweep.key));
            let at = |m: String| format!("{}={value}: {m}", sweep.key);
            let (config, params) =
                config::load(&a.cfg.config, &sets).map_err(|e| at(e.to_string()))?;
            check_routing(&params, 1).map_err(|e| at(e.to_string()))?;
            points.push(Point {
                value: value.clone(),
                config,
                params,
            });
        }
        Ok(points)
    };
    let points = par.agree(resolve())?;
    let configs: Vec<&Config> = points.iter().map(|p| &p.config).collect();
    par.same_everywhere(
        "config",
        &serde_json::to_vec(&configs).map_err(|e| e.to_string())?,
    )?;

    let n = points.len();
    let root = par.is_root();
    let pb = if root {
        progress_bar(n as u64, "sweep")
    } else {
        None
    };
    // Every point is split the same way; a note names a cap once, for the first point.
    let opts = match points.first() {
        // The threads asked for, not those of the first point's partitions: a later
        // point may have more partitions (the engine caps the workers of each point).
        Some(pt) => torsim::engine::sim::RunOptions {
            threads: a.threads,
            ..super::run_options(&pt.params, false, a.threads, a.partitions, par, false)?
        },
        None => return Err("the sweep has no points".into()),
    };
    let mut rows: Vec<(String, Value, bool)> = Vec::with_capacity(n);
    let mut first_mean = None;
    let mut stopped_at = None;
    for (i, pt) in points.iter().enumerate() {
        if let Some(pb) = &pb {
            pb.set_message(pt.value.clone());
        }
        let res = run_synthetic_on(&pt.params, &opts, par.comm(), true, &mut |_| {});
        let outcome = match res {
            Ok(o) => o,
            Err(e) => {
                if let Some(pb) = &pb {
                    pb.finish_and_clear();
                }
                return Err(format!(
                    "point {} of {n} ({}={}) failed; no output written: {e}",
                    i + 1,
                    sweep.key,
                    pt.value
                ));
            }
        };
        let mut v = report::result_json(&pt.config, &pt.params, &outcome, a.threads);
        let mean = num(&v, &["latency_cycles", "mean"]);
        let first = *first_mean.get_or_insert(mean);
        let blowup = first > 0.0 && mean > LATENCY_BLOWUP * first;
        let saturated = outcome.saturated || blowup;
        let reason = if outcome.saturated {
            Some(format!(
                "measured packets did not drain within {} cycles",
                pt.params.max_drain_cycles
            ))
        } else if blowup {
            Some(format!(
                "mean latency {mean:.1} cycles is over {LATENCY_BLOWUP}x the first point's {first:.1}"
            ))
        } else {
            None
        };
        if let Value::Object(m) = &mut v {
            m.insert(
                "sweep".into(),
                json!({
                    "key": sweep.key,
                    "value": pt.value,
                    "past_saturation": saturated,
                    "past_saturation_reason": reason,
                }),
            );
        }
        rows.push((pt.value.clone(), v, saturated));
        if let Some(pb) = &pb {
            pb.inc(1);
        }
        if let Some(r) = reason {
            if a.keep_going && root {
                let msg = format!(
                    "torsim: {}={} is past saturation ({r})",
                    sweep.key, pt.value
                );
                match &pb {
                    Some(pb) => pb.suspend(|| eprintln!("{msg}")),
                    None => eprintln!("{msg}"),
                }
            } else if !a.keep_going {
                stopped_at = Some((i, r));
                break;
            }
        }
    }
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    if !root {
        // Rank 0 writes the outputs; the job fails everywhere if that fails.
        return if par.any(false) {
            Err("rank 0 failed to write the sweep outputs".into())
        } else {
            Ok(())
        };
    }
    if let Some((i, reason)) = &stopped_at {
        let skipped = n - i - 1;
        eprintln!(
            "torsim: {}={} is past saturation ({reason}){}",
            sweep.key,
            points[*i].value,
            if skipped > 0 {
                format!("; skipped the remaining {skipped} point(s)")
            } else {
                String::new()
            }
        );
    }

    let dir = &a.out_dir;
    let csv_path = dir.join(format!("{name}.csv"));
    let json_path = dir.join(format!("{name}.json"));
    let svg_path = dir.join(format!("{name}-latency.svg"));
    let tput_path = dir.join(format!("{name}-throughput.svg"));
    let docs: Vec<&Value> = rows.iter().map(|r| &r.1).collect();
    let written = write_file(&csv_path, &csv(&sweep.key, &rows))
        .and_then(|()| {
            write_file(
                &json_path,
                &(serde_json::to_string_pretty(&docs).expect("JSON") + "\n"),
            )
        })
        .and_then(|()| {
            plot(
                [&svg_path, &tput_path],
                &sweep.key,
                &points[0].config,
                &a.cfg.config,
                &rows,
            )
        });
    if par.any(written.is_err()) {
        return written.map(|_| ());
    }
    let plotted = written?;

    print_table(&sweep.key, &rows);
    eprintln!("wrote {}", csv_path.display());
    eprintln!("wrote {}", json_path.display());
    if plotted {
        eprintln!("wrote {}", svg_path.display());
        eprintln!("wrote {}", tput_path.display());
    }
    Ok(())
}

/// Writes the latency plot and the throughput plot (accepted against offered load,
/// beside the ideal accepted = offered); returns false (with a note) when there is
/// nothing to plot.
///
/// The latency plot leaves out points past saturation: their latency covers only the
/// packets that drained and is typically orders of magnitude above the rest, which
/// would flatten the interesting part of the curve. The throughput plot keeps every
/// point (throughput past saturation is what it is for); the CSV and JSON keep all.
/// A key with non-numeric values (a pattern, a routing algorithm) is plotted on a
/// categorical axis in the order swept.
fn plot(
    paths: [&Path; 2],
    key: &str,
    config: &Config,
    config_path: &Path,
    rows: &[(String, Value, bool)],
) -> Result<bool, String> {
    let by_load = key == "traffic.injection_rate";
    let numeric: Option<Vec<f64>> = rows
        .iter()
        .map(|(value, _, _)| value.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    let categories = if by_load || numeric.is_some() {
        None
    } else {
        Some(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
    };
    let x_of = |i: usize, v: &Value| -> f64 {
        if by_load {
            num(v, &["traffic", "offered_flits_per_node_cycle"])
        } else {
            numeric.as_ref().map_or(i as f64, |xs| xs[i])
        }
    };
    let (mut lat, mut net, mut acc, mut off) = (vec![], vec![], vec![], vec![]);
    for (i, (_, v, past)) in rows.iter().enumerate() {
        let x = x_of(i, v);
        acc.push((x, num(v, &["traffic", "accepted_flits_per_node_cycle"])));
        off.push((x, num(v, &["traffic", "offered_flits_per_node_cycle"])));
        if !*past {
            lat.push((x, num(v, &["latency_cycles", "mean"])));
            net.push((x, num(v, &["network_latency_cycles", "mean"])));
        }
    }
    if rows.is_empty() {
        return Ok(false);
    }
    let title = config.name.clone().unwrap_or_else(|| {
        config_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let x_label = if by_load {
        "offered load (flits/node/cycle)".to_string()
    } else {
        key.to_string()
    };
    let omitted = rows.len() - lat.len();
    // The directory exists: the CSV was written there first.
    if lat.is_empty() {
        eprintln!("torsim: note: every point is past saturation; no latency plot written");
    } else {
        if omitted > 0 {
            eprintln!(
                "torsim: note: the latency plot leaves out {omitted} point(s) past saturation"
            );
        }
        report::plot::line_plot(
            paths[0],
            &format!("{title}: latency"),
            &x_label,
            "mean latency (cycles)",
            &[
                ("packet latency".to_string(), lat),
                ("network latency".to_string(), net),
            ],
            &report::plot::LineOptions {
                reference: None,
                categories: categories.clone(),
            },
        )?;
    }
    let (series, reference) = if by_load {
        let top = off.iter().map(|p| p.0).fold(0.0, f64::max);
        (
            vec![("accepted".to_string(), acc)],
            Some((
                "accepted = offered".to_string(),
                vec![(0.0, 0.0), (top, top)],
            )),
        )
    } else {
        (
            vec![("accepted".to_string(), acc), ("offered".to_string(), off)],
            None,
        )
    };
    report::plot::line_plot(
        paths[1],
        &format!("{title}: throughput"),
        &x_label,
        "throughput (flits/node/cycle)",
        &series,
        &report::plot::LineOptions {
            reference,
            categories,
        },
    )?;
    Ok(true)
}

fn print_table(key: &str, rows: &[(String, Value, bool)]) {
    let w = key
        .len()
        .max(rows.iter().map(|r| r.0.len()).max().unwrap_or(0));
    println!(
        "{key:>w$}  {:>8} {:>8}  {:>9} {:>7} {:>7}  {:>9}  {:>6}  past saturation",
        "offered", "accepted", "lat mean", "p99", "max", "net mean", "hops"
    );
    for (value, v, past) in rows {
        let why = if !*past {
            ""
        } else if v["run"]["saturated"].as_bool().unwrap_or(false) {
            "yes (did not drain)"
        } else {
            "yes (latency > 10x first)"
        };
        println!(
            "{value:>w$}  {:>8.4} {:>8.4}  {:>9.2} {:>7} {:>7}  {:>9.2}  {:>6.3}  {}",
            num(v, &["traffic", "offered_flits_per_node_cycle"]),
            num(v, &["traffic", "accepted_flits_per_node_cycle"]),
            num(v, &["latency_cycles", "mean"]),
            num(v, &["latency_cycles", "p99"]),
            num(v, &["latency_cycles", "max"]),
            num(v, &["network_latency_cycles", "mean"]),
            num(v, &["avg_hops"]),
            why
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_inclusive_and_exact() {
        let s = parse_param("traffic.injection_rate=0.05:0.6:0.05").unwrap();
        assert_eq!(s.key, "traffic.injection_rate");
        assert_eq!(s.values.len(), 12);
        assert_eq!(s.values[0], "0.05");
        assert_eq!(s.values[2], "0.15");
        assert_eq!(s.values[11], "0.6");
        let s = parse_param("x=0.1:0.3:0.1").unwrap();
        assert_eq!(s.values, ["0.1", "0.2", "0.3"]);
        // A stop between steps is not reached; integers print as integers.
        let s = parse_param("router.buffer_flits=4:17:4").unwrap();
        assert_eq!(s.values, ["4", "8", "12", "16"]);
        assert_eq!(parse_param("a.b=1:1:1").unwrap().values, ["1"]);
    }

    #[test]
    fn lists_keep_items_and_respect_brackets() {
        let s = parse_param("traffic.injection_rate=0.1, 0.2,0.4").unwrap();
        assert_eq!(s.values, ["0.1", "0.2", "0.4"]);
        let s = parse_param("topology.shape=[4, 4],[8,8]").unwrap();
        assert_eq!(s.values, ["[4, 4]", "[8,8]"]);
        let s = parse_param("traffic.pattern=uniform").unwrap();
        assert_eq!(s.values, ["uniform"]);
        let s = parse_param("name=\"a,b\",c").unwrap();
        assert_eq!(s.values, ["\"a,b\"", "c"]);
    }

    #[test]
    fn bad_specs_are_errors() {
        for bad in [
            "traffic.injection_rate",
            "=0.1:0.2:0.1",
            "a..b=1",
            "x=",
            "x=0.1:0.5:0",
            "x=0.1:0.5:-0.1",
            "x=0.5:0.1:0.1",
            "x=a:0.5:0.1",
            "x=0:1:inf",
            "x=0:1e9:1e-3",
            "x=0.1,,0.2",
        ] {
            assert!(parse_param(bad).is_err(), "{bad} should be rejected");
        }
    }
}
