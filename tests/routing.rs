//! Routing: balanced ties, every algorithm with and without faults (exactly-once
//! delivery, no flit on a failed link), determinism across partitions, table routing
//! without faults equal to direction order, the static deadlock check on generated and
//! hand-made tables and on adaptive routing, timeouts, adaptive throughput, and the
//! errors bad fault sets and routing configs get.

mod common;

use common::{
    accepted, config_with, json_diff as diff, reference, stderr, stdout, stripped_json, torsim,
};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use torsim::config::{Config, Params};
use torsim::engine::sim::RunOptions;
use torsim::experiment::phases::Outcome;
use torsim::experiment::run::{RunError, check_built, check_routing, run_synthetic};
use torsim::routing::table::TableRouting;
use torsim::routing::{Routing, deadlock, header};
use torsim::topology::Torus;

/// Short phases, so that a run of the 8x8 torus takes well under a second.
const SHORT: &[&str] = &[
    "simulation.warmup_cycles=300",
    "simulation.measure_cycles=2000",
    "simulation.max_drain_cycles=3000",
    "simulation.watchdog_cycles=5000",
];

/// Two named failed links and one failed node of the 8x8 torus, none of them touching
/// another. (Table generation does not find deadlock-free routes around every fault
/// set: see [`unroutable_fault_set_is_a_clean_error`].)
const FAULTS: &[&str] = &[
    "faults.links=[\"1,1 +x\", \"6,2 +y\"]",
    "faults.nodes=[\"4,4\"]",
];

/// Four named failed links, for dimension-order escape under bubble flow control,
/// which cannot route around any failed node of an 8-ring torus (see below).
const FAULT_LINKS: &[&str] = &["faults.links=[\"1,1 +x\", \"6,3 -x\", \"3,6 +y\", \"5,5 -y\"]"];

/// The reference 8x8 config with [`SHORT`] phases and `extra` overrides.
fn short(extra: &[&str]) -> (Config, Params) {
    let mut o = SHORT.to_vec();
    o.extend_from_slice(extra);
    reference(&o)
}

fn run_with(p: &Params, partitions: usize, threads: usize) -> Outcome {
    run_synthetic(
        p,
        &RunOptions {
            check: true,
            partitions,
            threads,
            ..Default::default()
        },
        false,
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Runs `p` with the exactly-once check and checks conservation on top of it.
fn conserving_run(label: &str, p: &Params) -> Outcome {
    let o = run_with(p, 1, 1);
    let s = &o.stats;
    assert_eq!(s.packets_injected, s.packets_delivered, "{label}");
    assert_eq!(s.flits_injected, s.flits_delivered, "{label}");
    let mut ids = s.delivered_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len() as u64,
        s.packets_delivered,
        "{label}: delivered ids are not unique"
    );
    assert!(
        s.packets_delivered > 2000,
        "{label}: too little traffic ({})",
        s.packets_delivered
    );
    o
}

/// No flit crossed a failed link (either direction) or entered or left a failed node,
/// and a failed node's PE sent nothing.
fn assert_faults_respected(label: &str, p: &Params, o: &Outcome) {
    let t = Torus::from_params(p);
    let np = t.network_ports();
    let lf = &o.stats.link_flits;
    assert_eq!(lf.len(), t.nodes() * np, "{label}: link_flits size");
    let f = t.faults();
    assert!(!f.is_empty(), "{label}: the run has no faults");
    for &(n, port) in &f.links {
        let m = t.neighbor(n, port);
        assert_eq!(
            lf[n * np + port],
            0,
            "{label}: flits over failed link {}",
            t.describe_link(n, port)
        );
        assert_eq!(
            lf[m * np + (port ^ 1)],
            0,
            "{label}: flits back over failed link {}",
            t.describe_link(n, port)
        );
    }
    for &n in &f.nodes {
        for port in 0..np {
            assert_eq!(
                lf[n * np + port],
                0,
                "{label}: node {n} sent on port {port}"
            );
            let m = t.neighbor(n, port);
            assert_eq!(
                lf[m * np + (port ^ 1)],
                0,
                "{label}: node {n} received on port {port}"
            );
        }
        assert!(
            o.stats
                .delivered_ids
                .iter()
                .all(|&id| torsim::core::flit::split_packet_id(id).0 as usize != n),
            "{label}: failed node {n} injected"
        );
    }
    // Live links did carry traffic, so the zeros above mean something.
    let busy = lf.iter().filter(|&&x| x > 0).count();
    assert!(busy > t.nodes() * np / 2, "{label}: only {busy} busy links");
}

// ---------------------------------------------------------------------------------
// 1. Ties at k/2 split evenly: uniform load is symmetric between + and -.

fn assert_balanced(label: &str, p: &Params) {
    let o = run_with(p, 1, 1);
    let t = Torus::from_params(p);
    let np = t.network_ports();
    let dirs = o.stats.direction_flits(np);
    // The sum of link_flits by direction is what direction_flits reports.
    let mut sums = vec![0u64; np];
    for (i, f) in o.stats.link_flits.iter().enumerate() {
        sums[i % np] += f;
    }
    assert_eq!(dirs, sums, "{label}");
    for d in 0..t.dims() {
        let (plus, minus) = (dirs[2 * d] as f64, dirs[2 * d + 1] as f64);
        assert!(plus > 10_000.0, "{label}: dim {d}: too few flits ({plus})");
        let rel = (plus - minus).abs() / plus.max(minus);
        assert!(
            rel < 0.02,
            "{label}: dim {d}: +{plus} vs -{minus} flits ({:.1} % apart)",
            100.0 * rel
        );
    }
}

/// Long enough that random destinations leave well under 1 % between directions (the
/// old tie rule sent every x tie of an 8-ring one way: +x carried 10/6 of -x).
const BALANCE: &[&str] = &[
    "simulation.measure_cycles=10000",
    "traffic.injection_rate=0.3",
];

#[test]
fn ties_balance_plus_and_minus_8x8() {
    let (_, p) = short(BALANCE);
    assert_balanced("8x8", &p);
}

#[test]
fn ties_balance_plus_and_minus_4x4x4() {
    let mut o = BALANCE.to_vec();
    o.push("topology.shape=[4, 4, 4]");
    let (_, p) = short(&o);
    assert_balanced("4x4x4", &p);
}

// ---------------------------------------------------------------------------------
// 2. + 3. Exactly-once delivery for every algorithm; no flit on a failed link.

fn conserves(label: &str, extra: &[&str], faulty: bool) {
    conserves_with(label, extra, if faulty { FAULTS } else { &[] });
}

fn conserves_with(label: &str, extra: &[&str], faults: &[&str]) {
    let faulty = !faults.is_empty();
    let mut o = vec!["traffic.injection_rate=0.3"];
    o.extend_from_slice(extra);
    o.extend_from_slice(faults);
    let (_, p) = short(&o);
    let r = conserving_run(label, &p);
    if faulty {
        assert_faults_respected(label, &p, &r);
    }
}

#[test]
fn conservation_deterministic_algorithms() {
    conserves(
        "dimension order",
        &["routing.algorithm=dimension-order"],
        false,
    );
    conserves(
        "direction order, bubble",
        &[
            "routing.algorithm=direction-order",
            "routing.deadlock_avoidance=bubble",
            "router.virtual_channels=1",
        ],
        false,
    );
    conserves("table", &["routing.algorithm=table"], false);
    conserves(
        "table, dateline-entry",
        &[
            "routing.algorithm=table",
            "routing.deadlock_avoidance=dateline-entry",
        ],
        false,
    );
}

#[test]
fn conservation_table_with_faults() {
    conserves(
        "table, bubble, 1 VC, faults",
        &[
            "routing.algorithm=table",
            "routing.deadlock_avoidance=bubble",
            "router.virtual_channels=1",
        ],
        true,
    );
    conserves(
        "table, dateline, 2 VCs, faults",
        &[
            "routing.algorithm=table",
            "routing.deadlock_avoidance=dateline",
            "router.virtual_channels=2",
        ],
        true,
    );
    conserves(
        "table, dateline-entry, 2 VCs, faults",
        &[
            "routing.algorithm=table",
            "routing.deadlock_avoidance=dateline-entry",
            "router.virtual_channels=2",
        ],
        true,
    );
}

#[test]
fn conservation_adaptive_without_faults() {
    for escape in ["direction-order", "dimension-order"] {
        for selection in ["most-credits", "first", "random"] {
            let e = format!("routing.escape={escape}");
            let s = format!("routing.selection={selection}");
            conserves(
                &format!("adaptive, dateline, {escape}, {selection}"),
                &[
                    "routing.algorithm=adaptive",
                    "router.virtual_channels=3",
                    &e,
                    &s,
                ],
                false,
            );
        }
    }
}

#[test]
fn conservation_adaptive_with_faults() {
    for (dla, vcs) in [("bubble", 2), ("dateline", 3)] {
        for escape in ["direction-order", "dimension-order"] {
            for selection in ["most-credits", "first", "random"] {
                let d = format!("routing.deadlock_avoidance={dla}");
                let v = format!("router.virtual_channels={vcs}");
                let e = format!("routing.escape={escape}");
                let s = format!("routing.selection={selection}");
                let faults = if (dla, escape) == ("bubble", "dimension-order") {
                    FAULT_LINKS
                } else {
                    FAULTS
                };
                conserves_with(
                    &format!("adaptive, {dla}, {vcs} VCs, {escape}, {selection}, faults"),
                    &["routing.algorithm=adaptive", &d, &v, &e, &s],
                    faults,
                );
            }
        }
    }
}

/// Random fault sets, at a higher load, multi-flit packets.
#[test]
fn no_flit_crosses_a_failed_link_random_faults() {
    for seed in [1, 4, 7] {
        for algo in [
            &[
                "routing.algorithm=table",
                "routing.deadlock_avoidance=bubble",
                "router.virtual_channels=1",
            ][..],
            &[
                "routing.algorithm=adaptive",
                "router.virtual_channels=3",
                "routing.selection=random",
            ][..],
        ] {
            let s = format!("faults.seed={seed}");
            let mut o = vec![
                "faults.random_links=2",
                "traffic.injection_rate=0.4",
                "traffic.packet_flits=2",
                &s,
            ];
            o.extend_from_slice(algo);
            let (_, p) = short(&o);
            let label = format!("{algo:?}, seed {seed}");
            assert_eq!(p.faults.links.len(), 2, "{label}");
            let r = conserving_run(&label, &p);
            assert_faults_respected(&label, &p, &r);
        }
    }
}

// ---------------------------------------------------------------------------------
// 4. Determinism across partitions with faults and random selection.

/// The result document without `run.partitions`, plus the counters it summarises:
/// the latency histograms, the hop counters, per-link flits and the sorted ids.
fn comparable(c: &Config, p: &Params, o: &Outcome) -> Value {
    let mut v = stripped_json(c, p, o);
    v["run"].as_object_mut().unwrap().remove("partitions");
    let mut s = o.stats.clone();
    s.delivered_ids.sort_unstable();
    // Engine bookkeeping, not a measurement: may depend on the partitioning.
    s.events = 0;
    v["stats"] = serde_json::to_value(&s).unwrap();
    v
}

#[test]
fn adaptive_random_selection_with_faults_is_partition_invariant() {
    let (c, p) = short(&[
        "routing.algorithm=adaptive",
        "routing.selection=random",
        "router.virtual_channels=3",
        "traffic.injection_rate=0.4",
        "router.timeout=30",
        FAULTS[0],
        FAULTS[1],
    ]);
    let base_run = run_with(&p, 1, 1);
    assert!(base_run.stats.router.adaptive_hops > 0 && base_run.stats.router.escape_hops > 0);
    let base = comparable(&c, &p, &base_run);
    for (parts, threads) in [(2, 1), (3, 1), (2, 2), (3, 2)] {
        let r = run_with(&p, parts, threads);
        assert!(r.partitions > 1, "{parts} partitions were not made");
        let mut d = Vec::new();
        diff(&base, &comparable(&c, &p, &r), "", &mut d);
        assert!(
            d.is_empty(),
            "{parts} partitions, {threads} threads differ from 1 in:\n  {}",
            d.join("\n  ")
        );
    }
}

// ---------------------------------------------------------------------------------
// 5. Without faults, table routing is direction order.

fn same_as_direction_order(label: &str, text: &str, extra: &[&str]) {
    let stats = |algo: &str| {
        let a = format!("routing.algorithm={algo}");
        let mut o = extra.to_vec();
        o.push(&a);
        let (_, p) = config_with(text, &o);
        let r = run_with(&p, 1, 1);
        assert!(
            r.stats.packets_delivered > 200,
            "{label}: too little traffic"
        );
        let mut s = r.stats;
        s.delivered_ids.sort_unstable();
        serde_json::to_value(&s).unwrap()
    };
    let (table, order) = (stats("table"), stats("direction-order"));
    let mut d = Vec::new();
    diff(&order, &table, "", &mut d);
    assert!(
        d.is_empty(),
        "{label}: table differs from direction order in:\n  {}",
        d.join("\n  ")
    );
    assert_eq!(table["first_step_hops"], 0, "{label}");
    assert_eq!(table["last_step_hops"], 0, "{label}");
}

#[test]
fn table_without_faults_equals_direction_order_8x8() {
    let mut o = SHORT.to_vec();
    o.extend_from_slice(&[
        "traffic.injection_rate=0.35",
        "routing.direction_order=[\"+y\", \"-x\", \"+x\", \"-y\"]",
    ]);
    same_as_direction_order("8x8", common::REFERENCE, &o);
}

#[test]
fn table_without_faults_equals_direction_order_prototype() {
    same_as_direction_order(
        "prototype 3x3",
        include_str!("../configs/prototype-3x3.toml"),
        &[
            "traffic.packet_flits=4",
            "traffic.injection_rate=0.2",
            "simulation.warmup_cycles=2000",
            "simulation.measure_cycles=10000",
        ],
    );
}

// ---------------------------------------------------------------------------------
// 6. The static deadlock check.

#[test]
fn check_accepts_generated_tables_for_random_faults() {
    for seed in 1..=6u64 {
        let links = format!("faults.random_links={}", 1 + seed % 3);
        let s = format!("faults.seed={seed}");
        for algo in [
            &[
                "routing.algorithm=table",
                "routing.deadlock_avoidance=bubble",
                "router.virtual_channels=1",
            ][..],
            &[
                "routing.algorithm=adaptive",
                "routing.deadlock_avoidance=bubble",
                "routing.escape=dimension-order",
            ][..],
            &[
                "routing.algorithm=adaptive",
                "router.virtual_channels=3",
                "routing.escape=direction-order",
            ][..],
        ] {
            let mut o = vec![links.as_str(), s.as_str()];
            o.extend_from_slice(algo);
            let (_, p) = reference(&o);
            assert!(!p.faults.links.is_empty());
            let rep = check_routing(&p, 1)
                .unwrap_or_else(|e| panic!("seed {seed}, {algo:?}: refused: {e}"));
            assert!(rep.dependencies > 0, "seed {seed}, {algo:?}: empty graph");
        }
    }
}

/// Dimension order takes x before y, so on an 8x8 torus with node (4,4) failed the
/// pair (0,4) -> (4,0) (ties in both rings) reaches column 4 in row 4 whichever way it
/// goes round; leaving row 4 first needs a y hop before an x hop, which under bubble
/// flow control closes a cycle between rings. Such a set must be refused with a clean
/// routing error naming the pair, not a panic or a route over the failed node.
#[test]
fn unroutable_fault_set_is_a_clean_error() {
    let (_, p) = short(&[
        "routing.algorithm=adaptive",
        "routing.deadlock_avoidance=bubble",
        "routing.escape=dimension-order",
        "faults.nodes=[\"4,4\"]",
    ]);
    for r in [
        check_routing(&p, 1).map(|_| ()),
        run_synthetic(&p, &RunOptions::default(), false, &mut |_| {}).map(|_| ()),
    ] {
        match r {
            Err(RunError::Routing(m)) => {
                assert!(m.contains("no deadlock-free route"), "{m}");
                assert!(m.contains("(0,4)") && m.contains("(4,0)"), "{m}");
            }
            other => panic!("expected RunError::Routing, got {other:?}"),
        }
    }
    // The same node with direction-order escape (+x +y -x -y) is routable: a First
    // Step +y, then +y and -x, respects the order.
    let (_, p) = short(&[
        "routing.algorithm=adaptive",
        "routing.deadlock_avoidance=bubble",
        "routing.escape=direction-order",
        "faults.nodes=[\"4,4\"]",
    ]);
    check_routing(&p, 1).expect("direction-order escape around one failed node");
}

#[test]
fn check_rejects_adaptive_without_escape() {
    let (_, p) = short(&["routing.algorithm=adaptive", "routing.escape=none"]);
    match check_routing(&p, 1) {
        Err(RunError::Routing(m)) => assert!(m.contains("routing.escape"), "{m}"),
        other => panic!("expected RunError::Routing, got {other:?}"),
    }
    let r = run_synthetic(&p, &RunOptions::default(), false, &mut |_| {});
    assert!(matches!(r, Err(RunError::Routing(_))), "{r:?}");
}

/// A hand-made table on a 4x4 torus, bubble, 1 VC, order +x +y -x -y. The plain route
/// from (1,0) to (2,3) goes +x along row 0, then -y down column 2: ring +x of row 0
/// waits on ring -y of column 2. A First Step -y from (2,1) to (2,0) followed by +x to
/// (3,0) adds the reverse dependency: a cycle between two rings, which the check must
/// report, while an order-respecting First Step must pass.
#[test]
fn check_rejects_hand_made_table_whose_first_steps_close_a_cycle() {
    let (_, p) = config_with(
        "[topology]\nshape = [4, 4]\n[router]\nvirtual_channels = 1\n\
         [routing]\nalgorithm = \"table\"\ndeadlock_avoidance = \"bubble\"\n",
        &[],
    );
    let t = Torus::from_params(&p);
    let node = |x: usize, y: usize| t.node_at(&[x, y]);
    let routing = |entries: &[((usize, usize), u16)]| {
        let f = TableRouting::from_entries(p.direction_order.clone(), entries);
        Routing::with_function(&p, &t, 1, Arc::new(f))
    };
    // Controls: no entries (plain direction order), and a First Step +x that the
    // order would take anyway.
    let plain = routing(&[]);
    assert!(deadlock::check(&plain, 1).is_safe());
    let along = routing(&[((node(0, 0), node(2, 1)), header::make(Some(0), None, None))]);
    assert_eq!(
        along
            .walk(node(0, 0), node(2, 1), 0)
            .iter()
            .map(|h| h.1)
            .collect::<Vec<_>>(),
        [0, 0, 2]
    );
    assert!(deadlock::check(&along, 1).is_safe());
    // The cycle.
    let bad = routing(&[((node(2, 1), node(3, 0)), header::make(Some(3), None, None))]);
    let hops = bad.walk(node(2, 1), node(3, 0), 0);
    assert_eq!(hops.iter().map(|h| h.1).collect::<Vec<_>>(), [3, 0]);
    assert_ne!(hops[0].2 & torsim::routing::kind::FIRST_STEP, 0);
    let rep = deadlock::check(&bad, 1);
    let cycle = rep.cycle.clone().expect("a cycle between rings");
    assert!(rep.problem.is_none(), "{:?}", rep.problem);
    assert!(
        cycle.iter().any(|c| c.contains("-y")) && cycle.iter().any(|c| c.contains("+x")),
        "{cycle:?}"
    );
    assert!(matches!(
        check_built(&bad, 1),
        Err(RunError::UnsafeRouting(_))
    ));
}

// ---------------------------------------------------------------------------------
// 7. Timeouts.

#[test]
fn adaptive_timeouts_move_packets_to_the_escape() {
    let (_, p) = short(&[
        "routing.algorithm=adaptive",
        "router.virtual_channels=3",
        "router.timeout=20",
        "router.timeout_action=escape",
        "traffic.pattern=hotspot",
        "traffic.hotspot_nodes=[0, 27]",
        "traffic.hotspot_fraction=0.3",
        "traffic.injection_rate=0.5",
    ]);
    let o = conserving_run("adaptive timeouts", &p);
    let s = &o.stats;
    assert!(s.router.timeouts > 0, "no timeouts");
    assert!(s.router.rerouted_packets > 0, "no packet re-routed");
    assert!(s.router.rerouted_packets <= s.router.timeouts);
    assert!(s.router.escape_hops > 0 && s.router.adaptive_hops > 0);
    // Without the timeout, the same run re-routes nothing.
    let (_, p) = short(&[
        "routing.algorithm=adaptive",
        "router.virtual_channels=3",
        "traffic.pattern=hotspot",
        "traffic.hotspot_nodes=[0, 27]",
        "traffic.hotspot_fraction=0.3",
        "traffic.injection_rate=0.5",
    ]);
    let o = conserving_run("adaptive, no timeout", &p);
    assert_eq!(
        (o.stats.router.timeouts, o.stats.router.rerouted_packets),
        (0, 0)
    );
}

#[test]
fn deterministic_timeouts_switch_subnetwork() {
    let (_, p) = short(&[
        "routing.algorithm=dimension-order",
        "routing.subnetworks=2",
        "router.virtual_channels=4",
        "router.timeout=20",
        "router.timeout_action=switch-subnetwork",
        "traffic.pattern=tornado",
        "traffic.injection_rate=0.6",
    ]);
    let o = conserving_run("switch subnetwork", &p);
    let s = &o.stats;
    assert!(s.router.timeouts > 0, "no timeouts");
    assert!(s.router.rerouted_packets > 0, "no packet re-routed");
    assert!(s.router.rerouted_packets <= s.router.timeouts);
}

// ---------------------------------------------------------------------------------
// 8. Adaptive routing beats dimension order on transpose.

#[test]
fn adaptive_beats_dimension_order_on_transpose() {
    let load = |algo: &str| {
        let a = format!("routing.algorithm={algo}");
        let (c, p) = short(&[
            &a,
            "router.virtual_channels=4",
            "traffic.pattern=transpose",
            "traffic.injection_rate=0.8",
            "simulation.max_drain_cycles=300",
        ]);
        let o = run_with(&p, 1, 1);
        accepted(&c, &p, &o)
    };
    let (dor, adaptive) = (load("dimension-order"), load("adaptive"));
    assert!(
        adaptive > dor * 1.05,
        "adaptive {adaptive:.3} vs dimension order {dor:.3} flits/node/cycle"
    );
}

// ---------------------------------------------------------------------------------
// 9. Bad fault sets and routing configs: one-line errors with file, line and key.

fn expect_cli_error(dir: &Path, name: &str, text: &str, line: usize, want: &[&str]) {
    let path = common::write_config(dir, name, text);
    let o = torsim(&["run", path.to_str().unwrap()]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{name}: {e}");
    assert!(!e.contains("panicked"), "{name}: {e}");
    assert!(e.starts_with("torsim: "), "{name}: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{name}: not one line: {e}");
    assert!(stdout(&o).is_empty(), "{name}: {}", stdout(&o));
    let at = format!("{}:{line}:", path.display());
    assert!(e.contains(&at), "{name}: expected `{at}` in: {e}");
    for w in want {
        assert!(e.contains(w), "{name}: expected `{w}` in: {e}");
    }
}

#[test]
fn bad_faults_and_routing_get_located_errors() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let head = "name = \"x\"\n[topology]\nshape = [8, 8]\n[routing]\nalgorithm = \"table\"\n";
    // Line 6: [faults], line 7: the key.
    let faults = |v: &str| format!("{head}[faults]\nlinks = {v}\n");
    expect_cli_error(
        dir,
        "missing-node.toml",
        &faults("[\"9,9 +x\"]"),
        7,
        &["faults.links", "9,9", "does not exist"],
    );
    expect_cli_error(
        dir,
        "no-z.toml",
        &faults("[\"1,1 +z\"]"),
        7,
        &["faults.links", "+z", "no direction"],
    );
    expect_cli_error(
        dir,
        "cut.toml",
        &faults("[\"2,3 +x\", \"2,3 -x\", \"2,3 +y\", \"2,3 -y\"]"),
        7,
        &["faults.links", "disconnect"],
    );
    expect_cli_error(
        dir,
        "dor.toml",
        "name = \"x\"\n[topology]\nshape = [8, 8]\n[routing]\n\
         algorithm = \"dimension-order\"\n[faults]\nlinks = [\"1,1 +x\"]\n",
        5,
        &["routing.algorithm", "only \"table\" and \"adaptive\""],
    );
    expect_cli_error(
        dir,
        "few-vcs.toml",
        "name = \"x\"\n[topology]\nshape = [8, 8]\n[router]\nvirtual_channels = 2\n\
         [routing]\nalgorithm = \"adaptive\"\ndeadlock_avoidance = \"dateline\"\n",
        5,
        &["router.virtual_channels", "adaptive", "escape"],
    );
}
