//! Packet traces in the Chrome / Perfetto trace-event JSON format (open the file in
//! ui.perfetto.dev or chrome://tracing). One process per node, with a track for its
//! PE, one per router input port and one per router output port. One microsecond on
//! the timeline is one simulated cycle, so the viewer's times read as cycles.
//!
//! A packet at a router is a slice on its input track from the head's arrival to the
//! tail's departure, with nested stages: route computation, waiting for an output VC,
//! waiting for the switch, and the flits crossing the switch; the same packet is a
//! slice on the output track while its flits leave. On the PE tracks: packets waiting
//! in the source queue, and SHMEM operations.

use crate::core::flit::split_packet_id;
use crate::stats::trace::TraceData;
use crate::topology::Torus;
use serde_json::{Value, json};

/// Track (thread) ids within a node's process.
const PE_TRACK: u64 = 0;
fn in_track(port: u16) -> u64 {
    1 + port as u64
}
fn out_track(port: u16) -> u64 {
    100 + port as u64
}

fn slice(name: &str, cat: &str, pid: u32, tid: u64, from: u64, to: u64, args: Value) -> Value {
    json!({
        "name": name, "cat": cat, "ph": "X", "pid": pid, "tid": tid,
        "ts": from, "dur": to.saturating_sub(from), "args": args,
    })
}

fn packet_name(packet: u64, dest: u32) -> String {
    let (src, seq) = split_packet_id(packet);
    format!("packet {src}:{seq} to {dest}")
}

/// The trace-event document of `t` on `torus` (`injectors` and `ejectors` per router).
pub fn trace_json(t: &TraceData, torus: &Torus, injectors: usize) -> Value {
    let mut ev = Vec::new();
    let mut nodes = std::collections::BTreeSet::new();
    let mut tracks = std::collections::BTreeSet::new();
    let mut first_hop = std::collections::HashSet::new();
    for h in &t.hops {
        let name = packet_name(h.packet, h.dest);
        let args = json!({
            "packet": h.packet, "source": split_packet_id(h.packet).0, "dest": h.dest, "flits": h.len,
            "created": h.created, "in_vc": h.in_vc, "out_vc": h.out_vc,
            "out_port": torus.port_name(h.out_port as usize, injectors, false),
            "waited_for_vc": h.granted - h.routed,
            "waited_for_switch": h.head_sent.saturating_sub(h.switch_ready),
        });
        let (pid, tin, tout) = (h.node, in_track(h.in_port), out_track(h.out_port));
        nodes.insert(h.node);
        tracks.insert((h.node, tin, true, h.in_port));
        tracks.insert((h.node, tout, false, h.out_port));
        ev.push(slice(
            &name,
            "packet",
            pid,
            tin,
            h.arrived,
            h.tail_sent + 1,
            args.clone(),
        ));
        ev.push(slice(
            "route",
            "stage",
            pid,
            tin,
            h.arrived,
            h.routed,
            json!({}),
        ));
        ev.push(slice(
            "VC allocation",
            "stage",
            pid,
            tin,
            h.routed,
            h.granted + 1,
            json!({"waited": h.granted - h.routed}),
        ));
        if h.head_sent > h.switch_ready {
            ev.push(slice(
                "wait for switch",
                "stage",
                pid,
                tin,
                h.switch_ready,
                h.head_sent,
                json!({}),
            ));
        }
        ev.push(slice(
            "switch",
            "stage",
            pid,
            tin,
            h.head_sent,
            h.tail_sent + 1,
            json!({}),
        ));
        ev.push(slice(
            &name,
            "packet",
            pid,
            tout,
            h.head_sent,
            h.tail_sent + 1,
            args,
        ));
        if first_hop.insert(h.packet) {
            let src = split_packet_id(h.packet).0;
            nodes.insert(src);
            if h.injected > h.created {
                ev.push(slice(
                    &format!("{name}: queued"),
                    "packet",
                    src,
                    PE_TRACK,
                    h.created,
                    h.injected,
                    json!({"packet": h.packet}),
                ));
            }
        }
    }
    for o in &t.ops {
        nodes.insert(o.node);
        ev.push(slice(
            &o.name,
            "shmem",
            o.node,
            PE_TRACK,
            o.start,
            o.end,
            json!({}),
        ));
    }
    for &n in &nodes {
        ev.push(json!({"name": "process_name", "ph": "M", "pid": n, "args": {"name": format!("node {}", torus.describe_node(n as usize))}}));
        ev.push(
            json!({"name": "process_sort_index", "ph": "M", "pid": n, "args": {"sort_index": n}}),
        );
        ev.push(json!({"name": "thread_name", "ph": "M", "pid": n, "tid": PE_TRACK, "args": {"name": "PE"}}));
    }
    for &(n, tid, input, port) in &tracks {
        let name = if input {
            format!("in {}", torus.port_name(port as usize, injectors, true))
        } else {
            format!("out {}", torus.port_name(port as usize, injectors, false))
        };
        ev.push(
            json!({"name": "thread_name", "ph": "M", "pid": n, "tid": tid, "args": {"name": name}}),
        );
        ev.push(json!({"name": "thread_sort_index", "ph": "M", "pid": n, "tid": tid, "args": {"sort_index": tid}}));
    }
    json!({
        "traceEvents": ev,
        "displayTimeUnit": "ns",
        "otherData": {
            "time_unit": "1 us on the timeline = 1 simulated cycle",
            "packets": t.packets(),
            "operations": t.ops.len(),
            "limit": t.spec.limit,
            "window": [t.spec.window.0, t.spec.window.1],
        },
    })
}
