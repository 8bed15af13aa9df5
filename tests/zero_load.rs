//! Zero-load latency against the analytic formula.
//!
//! With no contention, a packet's network latency (head leaves the source queue to tail
//! delivered) is, in cycles,
//!
//! ```text
//! T0(H) = injection_latency
//!       + (H + 1) * (header_analysis + route_computation + alloc + switch_traversal)
//!       + H * link_latency
//!       + ejection_latency
//!       + (flits - 1)
//! alloc = max(vc_allocation, switch_allocation)  with pre_arbitration
//!       = vc_allocation + switch_allocation       without
//! ```
//!
//! for a packet crossing H router-to-router links (it passes H + 1 routers). The tests
//! below restate this formula independently of `Params::zero_load_latency` and check both
//! the library's formula and the simulator against it.

mod common;

use common::{config_with, reference, run};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use torsim::config::Params;
use torsim::core::flit::Flit;
use torsim::engine::sim::{Engine, RunOptions};
use torsim::engine::{Endpoint, EndpointCtx, record_delivery};
use torsim::experiment::phases::run_phases;
use torsim::node::nic::{Nic, PacketDesc};
use torsim::topology::Torus;

/// The formula above, written out from the parameters (not via the library).
fn t0(p: &Params, hops: u64, flits: u64) -> u64 {
    let alloc = if p.pre_arbitration {
        p.vc_allocation.max(p.switch_allocation)
    } else {
        p.vc_allocation + p.switch_allocation
    };
    let router = p.header_analysis + p.route_computation + alloc + p.switch_traversal;
    p.injection_latency
        + (hops + 1) * router
        + hops * p.link_latency
        + p.ejection_latency
        + (flits - 1)
}

/// What one delivered packet looked like.
#[derive(Clone, Copy, Debug)]
struct Delivery {
    src: u32,
    dest: u32,
    hops: u16,
    created: u64,
    injected: u64,
    arrived: u64,
}

/// A test endpoint that sends a fixed script of (cycle, destination) packets and logs
/// every packet it receives. Built only on the public `Endpoint` API, so the simulator
/// needs no test hooks.
struct Scripted {
    nic: Nic,
    script: VecDeque<(u64, u32)>,
    flits: u16,
    log: Arc<Mutex<Vec<Delivery>>>,
}

impl Endpoint for Scripted {
    fn accept_flit(&mut self, at: u64, port: usize, vc: usize, flit: Flit) {
        self.nic.accept_flit(at, port, vc, flit)
    }
    fn accept_credit(&mut self, at: u64, port: usize, vc: usize) -> bool {
        self.nic.accept_credit(at, port, vc)
    }
    fn injected(&self) -> u64 {
        self.nic.injected()
    }
    fn first_wake(&self) -> Option<u64> {
        self.script.front().map(|s| s.0)
    }
    fn step(&mut self, t: u64, cx: &mut EndpointCtx) -> Option<u64> {
        while let Some(&(at, dest)) = self.script.front() {
            if at > t {
                break;
            }
            self.script.pop_front();
            cx.stats.measured_packets_created += 1;
            cx.stats.measured_flits_created += self.flits as u64;
            self.nic.enqueue(PacketDesc {
                dest,
                len: self.flits,
                class: 0,
                created: at,
                measured: true,
                ..Default::default()
            });
        }
        let (heads, flits) = self.nic.step(t, cx.nic, cx.out, cx.delivered);
        cx.stats.packets_injected += heads;
        cx.stats.flits_injected += flits;
        for (at, f) in cx.delivered.drain(..) {
            self.log.lock().unwrap().push(Delivery {
                src: f.src(),
                dest: f.dest,
                hops: f.hops,
                created: f.created,
                injected: f.injected,
                arrived: at,
            });
            record_delivery(cx.stats, at, &f, cx.window, cx.record_ids);
        }
        if self.nic.busy() {
            Some(t + 1)
        } else {
            self.script.front().map(|s| s.0)
        }
    }
    fn stop(&mut self, _t: u64) -> u64 {
        self.script.clear();
        self.nic.abandon_queue()
    }
}

/// Sends one packet between every ordered pair of distinct nodes, one at a time, `gap`
/// cycles apart (more than any packet's latency, so no two packets ever meet), and
/// checks each packet's latency against `t0` exactly.
fn check_every_pair(mut p: Params, label: &str) {
    let torus = Torus::new(&p.shape);
    let n = torus.nodes();
    let flits = p.packet_flits as u64;
    let gap = t0(&p, torus.diameter() as u64, flits) + 16;
    let mut scripts = vec![VecDeque::new(); n];
    let mut expected = 0;
    for (src, script) in scripts.iter_mut().enumerate() {
        for dest in (0..n).filter(|&d| d != src) {
            script.push_back((expected as u64 * gap, dest as u32));
            expected += 1;
        }
    }
    // Every scripted packet is created inside the measurement window.
    p.warmup_cycles = 0;
    p.measure_cycles = expected as u64 * gap + 1;
    let log = Arc::new(Mutex::new(Vec::new()));
    let opts = RunOptions {
        check: true,
        partitions: 1,
        threads: 1,
        ..Default::default()
    };
    let mut engine = Engine::new(&p, 1, &opts, |node, _torus, nic| Scripted {
        nic: Nic::new(node, nic),
        script: std::mem::take(&mut scripts[node]),
        flits: p.packet_flits as u16,
        log: log.clone(),
    });
    let outcome =
        run_phases(&mut engine, &p, true, &mut |_| {}).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert!(!outcome.saturated, "{label}");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), expected, "{label}: every packet delivered once");
    for d in log.iter() {
        let h = torus.distance(d.src as usize, d.dest as usize) as u64;
        let want = t0(&p, h, flits);
        assert_eq!(
            d.hops as u64, h,
            "{label}: {} -> {} took a non-minimal path",
            d.src, d.dest
        );
        assert_eq!(
            d.arrived - d.injected,
            want,
            "{label}: network latency {} -> {} ({h} hops)",
            d.src,
            d.dest
        );
        // Nothing queues at zero load: the head leaves in the cycle the packet is made.
        assert_eq!(
            d.injected, d.created,
            "{label}: source queueing at zero load"
        );
        // The library's own statement of the formula agrees.
        assert_eq!(p.zero_load_latency(h, flits), want, "{label}");
    }
}

/// The reference config: 1-flit packets, 1-cycle stages with pre-arbitration, 1-cycle
/// links: T0(H) = 1 + 3(H + 1) + H + 1 + 0 = 4H + 5. Checked for all 4032 pairs, which
/// include every hop count 1..=8 and paths across the dateline (wrap) links.
#[test]
fn zero_load_latency_reference_8x8_every_pair() {
    let (_, p) = reference(&[]);
    assert_eq!(t0(&p, 1, 1), 9);
    assert_eq!(t0(&p, 8, 1), 37);
    check_every_pair(p, "reference 8x8");
}

/// Different stage delays: 2-cycle route computation, no pre-arbitration (allocation
/// takes va + sa = 2), 3-cycle links, 4-flit packets:
/// T0(H) = 1 + 5(H + 1) + 3H + 1 + 3 = 8H + 10.
#[test]
fn zero_load_latency_slow_pipeline_every_pair() {
    let (_, p) = reference(&[
        "router.pipeline.route_computation=2",
        "router.pipeline.pre_arbitration=false",
        "network.link_latency=3",
        "traffic.packet_flits=4",
    ]);
    assert_eq!(t0(&p, 1, 4), 18);
    check_every_pair(p, "r=2, no pre-arbitration, L=3, 4 flits");
}

/// Every stage different, pre-arbitration with switch allocation slower than VC
/// allocation (alloc = max(2, 3) = 3), wormhole, a credit latency shorter than the link,
/// on an odd-sized 3-D torus with a k = 2 ring: T0(H) = 2 + 7(H + 1) + 2H + 3 + 2.
#[test]
fn zero_load_latency_mixed_stages_3d_every_pair() {
    let text = r#"
        [topology]
        shape = [5, 3, 2]
        [network]
        link_latency = 2
        credit_latency = 1
        injection_latency = 2
        ejection_latency = 3
        [router]
        flow_control = "wormhole"
        buffer_flits = 4
        [router.pipeline]
        header_analysis = 1
        route_computation = 1
        vc_allocation = 2
        switch_allocation = 3
        pre_arbitration = true
        switch_traversal = 2
        [traffic]
        packet_flits = 3
    "#;
    let (_, p) = config_with(text, &[]);
    assert_eq!(t0(&p, 1, 3), 2 + 14 + 2 + 3 + 2);
    check_every_pair(p, "mixed stages, 3-D");
}

/// VC allocation slower than switch allocation and no pre-arbitration (alloc = 3 + 1),
/// given as physical durations at 500 MHz (4 ns = 2 cycles), on a 1-D ring of 7.
#[test]
fn zero_load_latency_durations_ring_every_pair() {
    let text = r#"
        [topology]
        shape = [7]
        [network]
        clock = "500 MHz"
        link_latency = "4 ns"
        [router.pipeline]
        vc_allocation = 3
        switch_allocation = 1
        pre_arbitration = false
        [traffic]
        packet_flits = 2
    "#;
    let (_, p) = config_with(text, &[]);
    assert_eq!(p.link_latency, 2);
    assert_eq!(t0(&p, 1, 2), 1 + 2 * 6 + 2 + 1 + 1);
    check_every_pair(p, "ring of 7, durations");
}

/// The same property through ordinary synthetic traffic, as a user would measure it:
/// at 0.0005 flits/node/cycle packets almost never meet. The fastest packet is a 1-hop
/// one and meets nobody, so the minimum network latency is exactly T0(1). Since T0 is
/// linear in H, the mean over contention-free packets is exactly T0 at the mean hop
/// count; the rare packets that do meet only add cycles, so the mean may exceed that by
/// a tiny amount and never fall below it.
fn low_load_synthetic(overrides: &[&str], label: &str) {
    let mut o = vec![
        "traffic.injection_rate=0.0005",
        "simulation.warmup_cycles=1000",
        "simulation.measure_cycles=200000",
    ];
    o.extend_from_slice(overrides);
    let (_, p) = reference(&o);
    let out = run(&p, 1, true);
    let s = &out.stats;
    let flits = p.packet_flits as u64;
    let n = s.network_latency.count();
    assert!(n > 1000, "{label}: {n} samples");
    assert_eq!(
        s.network_latency.min(),
        t0(&p, 1, flits),
        "{label}: minimum"
    );
    let mean_hops = s.measured_hops as f64 / n as f64;
    let (a, b) = (
        t0(&p, 0, flits) as f64,
        (t0(&p, 1, 1) - t0(&p, 0, 1)) as f64,
    );
    let analytic = a + b * mean_hops;
    let mean = s.network_latency.mean();
    assert!(
        mean >= analytic - 1e-9 && mean - analytic < 0.02,
        "{label}: mean network latency {mean} vs analytic {analytic} at {mean_hops} hops"
    );
    // Queueing at the source is as rare: total latency is within the same tolerance.
    assert!(s.latency.mean() - analytic < 0.02, "{label}: mean latency");
}

#[test]
fn zero_load_latency_low_rate_synthetic_reference() {
    low_load_synthetic(&[], "reference");
}

#[test]
fn zero_load_latency_low_rate_synthetic_slow_pipeline() {
    low_load_synthetic(
        &[
            "router.pipeline.route_computation=2",
            "router.pipeline.pre_arbitration=false",
            "network.link_latency=3",
            "traffic.packet_flits=4",
        ],
        "r=2, no pre-arbitration, L=3, 4 flits",
    );
}
