//! `torsim bench`: simulator speed on standard cases.
//!
//! Each case is a normal synthetic run of a shipped config with a few `--set`-style
//! overrides, repeated N times; the table reports medians, which shrug off the odd
//! run disturbed by other work on the machine. Speeds come from the run's own
//! `performance` figures (see [`torsim::report::result_json`]), which time the
//! simulation proper, not config loading or network construction.

use super::yardstick::{self, Yardstick};
use super::{progress_bar, write_file};
use clap::Args;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use torsim::config::{self, Config, Params};
use torsim::engine::sim::RunOptions;
use torsim::experiment::run::{check_routing, run_synthetic};
use torsim::report;

#[derive(Args)]
pub struct BenchArgs {
    /// Runs per case; the table shows medians [default: 5, or 1 with --quick].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    repeats: Option<u32>,
    /// One repeat with shorter measurement windows, for a fast smoke test.
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Source directory of the yardstick loop to compare with [default:
    /// $TORSIM_YARDSTICK, else shared/yardstick beside the source tree].
    #[arg(long, value_name = "DIR")]
    yardstick: Option<PathBuf>,
    /// Skip the yardstick comparison.
    #[arg(long, conflicts_with = "yardstick")]
    no_yardstick: bool,
}

/// A benchmark case: a shipped config at one load, with its windows (full and quick).
struct Case {
    name: &'static str,
    file: &'static str,
    rate: f64,
    warmup: (u64, u64),
    measure: (u64, u64),
    /// Measured cycles of the yardstick run on the same network and load (full,
    /// quick), for the cases it can model (uniform 1-flit packets, DOR, dateline VCs).
    yardstick: Option<(u64, u64)>,
}

/// The loads are picked against the saturation points of the shipped configs (about
/// 0.50 flits/node/cycle for 8x8 and 0.26 for 16x16 with DOR and dateline VCs):
/// "near saturation" is just below the knee, where the network holds the most flits
/// while still in steady state. The last two cases share a network and differ only in
/// load: a dense burst versus a long, nearly idle stretch, to show that idle cycles
/// cost (almost) nothing in this event-driven engine.
const CASES: &[Case] = &[
    Case {
        name: "8x8 @0.1",
        file: "torus-8x8.toml",
        rate: 0.1,
        warmup: (2_000, 500),
        measure: (10_000, 2_000),
        yardstick: Some((200_000, 20_000)),
    },
    Case {
        name: "8x8 @0.45 (near sat.)",
        file: "torus-8x8.toml",
        rate: 0.45,
        warmup: (2_000, 500),
        measure: (10_000, 2_000),
        yardstick: Some((100_000, 10_000)),
    },
    Case {
        name: "16x16 @0.1",
        file: "torus-16x16.toml",
        rate: 0.1,
        warmup: (2_000, 500),
        measure: (10_000, 2_000),
        yardstick: Some((50_000, 5_000)),
    },
    Case {
        name: "8x8x8x4 @0.1",
        file: "torus-8x8x8x4.toml",
        rate: 0.1,
        warmup: (1_000, 200),
        measure: (3_000, 500),
        yardstick: Some((5_000, 500)),
    },
    Case {
        name: "16x16 @0.24 (near sat.)",
        file: "torus-16x16.toml",
        rate: 0.24,
        warmup: (2_000, 500),
        measure: (10_000, 2_000),
        yardstick: None,
    },
    Case {
        name: "16x16 burst @0.1",
        file: "torus-16x16.toml",
        rate: 0.1,
        warmup: (0, 0),
        measure: (2_000, 2_000),
        yardstick: None,
    },
    Case {
        name: "16x16 sparse @0.0001",
        file: "torus-16x16.toml",
        rate: 0.0001,
        warmup: (0, 0),
        measure: (2_000_000, 200_000),
        yardstick: None,
    },
];

const BASE_8: &str = "8x8 @0.1";
const BASE_16: &str = "16x16 @0.1";
const BURST: &str = "16x16 burst @0.1";
const SPARSE: &str = "16x16 sparse @0.0001";

/// Finds a shipped config: `configs/` under the working directory, else under the
/// source tree this binary was built from (so `torsim bench` works from anywhere on
/// the build machine).
fn config_path(file: &str) -> Result<PathBuf, String> {
    let local = Path::new("configs").join(file);
    if local.is_file() {
        return Ok(local);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(file);
    if built.is_file() {
        return Ok(built);
    }
    Err(format!(
        "cannot find configs/{file}; run `torsim bench` from the torsim repository root"
    ))
}

/// Peak resident memory of the process (VmHWM), in MiB; `None` off Linux.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets VmHWM to the current RSS (Linux >= 4.0), so each case reports its own peak
/// rather than the largest of all cases so far. Returns false if not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// The medians of one case.
struct Row {
    case: &'static Case,
    nodes: usize,
    cycles: u64,
    events: u64,
    flit_hops: u64,
    wall: f64,
    router_cycles_per_s: f64,
    flit_hops_per_s: f64,
    events_per_s: f64,
    walls: Vec<f64>,
    peak_mib: Option<f64>,
    /// Median flit-hops per second of the yardstick on the same case.
    yardstick_flit_hops_per_s: Option<f64>,
}

impl Row {
    /// torsim's speed as a share of the yardstick's (flit-hops per second).
    fn yardstick_ratio(&self) -> Option<f64> {
        self.yardstick_flit_hops_per_s
            .filter(|&y| y > 0.0)
            .map(|y| self.flit_hops_per_s / y)
    }

    /// Peak resident memory per router (an upper bound: it includes the process's
    /// fixed memory).
    fn bytes_per_router(&self) -> Option<f64> {
        self.peak_mib
            .map(|m| m * 1024.0 * 1024.0 / self.nodes.max(1) as f64)
    }

    /// Wall time per simulated cycle of the whole network, in nanoseconds.
    fn ns_per_cycle(&self) -> f64 {
        self.wall * 1e9 / self.cycles.max(1) as f64
    }
}

pub fn run(a: BenchArgs) -> Result<(), String> {
    let repeats = a.repeats.unwrap_or(if a.quick { 1 } else { 5 }) as usize;
    let window = |w: (u64, u64)| if a.quick { w.1 } else { w.0 };

    // Load everything first, so a missing or broken config fails before any timing.
    let mut loaded: Vec<(&Case, Config, Params)> = Vec::new();
    for case in CASES {
        let path = config_path(case.file)?;
        let sets = [
            format!("traffic.injection_rate={}", case.rate),
            format!("simulation.warmup_cycles={}", window(case.warmup)),
            format!("simulation.measure_cycles={}", window(case.measure)),
        ];
        let (config, params) = config::load(&path, &sets).map_err(|e| e.to_string())?;
        check_routing(&params, 1).map_err(|e| format!("{}: {e}", path.display()))?;
        loaded.push((case, config, params));
    }

    let yardstick = if a.no_yardstick {
        None
    } else {
        match a.yardstick.clone().or_else(yardstick::default_source) {
            Some(src) => Some(Yardstick::build(&src)?),
            None => {
                eprintln!(
                    "torsim: note: no yardstick found (give --yardstick DIR or set TORSIM_YARDSTICK); ratios omitted"
                );
                None
            }
        }
    };

    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = cpu_model();
    let pb = progress_bar((loaded.len() * repeats) as u64, "bench");
    let opts = RunOptions::default();
    let mut per_case_peak = true;
    let mut rows = Vec::new();
    for (case, config, params) in &loaded {
        if let Some(pb) = &pb {
            pb.set_message(case.name);
        }
        per_case_peak &= reset_peak_rss();
        let mut docs: Vec<Value> = Vec::with_capacity(repeats);
        let mut yard: Vec<f64> = Vec::new();
        for _ in 0..repeats {
            // Interleaved: each torsim repeat right after a yardstick repeat of the
            // same case, so both see the same machine load.
            if let (Some(y), Some(cycles)) = (&yardstick, case.yardstick) {
                yard.push(y.flit_hops_per_second(&params.shape, case.rate, window(cycles))?);
            }
            let o = run_synthetic(params, &opts, true, &mut |_| {}).map_err(|e| {
                if let Some(pb) = &pb {
                    pb.finish_and_clear();
                }
                format!("bench case {}: {e}", case.name)
            })?;
            docs.push(report::result_json(config, params, &o, 1));
            if let Some(pb) = &pb {
                pb.inc(1);
            }
        }
        let u = |v: &Value, path: &[&str]| path.iter().fold(v, |x, k| &x[*k]).as_u64();
        let f = |k: &str| -> Vec<f64> {
            docs.iter()
                .map(|d| d["performance"][k].as_f64().unwrap_or(0.0))
                .collect()
        };
        // The model is deterministic: every repeat must simulate the same thing.
        let sig = |d: &Value| (u(d, &["run", "cycles"]), u(d, &["performance", "events"]));
        if docs.iter().any(|d| sig(d) != sig(&docs[0])) {
            eprintln!(
                "torsim: warning: bench case {}: repeats simulated different cycle/event counts; the run is not deterministic",
                case.name
            );
        }
        let d0 = &docs[0];
        rows.push(Row {
            case,
            nodes: params.shape.iter().product(),
            cycles: u(d0, &["run", "cycles"]).unwrap_or(0),
            events: u(d0, &["performance", "events"]).unwrap_or(0),
            flit_hops: u(d0, &["flit_hops"]).unwrap_or(0),
            wall: median(f("wall_seconds")),
            router_cycles_per_s: median(f("router_cycles_per_second")),
            flit_hops_per_s: median(f("flit_hops_per_second")),
            events_per_s: median(f("events_per_second")),
            walls: f("wall_seconds"),
            peak_mib: peak_rss_mib(),
            yardstick_flit_hops_per_s: (!yard.is_empty()).then(|| median(yard)),
        });
    }
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }

    let find = |name: &str| rows.iter().find(|r| r.case.name == name);
    let ratio = match (find(BASE_16), find(BASE_8)) {
        (Some(b), Some(s)) if s.flit_hops_per_s > 0.0 => {
            Some(b.flit_hops_per_s / s.flit_hops_per_s)
        }
        _ => None,
    };
    let idle = match (find(BURST), find(SPARSE)) {
        (Some(b), Some(s)) => Some((b.ns_per_cycle(), s.ns_per_cycle())),
        _ => None,
    };

    println!(
        "torsim {} (rev {}) bench: {} repeat(s) per case, medians shown{}",
        torsim::core::VERSION,
        torsim::core::GIT_REVISION,
        repeats,
        if a.quick { ", quick windows" } else { "" }
    );
    println!("machine: {nproc} CPU(s) (nproc), {cpu}; the simulation runs on one thread");
    println!(
        "{:<24} {:>10} {:>8} {:>13} {:>12} {:>10} {:>10} {:>9}",
        "case",
        "cycles",
        "wall s",
        "Mrouter-cyc/s",
        "Mflit-hop/s",
        "Mevents/s",
        "ns/cycle",
        "peak MiB"
    );
    for r in &rows {
        println!(
            "{:<24} {:>10} {:>8.3} {:>13.3} {:>12.3} {:>10.3} {:>10.1} {:>9}",
            r.case.name,
            r.cycles,
            r.wall,
            r.router_cycles_per_s / 1e6,
            r.flit_hops_per_s / 1e6,
            r.events_per_s / 1e6,
            r.ns_per_cycle(),
            r.peak_mib.map_or("n/a".into(), |m| format!("{m:.1}"))
        );
    }
    println!(
        "peak MiB: {}",
        if per_case_peak {
            "process VmHWM, reset before each case"
        } else {
            "process VmHWM since start (could not reset per case)"
        }
    );
    if let Some(r) = ratio {
        println!("flit-hops/s, 16x16 vs 8x8 at 0.1: {r:.2}x");
    }
    if rows.iter().any(|r| r.yardstick_ratio().is_some()) {
        println!(
            "\n{:<24} {:>14} {:>14} {:>18} {:>14}",
            "case", "torsim Mfh/s", "yardstick Mfh/s", "torsim/yardstick", "bytes/router"
        );
        for r in rows.iter().filter(|r| r.yardstick_ratio().is_some()) {
            println!(
                "{:<24} {:>14.3} {:>15.3} {:>18.3} {:>14}",
                r.case.name,
                r.flit_hops_per_s / 1e6,
                r.yardstick_flit_hops_per_s.unwrap_or(0.0) / 1e6,
                r.yardstick_ratio().unwrap_or(0.0),
                r.bytes_per_router()
                    .map_or("n/a".into(), |b| format!("{b:.0}"))
            );
        }
        println!(
            "(flit-hops per second, medians of interleaved runs; bytes/router = peak RSS / routers)"
        );
    }
    if let Some((busy, sparse)) = idle {
        println!(
            "idle time: {sparse:.1} ns per simulated cycle at 0.0001 vs {busy:.1} ns at 0.1 on 16x16 ({:.0}x cheaper)",
            busy / sparse.max(1e-12)
        );
    }

    if let Some(path) = &a.out {
        let cases: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "case": r.case.name,
                    "config": r.case.file,
                    "nodes": r.nodes,
                    "injection_rate": r.case.rate,
                    "warmup_cycles": window(r.case.warmup),
                    "measure_cycles": window(r.case.measure),
                    "cycles": r.cycles,
                    "events": r.events,
                    "flit_hops": r.flit_hops,
                    "median": {
                        "wall_seconds": r.wall,
                        "router_cycles_per_second": r.router_cycles_per_s,
                        "flit_hops_per_second": r.flit_hops_per_s,
                        "events_per_second": r.events_per_s,
                        "ns_per_simulated_cycle": r.ns_per_cycle(),
                    },
                    "wall_seconds_all": r.walls,
                    "peak_rss_mib": r.peak_mib,
                    "peak_rss_bytes_per_router": r.bytes_per_router(),
                    "yardstick_flit_hops_per_second": r.yardstick_flit_hops_per_s,
                    "torsim_over_yardstick": r.yardstick_ratio(),
                })
            })
            .collect();
        let doc = json!({
            "torsim_version": torsim::core::VERSION,
            "git_revision": torsim::core::GIT_REVISION,
            "machine": { "nproc": nproc, "cpu_model": cpu },
            "repeats": repeats,
            "quick": a.quick,
            "peak_rss_per_case": per_case_peak,
            "cases": cases,
            "flit_hops_ratio_16x16_vs_8x8_at_0_1": ratio,
            "ns_per_cycle_burst_vs_sparse": idle.map(|(b, s)| json!({"burst": b, "sparse": s})),
        });
        write_file(
            path,
            &(serde_json::to_string_pretty(&doc).expect("JSON") + "\n"),
        )?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
