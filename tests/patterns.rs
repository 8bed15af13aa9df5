//! End-to-end runs of the tornado and random-permutation synthetic patterns.

mod common;

use common::{accepted, reference, run, stripped_json};
use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use torsim::config::{Config, Params, load_str};
use torsim::experiment::phases::Outcome;
use torsim::topology::Torus;
use torsim::traffic::pattern::DestinationPicker;

/// A short run of `pattern` on a k x k torus at a load far below saturation.
fn low_load(k: usize, pattern: &str, extra: &[&str]) -> (Config, Params) {
    let shape = format!("topology.shape=[{k}, {k}]");
    let pattern = format!("traffic.pattern={pattern}");
    let mut o = vec![
        shape.as_str(),
        pattern.as_str(),
        "traffic.injection_rate=0.05",
        "simulation.warmup_cycles=500",
        "simulation.measure_cycles=3000",
        "simulation.max_drain_cycles=3000",
    ];
    o.extend_from_slice(extra);
    reference(&o)
}

fn mean_hops(o: &Outcome) -> f64 {
    o.stats.measured_hops as f64 / o.stats.measured_packets_delivered as f64
}

/// Every tornado packet travels ceil(k/2) - 1 hops in each of the two dimensions, so the
/// mean hop count is exactly 2 (ceil(k/2) - 1): 6 on 8x8, 4 on 5x5. Every node sends
/// (no node maps to itself), so at low load the network carries the whole offered load.
#[test]
fn tornado_hop_count_is_the_analytic_distance() {
    for (k, hops) in [(8, 6.0), (5, 4.0)] {
        let (c, p) = low_load(k, "tornado", &[]);
        let o = run(&p, 1, true);
        assert!(!o.saturated, "k = {k}: saturated at low load");
        assert!(
            o.stats.measured_packets_delivered > 0,
            "k = {k}: no packets"
        );
        assert_eq!(mean_hops(&o), hops, "k = {k}: mean hop count");
        let a = accepted(&c, &p, &o);
        assert!(
            (a - p.injection_rate).abs() < 0.05 * p.injection_rate,
            "k = {k}: accepted {a} at offered {}",
            p.injection_rate
        );
    }
}

/// Channel-load bound: under tornado every `+` channel of a k = 8 ring carries the
/// packets of the 3 nodes at most 3 hops behind it, so no router can accept more than
/// 1/3 flit/node/cycle. Oldest-first arbitration reaches the bound (measured 0.333), so
/// a pattern that spread its load more thinly (a shorter offset) would exceed it.
#[test]
fn tornado_overload_stays_within_the_channel_load_bound() {
    let (c, p) = reference(&[
        "traffic.pattern=\"tornado\"",
        "router.arbiter=\"oldest-first\"",
        "traffic.injection_rate=1.0",
        "simulation.warmup_cycles=1000",
        "simulation.measure_cycles=3000",
        "simulation.max_drain_cycles=500",
    ]);
    let o = run(&p, 1, false);
    let a = accepted(&c, &p, &o);
    assert!(o.saturated, "offered 1.0 must saturate");
    assert!(a <= 1.0 / 3.0 + 0.005, "accepted {a} exceeds the bound 1/3");
}

/// Tornado on a torus of 2-node rings would map every node to itself: rejected.
#[test]
fn tornado_on_k2_rings_is_rejected() {
    let text = common::REFERENCE.replace("shape = [8, 8]", "shape = [2, 2]");
    let o = vec!["traffic.pattern=\"tornado\"".to_string()];
    let e = load_str(&text, None, &o).expect_err("tornado on 2x2 must be rejected");
    assert!(e.to_string().contains("traffic.pattern"), "{e}");
}

/// The run sends along the permutation drawn from the seed: the mean hop count matches
/// the mean minimal distance from each sending node to its image (nodes mapped to
/// themselves send nothing). All sending nodes offer the same load, so the sample mean
/// only differs from it by sampling noise (about 9600 packets here).
#[test]
fn random_permutation_follows_the_seeded_permutation() {
    let (_, p) = low_load(8, "random-permutation", &[]);
    let o = run(&p, 1, true);
    assert!(!o.saturated, "saturated at low load");
    assert!(
        o.stats.measured_packets_delivered > 0,
        "no packets delivered"
    );
    let t = Torus::new(&[8, 8]);
    let picker = DestinationPicker::for_params(&p);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let dists: Vec<usize> = (0..t.nodes())
        .filter_map(|s| picker.pick(&t, s, &mut rng).map(|d| t.distance(s, d)))
        .collect();
    assert!(dists.len() > t.nodes() / 2, "too many fixed points");
    let expected = dists.iter().sum::<usize>() as f64 / dists.len() as f64;
    let got = mean_hops(&o);
    assert!(
        (got - expected).abs() < 0.05 * expected,
        "mean hop count {got}, permutation's mean distance {expected}"
    );
}

/// The permutation is a function of the seed alone: 1 and 2 partitions give the same
/// result document (apart from the partition count), and another seed another result.
#[test]
fn random_permutation_is_deterministic_across_partitions() {
    let comparable = |c: &Config, p: &Params, o: &Outcome| {
        let mut v = stripped_json(c, p, o);
        if let Some(r) = v["run"].as_object_mut() {
            r.remove("partitions");
        }
        v
    };
    let (c, p) = low_load(8, "random-permutation", &[]);
    let one = run(&p, 1, true);
    let two = run(&p, 2, true);
    assert!(two.partitions > 1, "2 partitions were not made");
    assert!(one.stats.measured_packets_delivered > 0);
    assert_eq!(comparable(&c, &p, &one), comparable(&c, &p, &two));
    let (c2, p2) = low_load(8, "random-permutation", &["seed=2"]);
    let other = run(&p2, 1, true);
    assert_ne!(
        comparable(&c, &p, &one)["packets"],
        comparable(&c2, &p2, &other)["packets"]
    );
}
