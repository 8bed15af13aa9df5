//! Determinism: a run is a pure function of its config (seed included), independent of
//! how the network is partitioned for parallel simulation.

mod common;

use common::{
    json_diff as diff, reference, run, stderr, stdout, stripped_json, torsim, write_config,
};
use serde_json::Value;
use torsim::experiment::phases::Outcome;

fn short(extra: &[&str]) -> Vec<String> {
    let mut o: Vec<String> = [
        "simulation.warmup_cycles=500",
        "simulation.measure_cycles=3000",
        "simulation.max_drain_cycles=3000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    o.extend(extra.iter().map(|s| s.to_string()));
    o
}

fn refs(o: &[String]) -> Vec<&str> {
    o.iter().map(String::as_str).collect()
}

/// Same config, same seed: the stripped result documents are byte-identical (the
/// simulator keeps no hidden state between runs and iterates nothing in hash order).
#[test]
fn same_seed_gives_identical_json() {
    let o = short(&["traffic.injection_rate=0.25", "traffic.packet_flits=2"]);
    let (c, p) = reference(&refs(&o));
    let a = serde_json::to_string_pretty(&stripped_json(&c, &p, &run(&p, 1, true))).unwrap();
    let b = serde_json::to_string_pretty(&stripped_json(&c, &p, &run(&p, 1, true))).unwrap();
    assert!(a == b, "two runs of the same config differ");
    assert!(
        a.contains("\"samples\""),
        "the document has latency samples"
    );
}

/// A different seed draws different arrivals and destinations: the latency samples
/// and the created-packet count must not all coincide.
#[test]
fn another_seed_gives_different_samples() {
    let o = short(&["traffic.injection_rate=0.25"]);
    let (c1, p1) = reference(&refs(&o));
    let mut o2 = o.clone();
    o2.push("seed=2".into());
    let (c2, p2) = reference(&refs(&o2));
    let (r1, r2) = (run(&p1, 1, false), run(&p2, 1, false));
    assert_ne!(r1.stats.latency, r2.stats.latency, "same latency histogram");
    assert_ne!(
        stripped_json(&c1, &p1, &r1)["packets"],
        stripped_json(&c2, &p2, &r2)["packets"]
    );
}

/// Everything a run measured, as far as the partitioning must not change it: the result
/// document minus `run.partitions`, plus the exactly-once id list (sorted; its order is
/// that of the partitions).
fn comparable(c: &torsim::config::Config, p: &torsim::config::Params, o: &Outcome) -> Value {
    let mut v = stripped_json(c, p, o);
    v["run"].as_object_mut().unwrap().remove("partitions");
    let mut ids = o.stats.delivered_ids.clone();
    ids.sort_unstable();
    v["delivered_ids_hash"] = Value::from(
        ids.iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, &id| {
                (h ^ id).wrapping_mul(0x100_0000_01b3)
            })
            .to_string(),
    );
    v
}

/// The parallel-correctness property: the engine splits the torus into slabs of its
/// longest dimension (blocks beyond its length), each advanced alone through lookahead windows with cross-slab
/// messages delivered at window ends. Since every message takes at least the lookahead
/// to arrive, the result must be identical -- every counter, every latency sample --
/// for 1, 2, 3 (uneven slabs) and more partitions.
fn partition_invariant(label: &str, extra: &[&str], parts: &[usize]) {
    let o = short(extra);
    let (c, p) = reference(&refs(&o));
    let base_run = run(&p, 1, true);
    assert_eq!(base_run.partitions, 1);
    let base = comparable(&c, &p, &base_run);
    assert!(
        base_run.stats.packets_delivered > 1000,
        "{label}: too little traffic"
    );
    for &n in parts {
        let r = run(&p, n, true);
        assert!(r.partitions > 1, "{label}: {n} partitions were not made");
        let v = comparable(&c, &p, &r);
        let mut d = Vec::new();
        diff(&base, &v, "", &mut d);
        assert!(
            d.is_empty(),
            "{label}: {n} partitions differ from 1 in:\n  {}",
            d.join("\n  ")
        );
    }
}

#[test]
fn partitions_reference_near_saturation() {
    partition_invariant(
        "reference 0.25",
        &["traffic.injection_rate=0.25"],
        &[2, 3, 8],
    );
}

#[test]
fn partitions_overload_wormhole_slow_links() {
    // Overload keeps every cut link busy; credit latency 1 < link latency 3 makes the
    // lookahead (window) a single cycle; half-rate links exercise the token buckets.
    partition_invariant(
        "overload wormhole",
        &[
            "traffic.injection_rate=1.0",
            "simulation.max_drain_cycles=300",
            "traffic.packet_flits=4",
            "router.flow_control=wormhole",
            "router.buffer_flits=4",
            "network.link_latency=3",
            "network.credit_latency=1",
            "network.link_bandwidth=\"0.5 flit/cycle\"",
        ],
        &[2, 3],
    );
}

#[test]
fn partitions_3d_longest_dimension_not_first() {
    // Longest dimension is y (k = 6): slabs along y, including 4 uneven ones.
    partition_invariant(
        "3-D [4, 6, 4]",
        &[
            "topology.shape=[4, 6, 4]",
            "traffic.injection_rate=0.3",
            "traffic.packet_flits=3",
        ],
        &[2, 3, 4, 6],
    );
}

#[test]
fn partitions_blocks_beyond_the_longest_ring() {
    // More partitions than the longest ring has nodes: the slabs of y are cut along x
    // (12 = 6x2, 24 = 6x4 blocks), then along z, down to a node per partition (96).
    partition_invariant(
        "3-D [4, 6, 4] in blocks",
        &[
            "topology.shape=[4, 6, 4]",
            "traffic.injection_rate=0.3",
            "traffic.packet_flits=3",
        ],
        &[12, 24, 96],
    );
    // k = 2 everywhere: a node per partition, both directions to one neighbour.
    partition_invariant(
        "[2, 2, 2] a node each",
        &["topology.shape=[2, 2, 2]", "traffic.injection_rate=0.5"],
        &[8],
    );
}

#[test]
fn partitions_bubble_multi_port_oldest_first() {
    partition_invariant(
        "bubble, 2 injectors/ejectors, input arbiter, oldest-first",
        &[
            "router.virtual_channels=1",
            "routing.deadlock_avoidance=bubble",
            "router.injectors=2",
            "router.ejectors=2",
            "router.input_arbiter=true",
            "router.allocator=output-first",
            "router.arbiter=oldest-first",
            "traffic.injection_rate=0.6",
            "traffic.pattern=transpose",
        ],
        &[2, 3],
    );
}

#[test]
fn partitions_k2_rings() {
    // k = 2: both directions of a ring lead to the same neighbour, in the other slab.
    partition_invariant(
        "[2, 2, 2]",
        &["topology.shape=[2, 2, 2]", "traffic.injection_rate=0.5"],
        &[2],
    );
}

/// The CLI writes the same document as the library (after stripping wall-clock keys),
/// with `--json` on stdout and with `--out`, and `--partitions 3` changes only
/// `run.partitions`.
#[test]
fn cli_json_matches_library() {
    let o = short(&["traffic.injection_rate=0.2"]);
    let (c, p) = reference(&refs(&o));
    // serde_json's default float parser may be off by one ulp, so the library document
    // goes through the same print-and-parse as the CLI's: equal text, equal values.
    let lib = stripped_json(&c, &p, &run(&p, 1, true));
    let lib: Value = serde_json::from_str(&serde_json::to_string_pretty(&lib).unwrap()).unwrap();
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(d.path(), "ref.toml", common::REFERENCE);
    let out = d.path().join("out/result.json");
    let mut args = vec![
        "run".to_string(),
        cfg.to_str().unwrap().to_string(),
        "--json".into(),
        "--check".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    for s in &o {
        args.push("--set".into());
        args.push(s.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = torsim(&args);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let mut from_stdout: Value = serde_json::from_str(&stdout(&r)).expect("JSON on stdout");
    torsim::report::strip_wall_clock(&mut from_stdout);
    assert_eq!(from_stdout, lib);
    let mut from_file: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).expect("JSON file");
    torsim::report::strip_wall_clock(&mut from_file);
    assert_eq!(from_file, lib);

    let mut args3 = args.clone();
    args3.truncate(4); // run, cfg, --json, --check
    args3.extend_from_slice(&["--partitions", "3"]);
    for s in &o {
        args3.push("--set");
        args3.push(s);
    }
    let r = torsim(&args3);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let mut v3: Value = serde_json::from_str(&stdout(&r)).unwrap();
    // How the run was split is recorded with the execution figures, outside the model
    // results, which must not change.
    assert_eq!(v3["performance"]["partitions"], 3);
    torsim::report::strip_wall_clock(&mut v3);
    assert_eq!(v3, lib);
}

/// Threads advance partitions concurrently (rayon); the result must be that of the
/// serial run: 1 thread vs 2 and 3 threads, with synthetic traffic and with a node
/// program (puts, gets and barriers crossing partitions).
#[test]
fn threads_do_not_change_results() {
    use torsim::engine::sim::RunOptions;
    let o = short(&["traffic.injection_rate=0.3", "topology.shape=[6, 6]"]);
    let (c, p) = reference(&refs(&o));
    let opts = |t: usize| RunOptions {
        check: true,
        partitions: t,
        threads: t,
        ..Default::default()
    };
    let serial = torsim::experiment::run::run_synthetic(&p, &opts(1), false, &mut |_| {}).unwrap();
    for t in [2, 3] {
        let o = torsim::experiment::run::run_synthetic(&p, &opts(t), false, &mut |_| {}).unwrap();
        let mut out = Vec::new();
        diff(
            &comparable(&c, &p, &serial),
            &comparable(&c, &p, &o),
            "",
            &mut out,
        );
        assert!(out.is_empty(), "{t} threads: {out:?}");
    }
    // Both put completions: a blocking (injected) put resumes its PE on an adapter event.
    for completion in ["posted", "injected"] {
        let text = format!(
            "[topology]\nshape = [6, 6]\n[router]\nvirtual_channels = 4\nbuffer_flits = 64\n\
             [node]\nput_completion = \"{completion}\"\n"
        );
        program_threads_invariant(&text, &opts);
    }
}

/// Runs a program of puts, gets and barriers on the machine `text` with 1, 2 and 3
/// threads (and as many partitions) and requires identical timings and volumes.
fn program_threads_invariant(text: &str, opts: &dyn Fn(usize) -> torsim::engine::sim::RunOptions) {
    use torsim::engine::comm::LocalComm;
    let (_, q) = torsim::config::load_str(text, None, &[]).unwrap();
    let prog_text = "[[pe]]\npes = \"all\"\nops = [\"repeat 3 {\", \"put ($me * 7 + 3) % $npes 3000\", \"get ($me + 11) % $npes 900\", \"barrier\", \"}\", \"mark end\"]\n";
    let prog =
        torsim::traffic::program::Program::parse(prog_text, q.nodes(), q.clock_hz, &[]).unwrap();
    let run_prog = |t: usize| {
        let o = torsim::experiment::run::run_program(
            &q,
            &prog,
            &opts(t),
            Box::new(LocalComm),
            false,
            &mut |_| {},
        )
        .unwrap();
        let mut lat = o.stats.latency.clone();
        lat.merge(&o.stats.network_latency);
        (
            o.end_cycle,
            o.cycles,
            o.marks,
            lat,
            o.stats.packets_delivered,
            o.stats.payload_bytes_delivered,
        )
    };
    let base = run_prog(1);
    for t in [2, 3] {
        assert_eq!(run_prog(t), base, "{t} threads changed the program run");
    }
}

/// Far more threads than partitions (a careless `--threads`): the run starts only as
/// many workers as there are partitions, says so once, and gives the serial result.
#[test]
fn more_threads_than_partitions_run_as_many_as_partitions() {
    let cfg = "configs/torus-4x4x4.toml";
    let set = ["--set", "simulation.measure_cycles=300", "--json"];
    let serial = torsim(&[&["run", cfg][..], &set[..]].concat());
    let many = torsim(
        &[
            &["run", cfg, "--threads", "1000000", "--partitions", "4"][..],
            &set[..],
        ]
        .concat(),
    );
    assert!(many.status.success(), "{}", stderr(&many));
    let err = stderr(&many);
    assert!(
        err.contains("running 4 thread(s)") && err.lines().count() == 1,
        "{err}"
    );
    let (a, b): (Value, Value) = (
        serde_json::from_str(&stdout(&serial)).unwrap(),
        serde_json::from_str(&stdout(&many)).unwrap(),
    );
    assert_eq!(b["performance"]["threads"], 4);
    assert_eq!(b["performance"]["partitions"], 4);
    let (mut a, mut b) = (a, b);
    torsim::report::strip_wall_clock(&mut a);
    torsim::report::strip_wall_clock(&mut b);
    a["run"].as_object_mut().unwrap().remove("partitions");
    b["run"].as_object_mut().unwrap().remove("partitions");
    assert_eq!(a, b, "the result differs from the serial run");
}
