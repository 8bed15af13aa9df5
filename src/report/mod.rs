//! Results: the JSON result file (the stable contract for scripts) and the human summary.

pub mod atomic;
pub mod channels;
pub mod heatmap;
pub mod plot;
pub mod trace;

use crate::config::{Config, Params};
use crate::experiment::phases::Outcome;
use crate::stats::Histogram;
use crate::topology::Torus;
use serde_json::{Value, json};

/// The JSON object holding everything that depends on how a run was executed rather
/// than on the model: wall-clock figures, and the engine's own work (events, windows),
/// which varies with the number of threads and partitions. Everything outside it is
/// identical for the same config and seed, however the run is split.
pub const EXECUTION_KEY: &str = "performance";

/// Leaf keys that hold wall-clock time or rates derived from it.
pub const WALL_CLOCK_KEYS: &[&str] = &[
    "wall_seconds",
    "router_cycles_per_second",
    "flit_hops_per_second",
    "events_per_second",
    "comm_seconds",
    "windows_per_second",
];

fn latency(h: &Histogram, p: &Params, ns: bool) -> Value {
    let f = |c: f64| if ns { p.cycles_to_ns(c) } else { c };
    json!({
        "mean": f(h.mean()),
        "p50": f(h.quantile(0.5) as f64),
        "p99": f(h.quantile(0.99) as f64),
        "max": f(h.max() as f64),
        "samples": h.count(),
    })
}

/// The geometry block every result document carries.
fn topology_json(t: &Torus) -> Value {
    json!({
        "shape": t.shape(),
        "nodes": t.nodes(),
        "diameter": t.diameter(),
        "average_distance": t.average_distance(),
        "bisection_links": t.bisection_links(),
    })
}

/// What routing did: hops by kind, timeouts, load per link direction, and the faults.
pub fn routing_json(t: &Torus, s: &crate::stats::Stats) -> Value {
    let np = t.network_ports();
    let dirs: serde_json::Map<String, Value> = s
        .direction_flits(np)
        .iter()
        .enumerate()
        .map(|(p, f)| (Torus::port_direction(p).name(), json!(f)))
        .collect();
    let f = t.faults();
    json!({
        "adaptive_hops": s.router.adaptive_hops,
        "escape_hops": s.router.escape_hops,
        "first_step_hops": s.router.first_step_hops,
        "last_step_hops": s.router.last_step_hops,
        "timeouts": s.router.timeouts,
        "rerouted_packets": s.router.rerouted_packets,
        "direction_flits": dirs,
        "failed_links": f.links.iter().map(|&(n, p)| t.describe_link(n, p)).collect::<Vec<_>>(),
        "failed_nodes": f.nodes.iter().map(|&n| t.describe_node(n)).collect::<Vec<_>>(),
    })
}

/// What the `performance` object is made of; the same for synthetic and program runs.
struct Execution<'a> {
    wall_seconds: f64,
    cycles: u64,
    nodes: usize,
    flit_hops: u64,
    events: u64,
    ranks: usize,
    threads: usize,
    partitions: usize,
    windows: u64,
    layout: &'a crate::engine::sim::Layout,
    boundary_messages: u64,
    exchanged_bytes: u64,
    comm_seconds: f64,
    sync_wait_fraction: f64,
}

/// How fast the run executed and how it was split (see [`EXECUTION_KEY`]).
fn performance_json(x: &Execution) -> Value {
    let wall = x.wall_seconds.max(1e-9);
    json!({
        "wall_seconds": x.wall_seconds,
        "router_cycles_per_second": x.cycles as f64 * x.nodes as f64 / wall,
        "flit_hops_per_second": x.flit_hops as f64 / wall,
        "events_per_second": x.events as f64 / wall,
        "events": x.events,
        "ranks": x.ranks,
        "threads": x.threads,
        "partitions": x.partitions,
        "windows": x.windows,
        "cut_links": x.layout.cut_links,
        "min_partition_nodes": x.layout.min_partition_nodes,
        "max_partition_nodes": x.layout.max_partition_nodes,
        "windows_per_second": x.windows as f64 / wall,
        "boundary_messages": x.boundary_messages,
        "boundary_bytes": x.boundary_messages * crate::engine::wire::MSG_BYTES as u64,
        "exchanged_bytes": x.exchanged_bytes,
        "exchanged_bytes_per_window": x.exchanged_bytes as f64 / (x.windows.max(1) as f64),
        "comm_seconds": x.comm_seconds,
        "sync_wait_fraction": x.sync_wait_fraction,
    })
}

/// The full result document of a synthetic-traffic run.
pub fn result_json(config: &Config, p: &Params, o: &Outcome, threads: usize) -> Value {
    let s = &o.stats;
    let t = Torus::from_params(p);
    let n = t.nodes() as f64;
    let m = p.measure_cycles as f64;
    let offered = s.measured_flits_created as f64 / (n * m);
    let accepted = s.window_flits_delivered as f64 / (n * m);
    let avg_hops = if s.measured_packets_delivered > 0 {
        s.measured_hops as f64 / s.measured_packets_delivered as f64
    } else {
        0.0
    };
    let payload_per_flit = p.payload_bytes(p.packet_flits) as f64 / p.packet_flits as f64;
    let mut doc = json!({
        "torsim_version": crate::core::VERSION,
        "git_revision": crate::core::GIT_REVISION,
        "seed": p.seed,
        "topology": topology_json(&t),
        "run": {
            "cycles": o.cycles,
            "warmup_cycles": p.warmup_cycles,
            "measure_cycles": p.measure_cycles,
            "drain_cycles": o.drain_cycles,
            "saturated": o.saturated,
            "lookahead_cycles": o.lookahead,
        },
        "traffic": {
            "pattern": config.traffic.pattern,
            "injection_rate": p.injection_rate,
            "packet_flits": p.packet_flits,
            "offered_flits_per_node_cycle": offered,
            "accepted_flits_per_node_cycle": accepted,
            "accepted_payload_gbytes_per_node_second": accepted * payload_per_flit * p.clock_hz / 1e9,
        },
        "packets": {
            "packets_injected": s.packets_injected,
            "flits_injected": s.flits_injected,
            "packets_delivered": s.packets_delivered,
            "flits_delivered": s.flits_delivered,
            "packets_abandoned": s.packets_abandoned,
            "measured_packets_created": s.measured_packets_created,
            "measured_packets_delivered": s.measured_packets_delivered,
        },
        "latency_cycles": latency(&s.latency, p, false),
        "network_latency_cycles": latency(&s.network_latency, p, false),
        "latency_ns": latency(&s.latency, p, true),
        "network_latency_ns": latency(&s.network_latency, p, true),
        "avg_hops": avg_hops,
        "flit_hops": s.router.flit_hops,
        "routing": routing_json(&t, s),
        "performance": performance_json(&Execution {
            wall_seconds: o.wall_seconds,
            cycles: o.cycles,
            nodes: t.nodes(),
            flit_hops: s.router.flit_hops,
            events: s.events,
            ranks: o.ranks,
            threads,
            partitions: o.partitions,
            windows: o.windows,
            layout: &o.layout,
            boundary_messages: o.boundary_messages,
            exchanged_bytes: o.exchanged_bytes,
            comm_seconds: o.comm_seconds,
            sync_wait_fraction: o.sync_wait_fraction,
        }),
        "config": crate::config::resolved_json(config, p),
    });
    channels::add_channel_sections(&mut doc, p, s, o.cycles);
    doc
}

/// Removes the execution-dependent part (the `performance` object, and wall-clock keys
/// anywhere), for comparing runs of the same model.
pub fn strip_wall_clock(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove(EXECUTION_KEY);
            for k in WALL_CLOCK_KEYS {
                m.remove(*k);
            }
            for (_, x) in m.iter_mut() {
                strip_wall_clock(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_wall_clock),
        _ => {}
    }
}

/// A short human summary of a run.
pub fn summary(config: &Config, p: &Params, o: &Outcome, v: &Value) -> String {
    let t = Torus::from_params(p);
    let g = |path: &[&str]| -> f64 {
        let mut x = v;
        for k in path {
            x = &x[*k];
        }
        x.as_f64().unwrap_or(0.0)
    };
    let mut s = String::new();
    let name = config
        .name
        .clone()
        .unwrap_or_else(|| format!("{} torus", t.shape_string()));
    let pattern = serde_json::to_value(p.pattern)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let routing = serde_json::to_value(p.routing)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    s += &format!(
        "{name}: {} nodes ({}), {routing} routing, {pattern} traffic at {} flits/node/cycle, seed {}\n",
        t.nodes(),
        t.shape_string(),
        p.injection_rate,
        p.seed
    );
    s += &format!(
        "  simulated {} cycles ({} warm-up, {} measured, {} drain){}\n",
        o.cycles,
        p.warmup_cycles,
        p.measure_cycles,
        o.drain_cycles,
        if o.saturated {
            "  -- SATURATED: measured packets did not drain"
        } else {
            ""
        }
    );
    s += &format!(
        "  throughput   offered {:.4}  accepted {:.4} flits/node/cycle\n",
        g(&["traffic", "offered_flits_per_node_cycle"]),
        g(&["traffic", "accepted_flits_per_node_cycle"])
    );
    for (label, key, ns) in [
        ("latency", "latency_cycles", "latency_ns"),
        ("network", "network_latency_cycles", "network_latency_ns"),
    ] {
        s += &format!(
            "  {label:<12} mean {:.2}  p50 {}  p99 {}  max {} cycles  (mean {:.1} ns)\n",
            g(&[key, "mean"]),
            g(&[key, "p50"]),
            g(&[key, "p99"]),
            g(&[key, "max"]),
            g(&[ns, "mean"])
        );
    }
    s += &format!(
        "  packets      {} delivered of {} injected, {} measured; avg hops {:.3}\n",
        o.stats.packets_delivered,
        o.stats.packets_injected,
        o.stats.measured_packets_delivered,
        g(&["avg_hops"])
    );
    s += &format!(
        "  speed        {:.3} s wall, {:.2} M router-cycles/s, {:.2} M flit-hops/s, {} events\n",
        o.wall_seconds,
        g(&["performance", "router_cycles_per_second"]) / 1e6,
        g(&["performance", "flit_hops_per_second"]) / 1e6,
        o.stats.events
    );
    if o.partitions > 1 {
        s += &format!(
            "  parallel     {} partitions over {} rank(s): {} links cut, {}-{} nodes each, {} windows of {} cycle(s)\n",
            o.partitions,
            o.ranks,
            o.layout.cut_links,
            o.layout.min_partition_nodes,
            o.layout.max_partition_nodes,
            o.windows,
            o.lookahead
        );
    }
    s
}

/// The result document of a program run.
pub fn program_json(
    config: &Config,
    p: &Params,
    o: &crate::experiment::phases::ProgramOutcome,
    program: &crate::traffic::program::Program,
    file: &std::path::Path,
    threads: usize,
) -> Value {
    let s = &o.stats;
    let t = Torus::from_params(p);
    let us = |c: u64| c as f64 / p.clock_hz * 1e6;
    let marks: Vec<Value> = o
        .marks
        .iter()
        .map(|&(pe, id, c)| json!({"pe": pe, "mark": program.marks[id as usize], "cycle": c, "us": us(c)}))
        .collect();
    let mut doc = json!({
        "torsim_version": crate::core::VERSION,
        "git_revision": crate::core::GIT_REVISION,
        "seed": p.seed,
        "topology": topology_json(&t),
        "program": {
            "file": file.display().to_string(),
            "end_cycle": o.end_cycle,
            "end_us": us(o.end_cycle),
            "cycles": o.cycles,
        },
        "marks": marks,
        "variables": variables_json(program, &o.variables),
        "packets": {
            "packets_injected": s.packets_injected,
            "flits_injected": s.flits_injected,
            "packets_delivered": s.packets_delivered,
            "flits_delivered": s.flits_delivered,
            "payload_bytes_delivered": s.payload_bytes_delivered,
        },
        "latency_cycles": latency(&s.latency, p, false),
        "network_latency_cycles": latency(&s.network_latency, p, false),
        "latency_ns": latency(&s.latency, p, true),
        "network_latency_ns": latency(&s.network_latency, p, true),
        "flit_hops": s.router.flit_hops,
        "routing": routing_json(&t, s),
        "performance": performance_json(&Execution {
            wall_seconds: o.wall_seconds,
            cycles: o.cycles,
            nodes: t.nodes(),
            flit_hops: s.router.flit_hops,
            events: s.events,
            ranks: o.ranks,
            threads,
            partitions: o.partitions,
            windows: o.windows,
            layout: &o.layout,
            boundary_messages: o.boundary_messages,
            exchanged_bytes: o.exchanged_bytes,
            comm_seconds: o.comm_seconds,
            sync_wait_fraction: o.sync_wait_fraction,
        }),
        "config": crate::config::resolved_json(config, p),
    });
    if !o.values.is_empty() {
        doc["collectives"] = Value::Array(collective_results(&o.values));
    }
    channels::add_channel_sections(&mut doc, p, s, o.cycles);
    doc
}

/// The final symmetric variables: for each, its value on every PE in PE order (an
/// array of words per PE for a variable of several words).
pub fn variables_json(program: &crate::traffic::program::Program, per_pe: &[Vec<u64>]) -> Value {
    let layout = &program.variables;
    let mut out = serde_json::Map::new();
    for id in 0..layout.len() {
        let id = id as crate::node::variables::VarId;
        let r = layout.range(id);
        let values: Vec<Value> = per_pe
            .iter()
            .map(|words| match words.get(r.clone()) {
                Some([one]) => json!(one),
                Some(ws) => json!(ws),
                None => Value::Null,
            })
            .collect();
        out.insert(layout.name(id).to_string(), Value::Array(values));
    }
    Value::Object(out)
}

/// The results of hardware collectives, one entry per (PE, op): the words a reduction
/// returned, or the bytes a broadcast delivered, in op order per PE.
fn collective_results(values: &[(u32, u32, u32, u64)]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut cur: Option<(u32, u32, Vec<u64>)> = None;
    for &(pe, op, _, v) in values {
        match &mut cur {
            Some((a, b, w)) if *a == pe && *b == op => w.push(v),
            _ => {
                if let Some((a, b, w)) = cur.take() {
                    out.push(json!({"pe": a, "op": b + 1, "values": w}));
                }
                cur = Some((pe, op, vec![v]));
            }
        }
    }
    if let Some((a, b, w)) = cur {
        out.push(json!({"pe": a, "op": b + 1, "values": w}));
    }
    out
}

/// A short human summary of a program run.
pub fn program_summary(
    p: &Params,
    o: &crate::experiment::phases::ProgramOutcome,
    program: &crate::traffic::program::Program,
    file: &std::path::Path,
) -> String {
    let us = |c: u64| c as f64 / p.clock_hz * 1e6;
    let mut s = format!(
        "{}: {} PEs finished at cycle {} ({:.3} us); network empty at cycle {}\n",
        file.display(),
        p.nodes(),
        o.end_cycle,
        us(o.end_cycle),
        o.cycles
    );
    s += &format!(
        "  packets      {} delivered, latency mean {:.1} cycles ({:.1} ns), max {}\n",
        o.stats.packets_delivered,
        o.stats.latency.mean(),
        p.cycles_to_ns(o.stats.latency.mean()),
        o.stats.latency.max()
    );
    let shown = o.marks.len().min(20);
    for &(pe, id, c) in &o.marks[..shown] {
        s += &format!(
            "  mark  PE {pe:<5} {:<16} cycle {c:<10} {:.3} us\n",
            program.marks[id as usize],
            us(c)
        );
    }
    if o.marks.len() > shown {
        s += &format!("  ... {} marks in all (see --out)\n", o.marks.len());
    }
    let layout = &program.variables;
    for id in 0..layout.len().min(8) {
        let id = id as crate::node::variables::VarId;
        let r = layout.range(id);
        let vals: Vec<String> = o
            .variables
            .iter()
            .take(8)
            .map(|w| match w.get(r.clone()) {
                Some([one]) => one.to_string(),
                Some(ws) => format!("{ws:?}"),
                None => "-".into(),
            })
            .collect();
        let more = if o.variables.len() > 8 { ", ..." } else { "" };
        s += &format!(
            "  variable {:<12} {}{more}\n",
            layout.name(id),
            vals.join(", ")
        );
    }
    s
}
