//! Deadlock: the static channel-dependency check, and the run-time watchdog when the
//! check is bypassed.

mod common;

use common::{config_with, reference, run, stderr, stdout, torsim, write_config};
use torsim::config::Params;
use torsim::engine::sim::RunOptions;
use torsim::experiment::phases::SimError;
use torsim::experiment::run::{RunError, check_routing, run_synthetic};
use torsim::topology::Torus;

/// The reference 8x8 torus with one VC and no deadlock avoidance: every ring of the
/// torus is a cycle of channels that DOR can fill (Dally & Seitz), so it must be refused.
const UNSAFE_OVERRIDES: &[&str] = &[
    "router.virtual_channels=1",
    "routing.deadlock_avoidance=none",
];

/// A 6-node ring, 1 VC, buffers that hold exactly one 4-flit packet, offered load 1.0:
/// every node keeps injecting into the same unidirectional ring, so the buffers of the
/// ring fill with packets each waiting for the next buffer -- a real deadlock within a
/// few hundred cycles. The watchdog is short so the test is quick. (A 4-node ring
/// would not do: with ties at k/2 split evenly no packet travels three hops of it, so
/// its channels form no cycle and it cannot deadlock.)
const RING: &str = r#"
    [topology]
    shape = [6]
    [router]
    virtual_channels = 1
    buffer_flits = 4
    [routing]
    deadlock_avoidance = "none"
    [traffic]
    injection_rate = 1.0
    packet_flits = 4
    [simulation]
    warmup_cycles = 1000
    measure_cycles = 2000
    watchdog_cycles = 300
"#;

/// Parses a channel name of the check's report: "router 8 (0,1) -y vc0" -> (8, port).
fn parse_channel(t: &Torus, s: &str) -> (usize, usize) {
    let w: Vec<&str> = s.split_whitespace().collect();
    assert_eq!(w[0], "router", "{s}");
    let node: usize = w[1].parse().expect("node id");
    let port = (0..t.network_ports())
        .find(|&p| Torus::port_direction(p).name() == w[3])
        .unwrap_or_else(|| panic!("direction in {s}"));
    (node, port)
}

/// The check must refuse the unsafe config, and the cycle it reports must be a real
/// closed walk of channels: each channel's link leads to the router owning the next.
#[test]
fn check_rejects_one_vc_torus_without_bubble() {
    let (_, p) = reference(UNSAFE_OVERRIDES);
    let cycle = match check_routing(&p, 1) {
        Err(RunError::UnsafeRouting(c)) => c,
        other => panic!("expected UnsafeRouting, got {other:?}"),
    };
    let t = Torus::new(&p.shape);
    assert!(cycle.len() >= 3, "{cycle:?}");
    assert_eq!(
        cycle.first(),
        cycle.last(),
        "the cycle is closed: {cycle:?}"
    );
    for w in cycle.windows(2) {
        let (a, pa) = parse_channel(&t, &w[0]);
        let (b, _) = parse_channel(&t, &w[1]);
        assert_eq!(t.neighbor(a, pa), b, "{} does not lead to {}", w[0], w[1]);
        assert!(w[0].ends_with("vc0"), "only VC 0 exists: {}", w[0]);
    }
    // And run_synthetic refuses to start it.
    let r = run_synthetic(&p, &RunOptions::default(), false, &mut |_| {});
    assert!(matches!(r, Err(RunError::UnsafeRouting(_))), "{r:?}");
}

/// Positive controls, so a check that refused everything would fail: 2 dateline VCs and
/// 1 VC with bubble flow control are deadlock-free (with 1 VC the bubble CDG contracts
/// each ring; between rings DOR only turns to higher dimensions, so no cycle).
#[test]
fn check_accepts_dateline_and_bubble() {
    let (_, p) = reference(&[]);
    check_routing(&p, 1).expect("dateline with 2 VCs");
    let (_, p) = reference(&[
        "router.virtual_channels=1",
        "routing.deadlock_avoidance=bubble",
    ]);
    check_routing(&p, 1).expect("bubble with 1 VC");
    // Two VCs are not enough by themselves: without a dateline both can fill.
    let (_, p) = reference(&["routing.deadlock_avoidance=none"]);
    assert!(check_routing(&p, 1).is_err(), "2 VCs without avoidance");
}

fn expect_deadlock(p: &Params, label: &str) {
    let r = run_synthetic(
        p,
        &RunOptions {
            check: true,
            partitions: 1,
            threads: 1,
            ..Default::default()
        },
        true,
        &mut |_| {},
    );
    match r {
        Err(RunError::Sim(SimError::Deadlock {
            cycle,
            in_flight,
            last_delivery,
            stuck,
        })) => {
            assert!(in_flight > 0, "{label}");
            assert!(cycle - last_delivery > p.watchdog_cycles, "{label}");
            assert!(!stuck.is_empty(), "{label}: no stuck channels listed");
            // A deadlock, not congestion: every blocked head waits on a full buffer.
            for s in &stuck {
                assert!(s.starts_with("router "), "{label}: {s}");
                assert!(s.contains("0 credits"), "{label}: {s}");
            }
        }
        other => panic!("{label}: expected a deadlock, got {other:?}"),
    }
}

/// Forced past the check, the 1-VC ring deadlocks and the watchdog reports it, for
/// virtual cut-through and for wormhole (2-flit buffers, 4-flit packets spanning two
/// routers), and on a 6x6 torus.
#[test]
fn watchdog_catches_forced_deadlock() {
    let (_, p) = config_with(RING, &[]);
    assert!(check_routing(&p, 1).is_err());
    expect_deadlock(&p, "ring, VCT");
    let (_, p) = config_with(
        RING,
        &["router.flow_control=wormhole", "router.buffer_flits=2"],
    );
    expect_deadlock(&p, "ring, wormhole");
    let (_, p) = config_with(RING, &["topology.shape=[6, 6]"]);
    expect_deadlock(&p, "6x6 torus, VCT");
}

/// Control for the watchdog: the same ring and load with 2 dateline VCs (or 1 VC with
/// bubble) is congested but live, and the watchdog must not fire.
#[test]
fn watchdog_quiet_on_congested_safe_ring() {
    let (_, p) = config_with(
        RING,
        &[
            "router.virtual_channels=2",
            "routing.deadlock_avoidance=dateline",
        ],
    );
    let o = run(&p, 1, true);
    assert!(o.stats.packets_delivered > 0);
    let (_, p) = config_with(
        RING,
        &["routing.deadlock_avoidance=bubble", "router.buffer_flits=8"],
    );
    let o = run(&p, 1, true);
    assert!(o.stats.packets_delivered > 0);
}

/// Bubble flow control with a single VC on the 8x8 torus at overload: the bubble rule
/// keeps a free packet slot in every ring, so the run must complete (no watchdog) with
/// every injected packet delivered exactly once (`check: true`).
#[test]
fn bubble_one_vc_survives_overload_8x8() {
    let (_, p) = reference(&[
        "router.virtual_channels=1",
        "routing.deadlock_avoidance=bubble",
        "traffic.injection_rate=1.0",
        "simulation.warmup_cycles=1000",
        "simulation.measure_cycles=2000",
        "simulation.max_drain_cycles=500",
        "simulation.watchdog_cycles=2000",
    ]);
    let o = run(&p, 1, true);
    assert_eq!(o.stats.packets_injected, o.stats.packets_delivered);
    assert!(o.stats.packets_delivered > 10_000);
}

/// The CLI: `check` and `run` refuse the unsafe config with exit code 1 and a message
/// about the cycle; `check` accepts the reference config.
#[test]
fn cli_check_and_run_refuse_unsafe_config() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = common::REFERENCE.to_string();
    text = text.replace("virtual_channels = 2", "virtual_channels = 1");
    text = text.replace(
        "deadlock_avoidance = \"dateline\"",
        "deadlock_avoidance = \"none\"",
    );
    let path = write_config(dir.path(), "unsafe.toml", &text);
    let path = path.to_str().unwrap();
    for args in [vec!["check", path], vec!["run", path]] {
        let o = torsim(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
        assert!(e.starts_with("torsim: "), "{args:?}: {e}");
        assert!(e.contains("cycle"), "{args:?}: {e}");
        assert!(e.contains("vc0"), "{args:?}: the cycle is listed: {e}");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }
    let good = write_config(dir.path(), "good.toml", common::REFERENCE);
    let o = torsim(&["check", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("deadlock-free"), "{}", stdout(&o));
}

/// The CLI with the hidden `--skip-deadlock-check`: the watchdog stops the run with exit
/// code 1 and a deadlock report listing stuck channels.
#[test]
fn cli_watchdog_reports_forced_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), "ring.toml", RING);
    let o = torsim(&["run", path.to_str().unwrap(), "--skip-deadlock-check"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.starts_with("torsim: deadlock"), "{e}");
    assert!(e.contains("stuck channels"), "{e}");
    assert!(e.contains("router 0 (0)"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

/// Large tori: the check grows with the channels, not with the node pairs, so 32x32x32
/// (32,768 nodes) and 16x16x16x16 (65,536 nodes) are checked in seconds (walking every
/// pair would take tens of minutes: the bound catches that, not a few percent), and
/// the answer is the same as on small tori: accepted with dateline VCs or bubble flow
/// control, refused without deadlock avoidance, with a cycle that is a real closed
/// walk of channels.
#[test]
fn large_tori_are_checked_quickly_and_still_refused_when_unsafe() {
    let budget = std::time::Duration::from_secs(60);
    for shape in ["[32, 32, 32]", "[16, 16, 16, 16]"] {
        let set = format!("topology.shape={shape}");
        for safe in [
            &[][..],
            &[
                "router.virtual_channels=1",
                "routing.deadlock_avoidance=bubble",
            ],
        ] {
            let mut o = vec![set.as_str()];
            o.extend_from_slice(safe);
            let (_, p) = reference(&o);
            let start = std::time::Instant::now();
            let rep = check_routing(&p, 1).unwrap_or_else(|e| panic!("{shape} {safe:?}: {e}"));
            assert!(start.elapsed() < budget, "{shape}: {:?}", start.elapsed());
            // Every router turns packets: the graph is not empty (under bubble flow
            // control its vertices are whole rings, fewer than the nodes).
            assert!(rep.dependencies >= p.nodes(), "{shape}: {rep:?}");
        }
        let mut o = vec![set.as_str()];
        o.extend_from_slice(UNSAFE_OVERRIDES);
        let (_, p) = reference(&o);
        let start = std::time::Instant::now();
        let cycle = match check_routing(&p, 1) {
            Err(RunError::UnsafeRouting(c)) => c,
            other => panic!("{shape}: expected UnsafeRouting, got {other:?}"),
        };
        assert!(start.elapsed() < budget, "{shape}: {:?}", start.elapsed());
        let t = Torus::new(&p.shape);
        assert!(
            cycle.len() >= 3 && cycle.first() == cycle.last(),
            "{cycle:?}"
        );
        for w in cycle.windows(2) {
            let (a, pa) = parse_channel(&t, &w[0]);
            let (b, _) = parse_channel(&t, &w[1]);
            assert_eq!(t.neighbor(a, pa), b, "{} does not lead to {}", w[0], w[1]);
        }
        // Two VCs without a dateline are not enough on large rings either.
        let (_, p) = reference(&[set.as_str(), "routing.deadlock_avoidance=none"]);
        assert!(
            matches!(check_routing(&p, 1), Err(RunError::UnsafeRouting(_))),
            "{shape}: 2 VCs without avoidance"
        );
    }
    // Adaptive routing without an escape channel is refused at any size.
    let (_, p) = reference(&[
        "topology.shape=[32, 32, 32]",
        "routing.algorithm=adaptive",
        "routing.escape=none",
    ]);
    match check_routing(&p, 1) {
        Err(RunError::Routing(e)) => assert!(e.contains("no escape channel"), "{e}"),
        other => panic!("expected a missing escape channel, got {other:?}"),
    }
}
