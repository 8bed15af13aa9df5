//! Per-channel statistics (`--link-stats`): they account for every flit-hop, match the
//! analytic channel load of uniform traffic, are identical however the run is split,
//! and leave the result without them unchanged.

mod common;

use common::{reference, stripped_json};
use serde_json::Value;
use torsim::engine::comm::LocalComm;
use torsim::engine::sim::RunOptions;
use torsim::experiment::run::{run_program, run_synthetic};
use torsim::report::program_json;

fn opts(partitions: usize, threads: usize) -> RunOptions {
    RunOptions {
        check: true,
        partitions,
        threads,
        link_stats: true,
        ..Default::default()
    }
}

fn synthetic(overrides: &[&str], partitions: usize, threads: usize) -> Value {
    let (c, p) = reference(overrides);
    let o = run_synthetic(&p, &opts(partitions, threads), false, &mut |_| {})
        .unwrap_or_else(|e| panic!("run failed: {e}"));
    stripped_json(&c, &p, &o)
}

fn sum(doc: &Value, section: &str, key: &str) -> u64 {
    doc[section]
        .as_array()
        .expect("section present")
        .iter()
        .map(|x| x[key].as_u64().expect("integer"))
        .sum()
}

#[test]
fn link_flits_sum_to_flit_hops_and_window_counts_to_the_crossbar() {
    let doc = synthetic(
        &[
            "traffic.injection_rate=0.3",
            "simulation.warmup_cycles=300",
            "simulation.measure_cycles=1500",
        ],
        1,
        1,
    );
    let hops = doc["flit_hops"].as_u64().unwrap();
    assert!(hops > 10_000);
    assert_eq!(sum(&doc, "links", "flits"), hops);
    assert_eq!(doc["links"].as_array().unwrap().len(), 64 * 4);
    // Inside the window every flit through a crossbar goes to a link or an ejector,
    // and the adapters take the ejected ones a few cycles later: at the window's edges
    // a few flits count on one side only.
    let window = sum(&doc, "links", "window_flits");
    assert!(window > 0 && window < hops);
    let xbar = sum(&doc, "routers", "crossbar_flits") as i64;
    let edge = (window + sum(&doc, "nodes", "ejected_flits")) as i64 - xbar;
    assert!(
        edge.abs() < 100,
        "crossbar {xbar} against links and ejection: {edge}"
    );
}

#[test]
fn program_runs_count_every_flit_hop() {
    let text = "[topology]\nshape = [4, 4]\n[router]\nvirtual_channels = 4\n";
    let (c, q) = torsim::config::load_str(text, None, &[]).unwrap();
    let prog_text =
        "[[pe]]\npes = \"all\"\nops = [\"put ($me * 5 + 3) % $npes 2000\", \"barrier\"]\n";
    let prog =
        torsim::traffic::program::Program::parse(prog_text, q.nodes(), q.clock_hz, &[]).unwrap();
    let o = run_program(
        &q,
        &prog,
        &opts(1, 1),
        Box::new(LocalComm),
        false,
        &mut |_| {},
    )
    .unwrap();
    let doc = program_json(&c, &q, &o, &prog, std::path::Path::new("p.toml"), 1);
    let hops = doc["flit_hops"].as_u64().unwrap();
    assert!(hops > 0);
    assert_eq!(sum(&doc, "links", "flits"), hops);
    assert_eq!(
        sum(&doc, "links", "window_flits"),
        hops,
        "a program run counts all of it"
    );
    assert_eq!(sum(&doc, "nodes", "injected_flits"), o.stats.flits_injected);
    assert_eq!(sum(&doc, "nodes", "ejected_flits"), o.stats.flits_delivered);
    assert_eq!(
        sum(&doc, "routers", "crossbar_flits"),
        hops + o.stats.flits_delivered
    );
}

/// Uniform traffic on a torus loads every link direction alike: rate x average
/// distance / (2n) flits per cycle, and the measured utilisation must match it.
#[test]
fn uniform_traffic_loads_links_evenly_at_the_analytic_channel_load() {
    let rate = 0.4;
    let doc = synthetic(
        &[
            "topology.shape=[4, 4]",
            &format!("traffic.injection_rate={rate}"),
            "simulation.warmup_cycles=1000",
            "simulation.measure_cycles=30000",
        ],
        1,
        1,
    );
    let avg_distance = doc["topology"]["average_distance"].as_f64().unwrap();
    let analytic = rate * avg_distance / 4.0;
    let u: Vec<f64> = doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["utilisation"].as_f64().unwrap())
        .collect();
    let mean = u.iter().sum::<f64>() / u.len() as f64;
    let (lo, hi) = u
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(
        (mean / analytic - 1.0).abs() < 0.02,
        "mean utilisation {mean} against the analytic channel load {analytic}"
    );
    assert!(
        hi / mean - 1.0 < 0.04 && 1.0 - lo / mean < 0.04,
        "unbalanced: {lo}..{hi} around {mean}"
    );
    // Below saturation no input VC waits long and nothing stalls for long on credits.
    let r = &doc["routers"][0];
    assert!(r["crossbar_utilisation"].as_f64().unwrap() > 0.0);
}

#[test]
fn channel_statistics_do_not_depend_on_the_split() {
    let o = [
        "topology.shape=[6, 6]",
        "router.flow_control=wormhole",
        "traffic.packet_flits=4",
        "traffic.injection_rate=0.4",
        "simulation.warmup_cycles=200",
        "simulation.measure_cycles=1000",
    ];
    let serial = synthetic(&o, 1, 1);
    for (parts, threads) in [(2, 1), (3, 3), (6, 2)] {
        let split = synthetic(&o, parts, threads);
        for k in ["link_stats", "links", "routers", "nodes"] {
            let first = serial[k].as_array().and_then(|a| {
                let b = split[k].as_array()?;
                a.iter()
                    .zip(b)
                    .find(|(x, y)| x != y)
                    .map(|(x, y)| format!("{x} vs {y}"))
            });
            assert!(
                serial[k] == split[k],
                "{k} differ with {parts} partitions: {first:?}"
            );
        }
    }
    // Near saturation, with wormhole switching, the counters that say where packets wait
    // are not all zero.
    assert!(sum(&serial, "links", "credit_stall_cycles") > 0);
    let blocked: u64 = serial["routers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["input_vcs"].as_array().unwrap().iter())
        .map(|v| v["blocked_cycles"].as_u64().unwrap())
        .sum();
    assert!(blocked > 0);
}

#[test]
fn bubble_flow_control_refusals_are_counted_at_ring_entries() {
    let doc = synthetic(
        &[
            "router.virtual_channels=1",
            "routing.deadlock_avoidance=bubble",
            "router.buffer_flits=4",
            "traffic.packet_flits=2",
            "traffic.injection_rate=0.5",
            "simulation.warmup_cycles=200",
            "simulation.measure_cycles=1500",
        ],
        1,
        1,
    );
    assert!(sum(&doc, "links", "bubble_refusals") > 0);
    let without = synthetic(
        &[
            "traffic.injection_rate=0.5",
            "simulation.warmup_cycles=200",
            "simulation.measure_cycles=1500",
        ],
        1,
        1,
    );
    assert_eq!(
        sum(&without, "links", "bubble_refusals"),
        0,
        "dateline has no bubbles"
    );
}

#[test]
fn results_without_the_flag_have_no_channel_sections_and_the_same_figures() {
    let o = [
        "traffic.injection_rate=0.3",
        "simulation.warmup_cycles=200",
        "simulation.measure_cycles=1000",
    ];
    let (c, p) = reference(&o);
    let plain = run_synthetic(&p, &RunOptions::default(), false, &mut |_| {}).unwrap();
    let plain = stripped_json(&c, &p, &plain);
    let mut with = synthetic(&o, 1, 1);
    for k in ["link_stats", "links", "routers", "nodes"] {
        assert!(plain.get(k).is_none());
        with.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(plain, with);
}

/// The heatmap has one cell per link direction (plus the background and the colour
/// bar), for a 2D torus and for the small multiples of a 3D one.
#[test]
fn heatmap_has_one_cell_per_link() {
    use torsim::report::heatmap::{LEGEND_STEPS, LinkMap, draw};
    let dir = std::env::temp_dir().join(format!("torsim-heatmap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (shape, links) in [("[4, 4]", 4 * 4 * 4), ("[3, 4, 2]", 24 * 6)] {
        let doc = synthetic(
            &[
                &format!("topology.shape={shape}"),
                "traffic.injection_rate=0.2",
                "simulation.warmup_cycles=100",
                "simulation.measure_cycles=500",
            ],
            1,
            1,
        );
        let map = LinkMap::from_result(&doc, "test").unwrap();
        let path = dir.join("links.svg");
        assert_eq!(draw(&path, &map).unwrap(), links);
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            svg.matches("<rect").count(),
            links + LEGEND_STEPS + 1,
            "{shape}"
        );
        let hottest = map.hottest(1);
        let busiest = doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["utilisation"].as_f64().unwrap())
            .fold(0.0, f64::max);
        assert_eq!(hottest[0].1, busiest);
        assert!(svg.contains(&hottest[0].0), "the hottest link is listed");
    }
    // A result without per-channel statistics is refused with a hint.
    let (c, p) = reference(&[
        "simulation.warmup_cycles=10",
        "simulation.measure_cycles=100",
    ]);
    let o = run_synthetic(&p, &RunOptions::default(), false, &mut |_| {}).unwrap();
    let err = LinkMap::from_result(&stripped_json(&c, &p, &o), "t").unwrap_err();
    assert!(err.contains("--link-stats"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
