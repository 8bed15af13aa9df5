//! Conservation: with `check: true` the engine records every delivered packet id and
//! verifies exactly-once delivery (no loss, no duplicate, nothing invented) after
//! stopping traffic and flushing the network. Each case runs one feature of the model at
//! a load that makes it work (contention, full buffers), and must finish with
//! packets_injected == packets_delivered.

mod common;

use common::{reference, run};

/// Runs the reference config with `extra` overrides and checks conservation.
fn conserves(extra: &[&str]) {
    let mut o = vec![
        "simulation.warmup_cycles=300",
        "simulation.measure_cycles=2000",
        "simulation.max_drain_cycles=2000",
        "simulation.watchdog_cycles=5000",
    ];
    o.extend_from_slice(extra);
    let (_, p) = reference(&o);
    let r = run(&p, 1, true);
    let s = &r.stats;
    assert_eq!(s.packets_injected, s.packets_delivered, "{extra:?}");
    assert_eq!(s.flits_injected, s.flits_delivered, "{extra:?}");
    assert_eq!(
        s.flits_delivered,
        s.packets_delivered * p.packet_flits as u64,
        "{extra:?}: whole packets"
    );
    assert_eq!(
        s.delivered_ids.len() as u64,
        s.packets_delivered,
        "{extra:?}"
    );
    // Not vacuous: real traffic flowed (the smallest case, a 2x2x2 torus, still moves
    // thousands of packets in the window).
    assert!(
        s.packets_delivered > 500,
        "{extra:?}: {}",
        s.packets_delivered
    );
    if !r.saturated {
        assert_eq!(
            s.measured_packets_created, s.measured_packets_delivered,
            "{extra:?}"
        );
    }
}

macro_rules! cases {
    ($($name:ident: [$($o:expr),* $(,)?];)*) => {
        $(#[test] fn $name() { conserves(&[$($o),*]); })*
    };
}

cases! {
    uniform_near_saturation: ["traffic.injection_rate=0.28"];
    uniform_overload: ["traffic.injection_rate=1.0"];
    nearest_neighbor: ["traffic.pattern=nearest-neighbor", "traffic.injection_rate=0.8"];
    bit_complement: ["traffic.pattern=bit-complement", "traffic.injection_rate=0.3"];
    transpose: ["traffic.pattern=transpose", "traffic.injection_rate=0.3"];
    hotspot: [
        "traffic.pattern=hotspot",
        "traffic.hotspot_nodes=[0, 27]",
        "traffic.hotspot_fraction=0.3",
        "traffic.injection_rate=0.2",
    ];
    multi_flit_vct: ["traffic.packet_flits=5", "router.buffer_flits=10", "traffic.injection_rate=0.4"];
    // Regression: dateline used to apply the bubble reservation (2 packets of credit to
    // enter a ring), so with room for exactly one packet nothing could ever move.
    vct_buffer_holds_exactly_one_packet: [
        "traffic.packet_flits=4",
        "router.buffer_flits=4",
        "traffic.injection_rate=0.3",
    ];
    wormhole_packets_span_routers: [
        "router.flow_control=wormhole",
        "traffic.packet_flits=6",
        "router.buffer_flits=3",
        "traffic.injection_rate=0.4",
    ];
    input_arbiter_input_first: [
        "router.input_arbiter=true",
        "router.allocator=input-first",
        "traffic.injection_rate=0.5",
    ];
    input_arbiter_output_first: [
        "router.input_arbiter=true",
        "router.allocator=output-first",
        "traffic.packet_flits=2",
        "traffic.injection_rate=0.5",
    ];
    oldest_first: ["router.arbiter=oldest-first", "traffic.injection_rate=0.6"];
    fixed_priority: ["router.arbiter=fixed-priority", "traffic.injection_rate=0.6"];
    direction_order_default: ["routing.algorithm=direction-order", "traffic.injection_rate=0.3"];
    direction_order_listed: [
        "routing.algorithm=direction-order",
        "routing.direction_order=[\"-y\", \"+x\", \"-x\", \"+y\"]",
        "traffic.injection_rate=0.3",
    ];
    torus_3d: ["topology.shape=[4, 4, 4]", "traffic.injection_rate=0.4"];
    torus_4d: ["topology.shape=[4, 4, 2, 2]", "traffic.injection_rate=0.4", "traffic.packet_flits=3"];
    k2_rings: ["topology.shape=[2, 2, 2]", "traffic.injection_rate=0.6"];
    two_injectors_two_ejectors: [
        "router.injectors=2",
        "router.ejectors=2",
        "traffic.injection_rate=1.5",
        "traffic.packet_flits=2",
    ];
    half_rate_links: ["network.link_bandwidth=\"0.5 flit/cycle\"", "traffic.injection_rate=0.3"];
    half_rate_links_physical_units: [
        // 64 Gbit/s at 1 GHz with 16-byte (128-bit) flits is half a flit per cycle.
        "network.link_bandwidth=\"64 Gbit/s\"",
        "traffic.packet_flits=3",
        "traffic.injection_rate=0.3",
    ];
    bubble_one_vc_multi_flit: [
        "router.virtual_channels=1",
        "routing.deadlock_avoidance=bubble",
        "traffic.packet_flits=3",
        "router.buffer_flits=6",
        "traffic.injection_rate=1.0",
    ];
    four_dateline_vcs_slow_credits: [
        "router.virtual_channels=4",
        "network.credit_latency=4",
        "network.link_latency=2",
        "traffic.injection_rate=0.5",
    ];
}
