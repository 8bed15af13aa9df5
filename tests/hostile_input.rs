//! Hostile and careless input through the command line: every run ends with exit 0, or
//! exit 1 and a single line `torsim: ...`; never a panic, an abort or a backtrace.
//!
//! Property tests generate config files, `--set` values and program files from pieces
//! chosen to hit the edges (huge, negative, zero, fractional, wrong-typed values,
//! overflowing expressions); the number of cases is small by default so the suite stays
//! fast (`PROPTEST_CASES` raises it). Then one test per class of input that was once
//! mishandled.

mod common;

use common::{stderr, torsim, write_config};
use proptest::prelude::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Small, quickly simulated base: a 4x4 torus with room for node programs.
const BASE: &str = "[topology]\nshape = [4, 4]\n[router]\nvirtual_channels = 4\nbuffer_flits = 64\n[simulation]\nwarmup_cycles = 100\nmeasure_cycles = 300\nmax_drain_cycles = 3000\n";

/// Longest a generated run may take. Generated inputs can be valid and simply large (a
/// put of 100 GB, a loop of a billion puts): such a run is stopped here and counts as
/// keeping the contract, since it has neither crashed nor printed anything wrong.
const RUN_LIMIT: Duration = Duration::from_secs(20);

/// Runs torsim, stopping it after [`RUN_LIMIT`]; `None` if it was stopped.
fn torsim_limited(args: &[&str]) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_torsim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn torsim");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("poll torsim").is_some() {
            return Some(child.wait_with_output().expect("torsim output"));
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs torsim and checks the exit-code contract; returns (exit code, stderr), or
/// (0, "") for a valid run stopped after [`RUN_LIMIT`].
fn contract(args: &[&str]) -> (i32, String) {
    let Some(o) = torsim_limited(args) else {
        return (0, String::new());
    };
    let e = stderr(&o);
    let code = o.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{args:?}: exit code {code} (killed or aborted?); stderr: {e}"
    );
    assert!(!e.contains("panicked"), "{args:?}: panic: {e}");
    assert!(!e.contains("internal error"), "{args:?}: bug: {e}");
    assert!(!e.contains("stack backtrace"), "{args:?}: backtrace: {e}");
    if code == 1 {
        assert!(e.starts_with("torsim: "), "{args:?}: {e}");
        assert_eq!(
            e.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {e}"
        );
    }
    (code, e)
}

/// Values that sit at the edges of what a key could be given.
fn edge_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1".to_string()),
        Just("3".to_string()),
        Just("65536".to_string()),
        Just("1000000".to_string()),
        Just("1099511627776".to_string()),
        Just("9223372036854775807".to_string()),
        Just("1e300".to_string()),
        Just("-0.5".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("\"1e30 s\"".to_string()),
        Just("\"1 s\"".to_string()),
        Just("\"0 ns\"".to_string()),
        Just("\"5 ns\"".to_string()),
        Just("\"1 bit/s\"".to_string()),
        Just("\"1e30 Gbit/s\"".to_string()),
        Just("\"1 Hz\"".to_string()),
        Just("\"1e30 GHz\"".to_string()),
        Just("\"banana\"".to_string()),
        Just("[]".to_string()),
        Just("[2]".to_string()),
        Just("[65535, 65535]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("true".to_string()),
    ]
}

/// Keys of the schema, plus one that does not exist.
fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("topology.shape"),
        Just("network.clock"),
        Just("network.flit_bytes"),
        Just("network.header_bytes"),
        Just("network.link_latency"),
        Just("network.link_bandwidth"),
        Just("network.ejection_buffer_flits"),
        Just("router.virtual_channels"),
        Just("router.buffer_flits"),
        Just("router.injectors"),
        Just("router.ejectors"),
        Just("router.timeout"),
        Just("router.pipeline.vc_allocation"),
        Just("node.max_payload_bytes"),
        Just("node.message_overhead"),
        Just("node.pcie.latency"),
        Just("node.pcie.rate"),
        Just("traffic.injection_rate"),
        Just("traffic.packet_flits"),
        Just("traffic.injection_delay"),
        Just("simulation.measure_cycles"),
        Just("simulation.watchdog_cycles"),
        Just("routing.subnetworks"),
        Just("no.such_key"),
    ]
}

/// Program statements, valid and not.
fn statement() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("put 1 64".to_string()),
        Just("put 1 0 flag 2".to_string()),
        Just("put 1 100000000000".to_string()),
        Just("put 99 8".to_string()),
        Just("put 4294967297 8".to_string()),
        Just("get 1 70000".to_string()),
        Just("get -1 8".to_string()),
        Just("barrier".to_string()),
        Just("quiet".to_string()),
        Just("compute 10".to_string()),
        Just("compute \"1e30 s\"".to_string()),
        Just("compute 1e30 s".to_string()),
        Just("wait 64".to_string()),
        Just("mark m".to_string()),
        Just("repeat 1000000000 {".to_string()),
        Just("repeat 2 {".to_string()),
        Just("}".to_string()),
        Just("put (0-9223372036854775807-1)/(0-1) 8".to_string()),
        Just("put 1 (0-9223372036854775807-1)%(0-1)".to_string()),
        Just("put 1 9223372036854775807*2".to_string()),
        Just("put ($me+1)%$npes 8 flag 1".to_string()),
        Just("put 1 1/0".to_string()),
        Just("jump".to_string()),
        Just("".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A config file with random keys set to edge values, run as written.
    #[test]
    fn config_files_never_crash(sets in prop::collection::vec((key(), edge_value()), 1..4)) {
        let d = tempfile::tempdir().unwrap();
        let mut text = BASE.to_string();
        // Dotted keys at the top level, so any key can be written after the tables.
        let mut top = String::new();
        for (k, v) in &sets {
            top.push_str(&format!("{k} = {v}\n"));
        }
        text = format!("{top}{text}");
        let p = write_config(d.path(), "c.toml", &text);
        contract(&["run", p.to_str().unwrap()]);
    }

    /// The base config with random `--set` overrides.
    #[test]
    fn set_values_never_crash(sets in prop::collection::vec((key(), edge_value()), 1..4)) {
        let d = tempfile::tempdir().unwrap();
        let p = write_config(d.path(), "c.toml", BASE);
        let sets: Vec<String> = sets.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args = vec!["run", p.to_str().unwrap()];
        for s in &sets {
            args.push("--set");
            args.push(s);
        }
        contract(&args);
    }

    /// Random program files for PE 0 (PE 1 runs a fixed receiver).
    #[test]
    fn program_files_never_crash(ops in prop::collection::vec(statement(), 0..6)) {
        let d = tempfile::tempdir().unwrap();
        let quoted: Vec<String> = ops.iter().map(|o| format!("{:?}", o)).collect();
        let prog = format!(
            "[[pe]]\npes = \"0\"\nops = [{}]\n[[pe]]\npes = \"1..16\"\nops = [\"barrier\"]\n",
            quoted.join(", ")
        );
        std::fs::write(d.path().join("p.toml"), prog).unwrap();
        let p = write_config(
            d.path(),
            "c.toml",
            &format!("[workload]\nprogram = \"p.toml\"\n{BASE}"),
        );
        contract(&["run", p.to_str().unwrap()]);
    }
}

fn run_bad(dir: &Path, text: &str) -> String {
    let p = write_config(dir, "c.toml", text);
    let (code, e) = contract(&["run", p.to_str().unwrap()]);
    assert_eq!(code, 1, "expected a refusal: {text}");
    e
}

#[test]
fn huge_durations_are_refused_with_the_limit() {
    let d = tempfile::tempdir().unwrap();
    for key in ["link_latency", "injection_latency"] {
        let e = run_bad(d.path(), &format!("{BASE}[network]\n{key} = \"1e30 s\"\n"));
        assert!(
            e.contains(&format!("network.{key}")) && e.contains("4294967296"),
            "{e}"
        );
    }
    let e = run_bad(
        d.path(),
        &format!("{BASE}[node.pcie]\nlatency = \"1e30 s\"\n"),
    );
    assert!(e.contains("node.pcie.latency") && e.contains(":11:"), "{e}");
}

#[test]
fn absurd_rates_are_refused_not_reported_as_deadlock() {
    let d = tempfile::tempdir().unwrap();
    let e = run_bad(
        d.path(),
        &format!("{BASE}[network]\nlink_bandwidth = \"1 bit/s\"\n"),
    );
    assert!(
        e.contains("network.link_bandwidth") && !e.contains("deadlock"),
        "{e}"
    );
    // A slow but representable link needs a watchdog longer than a flit takes.
    let e = run_bad(
        d.path(),
        &format!(
            "{}[network]\nlink_bandwidth = \"0.01 Gbit/s\"\n",
            BASE.replace(
                "max_drain_cycles = 3000",
                "max_drain_cycles = 3000\nwatchdog_cycles = 1000"
            )
        ),
    );
    assert!(
        e.contains("simulation.watchdog_cycles") && e.contains("network.link_bandwidth"),
        "{e}"
    );
    let e = run_bad(
        d.path(),
        &format!("{BASE}[node.pcie]\nrate = \"1 bit/s\"\n"),
    );
    assert!(e.contains("node.pcie.rate"), "{e}");
}

#[test]
fn oversized_resources_are_refused_before_allocating() {
    let d = tempfile::tempdir().unwrap();
    let e = run_bad(
        d.path(),
        &BASE.replace("buffer_flits = 64", "buffer_flits = 1099511627776"),
    );
    assert!(
        e.contains("router.buffer_flits") && e.contains("1048576"),
        "{e}"
    );
    let text = BASE
        .replace("buffer_flits = 64", "buffer_flits = 1000000")
        .replace("[4, 4]", "[64, 64, 64]");
    let e = run_bad(d.path(), &text);
    assert!(
        e.contains("would need about") && e.contains("TORSIM_MAX_MEMORY"),
        "{e}"
    );
    // A program that records a mark a billion times.
    std::fs::write(
        d.path().join("p.toml"),
        "[[pe]]\npes = \"all\"\nops = [\"repeat 1000000000 {\", \"mark x\", \"}\"]\n",
    )
    .unwrap();
    let e = run_bad(
        d.path(),
        &format!("[workload]\nprogram = \"p.toml\"\n{BASE}"),
    );
    assert!(e.contains("marks"), "{e}");
}

#[test]
fn packets_longer_than_the_flit_counter_are_refused() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("p.toml"),
        "[[pe]]\npes = \"all\"\nops = [\"barrier\"]\n",
    )
    .unwrap();
    let e = run_bad(
        d.path(),
        &format!("[workload]\nprogram = \"p.toml\"\n{BASE}[network]\nheader_bytes = 4194304\n"),
    );
    assert!(
        e.contains("network.header_bytes") && e.contains("65535"),
        "{e}"
    );
}

#[test]
fn program_errors_name_file_section_and_statement() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("p.toml"),
        "[[pe]]\npes = \"all\"\nops = [\"barrier\", \"put (0-9223372036854775807-1)/(0-1) 8\"]\n",
    )
    .unwrap();
    let e = run_bad(
        d.path(),
        &format!("[workload]\nprogram = \"p.toml\"\n{BASE}"),
    );
    assert!(
        e.contains("p.toml")
            && e.contains("[[pe]] #1")
            && e.contains("op 2")
            && e.contains("overflow"),
        "{e}"
    );
    std::fs::write(
        d.path().join("p.toml"),
        "[[pe]]\npes = \"0\"\nops = [\"put 4294967297 8\"]\n",
    )
    .unwrap();
    let e = run_bad(
        d.path(),
        &format!("[workload]\nprogram = \"p.toml\"\n{BASE}"),
    );
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn combined_checks_name_every_key_with_its_line() {
    let d = tempfile::tempdir().unwrap();
    let e = run_bad(
        d.path(),
        "[topology]\nshape = [4, 4]\n[router]\nvirtual_channels = 3\n[routing]\ndeadlock_avoidance = \"dateline\"\n",
    );
    assert!(
        e.contains(":4: `router.virtual_channels`")
            && e.contains("`routing.deadlock_avoidance` at line 6"),
        "{e}"
    );
    // A key inside an inline table has its line.
    let e = run_bad(
        d.path(),
        "[topology]\nshape = [4, 4]\n[router]\npipeline = { vc_allocation = 0 }\n",
    );
    assert!(e.contains(":4: `router.pipeline.vc_allocation`"), "{e}");
    // Too many injectors is blamed on the injectors.
    let e = run_bad(
        d.path(),
        &BASE.replace(
            "buffer_flits = 64\n",
            "buffer_flits = 64\ninjectors = 1000000\n",
        ),
    );
    assert!(e.contains("`router.injectors`"), "{e}");
}

#[test]
fn usage_errors_are_one_line_with_exit_1() {
    for args in [
        vec![],
        vec!["run"],
        vec!["frobnicate"],
        vec!["run", "x.toml", "--threads", "many"],
    ] {
        let (code, e) = contract(&args);
        assert_eq!(code, 1, "{args:?}: {e}");
    }
    assert_eq!(contract(&["--version"]).0, 0);
}

#[test]
fn hop_latency_on_a_two_node_ring_is_an_error_not_nan() {
    let d = tempfile::tempdir().unwrap();
    let p = write_config(d.path(), "c.toml", &BASE.replace("[4, 4]", "[2]"));
    let o = torsim(&["micro", "hop-latency", p.to_str().unwrap()]);
    let (out, e) = (common::stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{out}{e}");
    assert!(
        !out.to_lowercase().contains("nan") && e.contains("hop-latency"),
        "{out}{e}"
    );
}

#[test]
fn concurrent_runs_writing_one_file_leave_valid_json() {
    let d = tempfile::tempdir().unwrap();
    let p = write_config(d.path(), "c.toml", BASE);
    let out = d.path().join("r.json");
    let (ps, os) = (
        p.to_str().unwrap().to_string(),
        out.to_str().unwrap().to_string(),
    );
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (ps, os) = (ps.clone(), os.clone());
            std::thread::spawn(move || torsim(&["run", &ps, "--out", &os]).status.code())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), Some(0));
    }
    let text = std::fs::read_to_string(&out).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).expect("a whole JSON document");
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}
