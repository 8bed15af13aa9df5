//! Packet traces (`--trace`): the file is trace-event JSON with the declared events
//! for each traced packet, the stages of every hop are in causal order, the limit is
//! kept, and the trace does not depend on how the run is split.

mod common;

use common::reference;
use serde_json::Value;
use std::process::Command;
use torsim::engine::sim::RunOptions;
use torsim::experiment::run::run_synthetic;
use torsim::stats::trace::{TraceData, TraceSpec};

const SHORT: [&str; 3] = [
    "simulation.warmup_cycles=100",
    "simulation.measure_cycles=400",
    "traffic.injection_rate=0.3",
];

fn traced(partitions: usize, spec: TraceSpec) -> TraceData {
    let (_, p) = reference(&SHORT);
    let o = run_synthetic(
        &p,
        &RunOptions {
            partitions,
            threads: partitions.min(2),
            trace: Some(spec),
            ..Default::default()
        },
        false,
        &mut |_| {},
    )
    .unwrap();
    o.stats.trace.expect("a trace was requested")
}

#[test]
fn two_packet_trace_file_has_the_declared_events_in_causal_order() {
    let dir = std::env::temp_dir().join(format!("torsim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("trace.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_torsim"));
    cmd.args(["run", "configs/torus-8x8.toml", "--trace"])
        .arg(&file)
        .args(["--trace-packets", "2"]);
    for s in SHORT {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let ev = doc["traceEvents"].as_array().unwrap();
    assert_eq!(doc["otherData"]["packets"], 2);
    // Every slice is a complete event with the keys a viewer needs.
    let slices: Vec<&Value> = ev.iter().filter(|e| e["ph"] == "X").collect();
    for e in &slices {
        for k in ["name", "pid", "tid", "ts", "dur"] {
            assert!(!e[k].is_null(), "{k} missing in {e}");
        }
    }
    // The library's view of the same run: the hops of the two packets.
    let t = traced(
        1,
        TraceSpec {
            limit: 2,
            window: (0, u64::MAX),
        },
    );
    assert_eq!(t.packets(), 2);
    // Per hop: the packet on its input and output tracks, route, VC allocation and
    // switch stages (and a switch wait when there was one).
    let waits = t
        .hops
        .iter()
        .filter(|h| h.head_sent > h.switch_ready)
        .count();
    let packet_slices = slices.iter().filter(|e| e["cat"] == "packet").count();
    let stage_slices = slices.iter().filter(|e| e["cat"] == "stage").count();
    let queued = slices
        .iter()
        .filter(|e| e["name"].as_str().unwrap().ends_with("queued"))
        .count();
    assert_eq!(packet_slices, 2 * t.hops.len() + queued);
    assert_eq!(stage_slices, 3 * t.hops.len() + waits);
    for name in ["route", "VC allocation", "switch"] {
        assert!(slices.iter().any(|e| e["name"] == name), "no {name} slice");
    }
    let torus = torsim::topology::Torus::new(&[8, 8]);
    for pkt in t
        .hops
        .iter()
        .map(|h| h.packet)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let hops: Vec<_> = t.hops.iter().filter(|h| h.packet == pkt).collect();
        let (src, dest) = (
            torsim::core::flit::split_packet_id(pkt).0 as usize,
            hops[0].dest as usize,
        );
        assert_eq!(
            hops.len(),
            torus.distance(src, dest) + 1,
            "one record per router"
        );
        assert_eq!(hops[0].node as usize, src);
        assert_eq!(hops.last().unwrap().node as usize, dest);
        assert!(hops[0].in_port >= 4, "enters from an injector");
        assert!(hops.last().unwrap().out_port >= 4, "leaves to an ejector");
        assert!(hops[0].created <= hops[0].injected && hops[0].injected < hops[0].arrived);
        for h in &hops {
            assert!(
                h.arrived <= h.routed
                    && h.routed <= h.granted
                    && h.granted <= h.switch_ready
                    && h.switch_ready <= h.head_sent
                    && h.head_sent <= h.tail_sent,
                "stages out of order: {h:?}"
            );
        }
        for w in hops.windows(2) {
            assert!(
                w[0].head_sent < w[1].arrived,
                "the next router sees it later"
            );
            assert_eq!(
                torus.neighbor(w[0].node as usize, w[0].out_port as usize),
                w[1].node as usize
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_trace_keeps_its_limit_and_window_and_ignores_the_split() {
    let spec = TraceSpec {
        limit: 25,
        window: (150, 400),
    };
    let serial = traced(1, spec);
    assert_eq!(serial.packets(), 25);
    assert!(serial.hops.iter().all(|h| (150..400).contains(&h.created)));
    for parts in [2, 4] {
        assert_eq!(traced(parts, spec), serial, "{parts} partitions");
    }
}

#[test]
fn shmem_operations_are_slices_on_the_pe_tracks() {
    let dir = std::env::temp_dir().join(format!("torsim-trace-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ops.json");
    let out = Command::new(env!("CARGO_BIN_EXE_torsim"))
        .args(["run", "configs/prototype-3x3.toml", "--set"])
        .arg("workload.program=traffic/pingpong.toml")
        .arg("--trace")
        .arg(&file)
        .args(["--trace-packets", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let ops: Vec<&Value> = doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "shmem")
        .collect();
    assert!(!ops.is_empty());
    assert!(ops.iter().all(|e| e["tid"] == 0), "on the PE tracks");
    assert!(
        ops.iter()
            .any(|e| e["name"].as_str().unwrap().starts_with("put"))
    );
    assert!(
        ops.iter()
            .any(|e| e["name"].as_str().unwrap().starts_with("wait"))
    );
    // At most 3 operations per PE, at most 3 packets.
    assert!(doc["otherData"]["packets"].as_u64().unwrap() <= 3);
    for pe in 0..9 {
        assert!(ops.iter().filter(|e| e["pid"] == pe).count() <= 3);
    }
    std::fs::remove_dir_all(&dir).ok();
}
