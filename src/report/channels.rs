//! The per-channel sections of a result document (`links`, `routers`, `nodes`, with
//! `link_stats` saying which cycles they cover) and their CSV form. Figures are
//! derived here, at the end, from the integer counters, so they are the same however
//! the run was split.

use crate::config::Params;
use crate::stats::{ChannelStats, Stats};
use crate::topology::Torus;
use serde_json::{Value, json};

/// Cycles the counters cover: the statistics window clipped to the run's end.
fn covered(c: &ChannelStats, run_cycles: u64) -> u64 {
    c.window.1.min(run_cycles).saturating_sub(c.window.0).max(1)
}

/// Flits a link direction can carry per cycle.
fn link_flits_per_cycle(p: &Params) -> f64 {
    p.link_rate.map_or(1.0, |r| r.num as f64 / r.den as f64)
}

/// The `link_stats`, `links`, `routers` and `nodes` sections, when the run collected
/// per-channel statistics (`--link-stats`); `run_cycles` is the run's last cycle.
pub fn channel_sections(
    p: &Params,
    s: &Stats,
    run_cycles: u64,
) -> Option<Vec<(&'static str, Value)>> {
    let c = s.channels.as_ref()?;
    let t = Torus::from_params(p);
    let np = t.network_ports();
    let cycles = covered(c, run_cycles);
    let capacity = link_flits_per_cycle(p) * cycles as f64;
    let failed: std::collections::HashSet<(usize, usize)> =
        t.faults().links.iter().copied().collect();
    let mut links = Vec::with_capacity(t.nodes() * np);
    for n in 0..t.nodes() {
        for port in 0..np {
            let i = n * np + port;
            links.push(json!({
                "node": n,
                "coords": t.coords(n),
                "direction": Torus::port_direction(port).name(),
                "to": t.neighbor(n, port),
                "failed": failed.contains(&(n, port)) || failed.contains(&(t.neighbor(n, port), port ^ 1)),
                "flits": s.link_flits.get(i).copied().unwrap_or(0),
                "window_flits": c.link_flits[i],
                "utilisation": c.link_flits[i] as f64 / capacity,
                "credit_stall_cycles": c.credit_stall_cycles[i],
                "bubble_refusals": c.bubble_refusals[i],
            }));
        }
    }
    let vcs = p.router_vcs();
    let p_out = np + p.ejectors;
    let mut routers = Vec::with_capacity(t.nodes());
    for n in 0..t.nodes() {
        let inputs: Vec<Value> = (0..c.input_vcs)
            .map(|k| {
                let i = n * c.input_vcs + k;
                let (wv, ws) = (c.vc_wait_vc_cycles[i], c.vc_wait_switch_cycles[i]);
                json!({
                    "port": t.port_name(k / vcs, p.injectors, true),
                    "vc": k % vcs,
                    "mean_flits": c.vc_flit_cycles[i] as f64 / cycles as f64,
                    "max_flits": c.vc_max_flits[i],
                    "wait_vc_cycles": wv,
                    "wait_switch_cycles": ws,
                    "blocked_cycles": wv + ws,
                })
            })
            .collect();
        routers.push(json!({
            "node": n,
            "coords": t.coords(n),
            "crossbar_flits": c.crossbar_flits[n],
            "crossbar_utilisation": c.crossbar_flits[n] as f64 / (cycles as f64 * p_out as f64),
            "input_vcs": inputs,
        }));
    }
    let fb = p.flit_bytes as u64;
    let nodes: Vec<Value> = (0..t.nodes())
        .map(|n| {
            json!({
                "node": n,
                "coords": t.coords(n),
                "injected_flits": c.injected_flits[n],
                "injected_bytes": c.injected_flits[n] * fb,
                "ejected_flits": c.ejected_flits[n],
                "ejected_bytes": c.ejected_flits[n] * fb,
                "queue_mean_packets": c.queue_packet_cycles[n] as f64 / cycles as f64,
                "queue_max_packets": c.queue_max_packets[n],
            })
        })
        .collect();
    let meta = json!({
        "from_cycle": c.window.0,
        "to_cycle": c.window.0 + cycles,
        "cycles": cycles,
        "link_flits_per_cycle": link_flits_per_cycle(p),
        "shape": t.shape(),
    });
    Some(vec![
        ("link_stats", meta),
        ("links", Value::Array(links)),
        ("routers", Value::Array(routers)),
        ("nodes", Value::Array(nodes)),
    ])
}

/// Adds the per-channel sections to a result document (a no-op without them).
pub fn add_channel_sections(doc: &mut Value, p: &Params, s: &Stats, run_cycles: u64) {
    if let (Some(sections), Some(obj)) = (channel_sections(p, s, run_cycles), doc.as_object_mut()) {
        for (k, v) in sections {
            obj.insert(k.to_string(), v);
        }
    }
}

fn csv_field(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(csv_field).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

fn csv_of(rows: &[Value], keys: &[&str]) -> String {
    let mut out = keys.join(",") + "\n";
    for r in rows {
        let line: Vec<String> = keys.iter().map(|k| csv_field(&r[*k])).collect();
        out += &line.join(",");
        out.push('\n');
    }
    out
}

/// The per-channel sections of a result document as CSV tables: (`links`, `vcs`,
/// `routers`, `nodes`), one row per link direction, input VC, router and node.
pub fn channel_csv(doc: &Value) -> Option<Vec<(&'static str, String)>> {
    let links = doc.get("links")?.as_array()?;
    let routers = doc.get("routers")?.as_array()?;
    let nodes = doc.get("nodes")?.as_array()?;
    let link_keys = [
        "node",
        "coords",
        "direction",
        "to",
        "failed",
        "flits",
        "window_flits",
        "utilisation",
        "credit_stall_cycles",
        "bubble_refusals",
    ];
    let mut vcs = Vec::new();
    for r in routers {
        for v in r["input_vcs"].as_array().into_iter().flatten() {
            let mut row = v.clone();
            row["node"] = r["node"].clone();
            row["coords"] = r["coords"].clone();
            vcs.push(row);
        }
    }
    let vc_keys = [
        "node",
        "coords",
        "port",
        "vc",
        "mean_flits",
        "max_flits",
        "wait_vc_cycles",
        "wait_switch_cycles",
        "blocked_cycles",
    ];
    let router_keys = ["node", "coords", "crossbar_flits", "crossbar_utilisation"];
    let node_keys = [
        "node",
        "coords",
        "injected_flits",
        "injected_bytes",
        "ejected_flits",
        "ejected_bytes",
        "queue_mean_packets",
        "queue_max_packets",
    ];
    Some(vec![
        ("links", csv_of(links, &link_keys)),
        ("vcs", csv_of(&vcs, &vc_keys)),
        ("routers", csv_of(routers, &router_keys)),
        ("nodes", csv_of(nodes, &node_keys)),
    ])
}

/// The `n` busiest link directions of a result document, busiest first (ties by
/// position), as (description, utilisation).
pub fn hottest_links(doc: &Value, n: usize) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = doc
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|l| {
            let coords = csv_field(&l["coords"]).replace(' ', ",");
            (
                format!("{} ({coords}) {}", l["node"], csv_field(&l["direction"])),
                l["utilisation"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(n);
    v
}
