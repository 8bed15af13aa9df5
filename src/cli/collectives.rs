//! `torsim collectives`: zero-load latency of barriers and allreduces against node
//! count, the software dissemination `barrier` against the hardware tree (`hbarrier`,
//! `hallreduce`), on one or more configs.
//!
//! Every point is its own run in which every PE enters the collective at cycle 0; the
//! latency is the cycle the last PE leaves it (its `mark` after the collective). Node
//! counts become balanced tori of the config's dimension count (as `torsim spmv` makes
//! them), so one config gives a whole scaling curve.

use super::{ConfigArgs, load, progress_bar, write_file};
use clap::Args;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use torsim::engine::comm::LocalComm;
use torsim::engine::sim::RunOptions;
use torsim::experiment::run::run_program_owned;
use torsim::node::op::{Collective, MAX_REDUCE_WORDS, Op, ReduceOp};
use torsim::report::plot;
use torsim::spmv::workload::balanced_shape;
use torsim::topology::Torus;
use torsim::topology::tree::Tree;
use torsim::traffic::program::Program;

#[derive(Args)]
pub struct CollectivesArgs {
    /// Config files (TOML); each gives one set of curves, on tori of its own dimension
    /// count. A config without `[collectives]` gets the default table (root 0).
    #[arg(required = true)]
    configs: Vec<PathBuf>,
    /// Override a config key of every config (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Node counts [default: 8,16,64,512,2048]; counts that cannot span every
    /// dimension of a config are skipped there (with a note).
    #[arg(long, value_delimiter = ',')]
    nodes: Option<Vec<usize>>,
    /// Allreduce sizes in bytes, multiples of 8 (8 bytes = one 64-bit word per PE)
    /// [default: 8,64,512,4096,65536].
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<u64>>,
    /// Write the JSON result here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Directory for the CSV and SVG plots.
    #[arg(long, default_value = "out")]
    out_dir: PathBuf,
    /// Base name of the outputs [default: the --out file's stem, else "collectives"].
    #[arg(long)]
    name: Option<String>,
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// What one point measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bench {
    /// The software dissemination barrier (`barrier`).
    SoftwareBarrier,
    /// The tree barrier (`hbarrier`).
    HardwareBarrier,
    /// `hallreduce sum` of this many 64-bit words per PE.
    HardwareAllreduce(usize),
}

impl Bench {
    fn name(self) -> &'static str {
        match self {
            Bench::SoftwareBarrier => "barrier-software",
            Bench::HardwareBarrier => "barrier-hardware",
            Bench::HardwareAllreduce(_) => "allreduce-hardware",
        }
    }

    fn bytes(self) -> u64 {
        match self {
            Bench::HardwareAllreduce(w) => 8 * w as u64,
            _ => 0,
        }
    }

    /// Every PE runs the collective, then marks `leave`.
    fn program(self, npes: usize) -> Program {
        let mut prog = Program::new(npes);
        let leave = prog.mark_id("leave");
        for (pe, ops) in prog.ops.iter_mut().enumerate() {
            let op = match self {
                Bench::SoftwareBarrier => Op::Barrier,
                Bench::HardwareBarrier => hw(Collective::Barrier),
                Bench::HardwareAllreduce(w) => hw(Collective::Reduce {
                    root: None,
                    op: ReduceOp::Sum,
                    words: vec![pe as u64; w],
                    var: None,
                }),
            };
            ops.push(op);
            ops.push(Op::Mark { id: leave });
        }
        prog
    }
}

fn hw(c: Collective) -> Op {
    Op::HCollective {
        coll: Arc::new(c),
        start: false,
    }
}

pub fn run(a: CollectivesArgs) -> Result<(), String> {
    let nodes = a
        .nodes
        .clone()
        .unwrap_or_else(|| vec![8, 16, 64, 512, 2048]);
    if let Some(n) = nodes.iter().find(|&&n| n < 2) {
        return Err(format!("--nodes {n}: expected at least 2 nodes"));
    }
    let sizes = a
        .sizes
        .clone()
        .unwrap_or_else(|| vec![8, 64, 512, 4096, 65536]);
    if let Some(s) = sizes
        .iter()
        .find(|&&s| s == 0 || s % 8 != 0 || s / 8 > MAX_REDUCE_WORDS as u64)
    {
        return Err(format!(
            "--sizes {s}: expected a multiple of 8 bytes from 8 to {} (one 64-bit word per 8 bytes)",
            8 * MAX_REDUCE_WORDS
        ));
    }
    let mut benches = vec![Bench::SoftwareBarrier, Bench::HardwareBarrier];
    benches.extend(
        sizes
            .iter()
            .map(|&s| Bench::HardwareAllreduce(s as usize / 8)),
    );
    let stem = a.name.clone().unwrap_or_else(|| match &a.out {
        Some(out) => out
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "collectives".into()),
        None => "collectives".into(),
    });
    let pb = progress_bar(
        (a.configs.len() * nodes.len() * benches.len()) as u64,
        "collectives",
    );
    let mut points: Vec<Value> = Vec::new();
    let mut skipped: Vec<Value> = Vec::new();
    let mut configs: Vec<Value> = Vec::new();
    for path in &a.configs {
        let cfg_name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut set = a.set.clone();
        let (config, base) = load(&ConfigArgs {
            config: path.clone(),
            set: set.clone(),
        })?;
        if base.collectives.is_none() {
            set.push("collectives.root=0".into());
        }
        configs.push(json!({
            "name": cfg_name,
            "file": path.display().to_string(),
            "config": torsim::config::resolved_json(&config, &base),
        }));
        let dims = base.shape.len();
        for &p in &nodes {
            let shape = balanced_shape(p, dims);
            if shape.len() < dims {
                let msg = format!(
                    "torsim: note: {p} nodes cannot form a {dims}D torus ({cfg_name}); point skipped"
                );
                match &pb {
                    Some(pb) => {
                        pb.suspend(|| eprintln!("{msg}"));
                        pb.inc(benches.len() as u64);
                    }
                    None => eprintln!("{msg}"),
                }
                skipped.push(json!({"config": cfg_name, "dims": dims, "nodes": p}));
                continue;
            }
            let mut set = set.clone();
            set.push(format!("topology.shape={shape:?}"));
            let (_, params) = load(&ConfigArgs {
                config: path.clone(),
                set,
            })?;
            let root = params
                .collectives
                .as_ref()
                .and_then(|c| c.roots.first().copied())
                .unwrap_or(0);
            let height = Tree::build(&Torus::new(&shape), root)
                .map(|t| t.height())
                .map_err(|e| format!("{cfg_name}, {p} nodes: {e}"))?;
            for &b in &benches {
                if let Some(pb) = &pb {
                    pb.set_message(format!("{cfg_name} p={p} {}", b.name()));
                }
                let opts = RunOptions {
                    threads: a.threads,
                    partitions: a.threads,
                    check: false,
                    ..Default::default()
                };
                let o = run_program_owned(
                    &params,
                    b.program(params.pes()),
                    &opts,
                    Box::new(LocalComm),
                    false,
                    &mut |_| {},
                )
                .map_err(|e| format!("{cfg_name}, {p} nodes, {}: {e}", b.name()))?;
                let cycles = o.marks.iter().map(|m| m.2).max().unwrap_or(0);
                points.push(json!({
                    "config": cfg_name,
                    "dims": dims,
                    "nodes": p,
                    "live_nodes": params.pes(),
                    "shape": shape,
                    "tree_height": height,
                    "benchmark": b.name(),
                    "bytes": b.bytes(),
                    "latency_cycles": cycles,
                    "latency_seconds": cycles as f64 / params.clock_hz,
                    "packets": o.stats.packets_delivered,
                    "wall_seconds": o.wall_seconds,
                }));
                if let Some(pb) = &pb {
                    pb.inc(1);
                }
            }
        }
    }
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    print_table(&points);
    if points.is_empty() {
        return Err("no node count fits the configs' dimensions; nothing was run".into());
    }
    if let Some(out) = &a.out {
        let doc = json!({
            "torsim_version": torsim::core::VERSION,
            "git_revision": torsim::core::GIT_REVISION,
            "note": "zero-load latency: every PE enters the collective at cycle 0; latency is the cycle the last PE leaves it",
            "points": points,
            "skipped_points": skipped,
            "configs": configs,
        });
        write_file(
            out,
            &(serde_json::to_string_pretty(&doc).expect("JSON") + "\n"),
        )?;
    }
    write_outputs(&a.out_dir, &stem, &points)
}

fn print_table(points: &[Value]) {
    println!(
        "{:<10} {:>6} {:>12} {:>6} {:<20} {:>8} {:>10} {:>10}",
        "config", "nodes", "shape", "height", "benchmark", "bytes", "cycles", "us"
    );
    for v in points {
        println!(
            "{:<10} {:>6} {:>12} {:>6} {:<20} {:>8} {:>10} {:>10.2}",
            v["config"].as_str().unwrap_or(""),
            v["nodes"].as_u64().unwrap_or(0),
            shape_text(v),
            v["tree_height"].as_u64().unwrap_or(0),
            v["benchmark"].as_str().unwrap_or(""),
            v["bytes"].as_u64().unwrap_or(0),
            v["latency_cycles"].as_u64().unwrap_or(0),
            v["latency_seconds"].as_f64().unwrap_or(0.0) * 1e6,
        );
    }
}

fn shape_text(v: &Value) -> String {
    v["shape"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("x")
        })
        .unwrap_or_default()
}

fn write_outputs(dir: &Path, stem: &str, points: &[Value]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut csv = String::from(
        "config,dims,nodes,live_nodes,shape,tree_height,benchmark,bytes,latency_cycles,latency_seconds\n",
    );
    for v in points {
        csv += &format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            v["config"].as_str().unwrap_or(""),
            v["dims"],
            v["nodes"],
            v["live_nodes"],
            shape_text(v),
            v["tree_height"],
            v["benchmark"].as_str().unwrap_or(""),
            v["bytes"],
            v["latency_cycles"],
            v["latency_seconds"],
        );
    }
    write_file(&dir.join(format!("{stem}.csv")), &csv)?;
    let us = |v: &Value| v["latency_seconds"].as_f64().unwrap_or(0.0) * 1e6;
    let x = |v: &Value, key: &str| v[key].as_f64().unwrap_or(0.0);
    // Barrier latency against nodes: software and hardware per config.
    let mut barrier: Vec<plot::Series> = Vec::new();
    let mut cfgs: Vec<&str> = Vec::new();
    for v in points {
        let c = v["config"].as_str().unwrap_or("");
        if !cfgs.contains(&c) {
            cfgs.push(c);
        }
    }
    for c in &cfgs {
        for (b, label) in [
            ("barrier-software", "software"),
            ("barrier-hardware", "hardware"),
        ] {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .filter(|v| v["config"].as_str() == Some(c) && v["benchmark"].as_str() == Some(b))
                .map(|v| (x(v, "nodes"), us(v)))
                .collect();
            if !pts.is_empty() {
                barrier.push((format!("{c}, {label}"), pts));
            }
        }
    }
    if !barrier.is_empty() {
        plot::log_log_plot(
            &dir.join(format!("{stem}-barrier.svg")),
            "barrier latency (zero load)",
            "nodes",
            "latency (us)",
            &barrier,
            None,
        )?;
    }
    // Allreduce latency against size: one series per (config, node count).
    let mut allreduce: Vec<plot::Series> = Vec::new();
    for c in &cfgs {
        let mut ns: Vec<u64> = Vec::new();
        for v in points.iter().filter(|v| v["config"].as_str() == Some(c)) {
            let n = v["nodes"].as_u64().unwrap_or(0);
            if !ns.contains(&n) {
                ns.push(n);
            }
        }
        for n in ns {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .filter(|v| {
                    v["config"].as_str() == Some(c)
                        && v["nodes"].as_u64() == Some(n)
                        && v["benchmark"].as_str() == Some("allreduce-hardware")
                })
                .map(|v| (x(v, "bytes"), us(v)))
                .collect();
            if !pts.is_empty() {
                allreduce.push((format!("{c}, {n} nodes"), pts));
            }
        }
    }
    if !allreduce.is_empty() {
        plot::log_log_plot(
            &dir.join(format!("{stem}-allreduce.svg")),
            "hallreduce sum latency (zero load)",
            "bytes per PE",
            "latency (us)",
            &allreduce,
            None,
        )?;
    }
    Ok(())
}
