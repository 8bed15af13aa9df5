//! Cross-check with BookSim2: `configs/booksim-iq-torus-8x8.toml` against BookSim2's
//! measured curves for an 8x8 torus with 1-flit packets and 1-cycle links (the README's
//! "Cross-check with BookSim2" has the full tables and the other three cases).

mod common;

use common::{accepted, config_with, run};

const BOOKSIM: &str = include_str!("../configs/booksim-iq-torus-8x8.toml");

/// BookSim2, 1-flit packets, link latency 1: mean packet latency at offered 0.02.
const ZERO_LOAD_LATENCY: f64 = 27.11;
/// Accepted flits/node/cycle at the last stable point (offered 0.26).
const SATURATION_ACCEPTED: f64 = 0.2596;
/// Accepted flits/node/cycle at offered 1.0 (overload, throughput mode).
const OVERLOAD_ACCEPTED: f64 = 0.2142;

fn within(what: &str, got: f64, want: f64, tol: f64) {
    let err = (got / want - 1.0).abs();
    assert!(
        err <= tol,
        "{what}: torsim {got:.4}, BookSim2 {want:.4} ({:+.1} %, tolerance {:.0} %)",
        (got / want - 1.0) * 100.0,
        tol * 100.0
    );
}

#[test]
fn zero_load_latency_within_2_percent() {
    let (_, p) = config_with(BOOKSIM, &["traffic.injection_rate=0.02"]);
    let o = run(&p, 1, true);
    assert!(!o.saturated);
    within(
        "zero-load latency",
        o.stats.latency.mean(),
        ZERO_LOAD_LATENCY,
        0.02,
    );
}

#[test]
fn saturation_throughput_within_5_percent() {
    let (c, p) = config_with(BOOKSIM, &["traffic.injection_rate=0.26"]);
    let o = run(&p, 1, false);
    within(
        "accepted at 0.26",
        accepted(&c, &p, &o),
        SATURATION_ACCEPTED,
        0.05,
    );
}

#[test]
fn overload_throughput_within_5_percent() {
    // Accepted throughput is counted over the measurement window; the drain is cut short.
    let (c, p) = config_with(
        BOOKSIM,
        &[
            "traffic.injection_rate=1.0",
            "simulation.max_drain_cycles=500",
        ],
    );
    let o = run(&p, 1, false);
    within(
        "accepted at 1.0",
        accepted(&c, &p, &o),
        OVERLOAD_ACCEPTED,
        0.05,
    );
}

/// Without overlapped route computation a VC serves at most one 1-flit packet every
/// r + va + sa = 3 cycles instead of every 2: in overload the network accepts clearly
/// less (BookSim2's 0.214 against about 0.29 flits/node/cycle with overlap).
#[test]
fn overlap_route_computation_off_lowers_overload_throughput() {
    let at = |overlap: &str| {
        let (c, p) = config_with(
            BOOKSIM,
            &[
                "traffic.injection_rate=1.0",
                "simulation.max_drain_cycles=500",
                "simulation.warmup_cycles=2000",
                "simulation.measure_cycles=4000",
                overlap,
            ],
        );
        let o = run(&p, 1, false);
        accepted(&c, &p, &o)
    };
    let off = at("router.overlap_route_computation=false");
    let on = at("router.overlap_route_computation=true");
    assert!(
        off < 0.9 * on,
        "without overlap {off:.4}, with overlap {on:.4}"
    );
}

/// `traffic.injection_delay` adds its cycles to every packet's latency at low load.
#[test]
fn injection_delay_adds_to_latency() {
    let mean = |delay: &str| {
        let (_, p) = config_with(BOOKSIM, &["traffic.injection_rate=0.01", delay]);
        run(&p, 1, false).stats.latency.mean()
    };
    let d = mean("traffic.injection_delay=4") - mean("traffic.injection_delay=0");
    assert!((d - 4.0).abs() < 0.2, "latency grew by {d:.3} cycles");
}

/// `traffic.include_self`: uniform destinations include the source, about 1 in 64.
#[test]
fn include_self_picks_the_source() {
    use rand_core::SeedableRng;
    use torsim::topology::Torus;
    use torsim::traffic::pattern::DestinationPicker;
    let (_, p) = config_with(BOOKSIM, &[]);
    let t = Torus::new(&p.shape);
    let picker = DestinationPicker::for_params(&p);
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(9);
    let n = 64_000;
    let own = (0..n)
        .filter(|_| picker.pick(&t, 5, &mut rng) == Some(5))
        .count();
    assert!((800..1200).contains(&own), "{own} of {n} to the source");
    let (_, p) = config_with(BOOKSIM, &["traffic.include_self=false"]);
    let picker = DestinationPicker::for_params(&p);
    assert!((0..n).all(|_| picker.pick(&t, 5, &mut rng) != Some(5)));
}
