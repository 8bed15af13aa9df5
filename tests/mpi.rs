//! Multi-process runs under `mpirun` give the same results as a serial run, and fail
//! together (without hanging) when the simulation fails.
//!
//! Needs the `mpi` feature and an MPI launcher on the PATH (`scripts/ci-mpi.sh` sets
//! both up). Launches are serialised: on a small machine several oversubscribed jobs at
//! once would mostly measure the scheduler.

#![cfg(feature = "mpi")]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use torsim::report::strip_wall_clock;

/// No test job takes more than a few seconds; past this one it is hung.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Short windows keep each run well under a second.
const SHORT: &[&str] = &[
    "--set",
    "simulation.warmup_cycles=500",
    "--set",
    "simulation.measure_cycles=2000",
];

static LAUNCH: Mutex<()> = Mutex::new(());

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_torsim")
}

fn config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(name)
}

/// Runs `cmd` to completion, killing it after [`TIMEOUT`] (then the test fails).
fn run_with_timeout(mut cmd: Command) -> Output {
    let _guard = LAUNCH.lock().unwrap_or_else(|e| e.into_inner());
    let child = cmd
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts (is mpirun on the PATH?)");
    let id = child.id();
    let start = Instant::now();
    // A watcher thread stops the job if it outlives the timeout (SIGTERM first, which
    // mpirun forwards to its ranks); `wait_with_output` then returns and the assertion
    // below reports the hang.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let watcher = std::thread::spawn(move || {
        if rx.recv_timeout(TIMEOUT).is_err() {
            let _ = Command::new("kill").arg(id.to_string()).status();
            if rx.recv_timeout(Duration::from_secs(10)).is_err() {
                let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            }
        }
    });
    let out = child.wait_with_output().expect("the command runs");
    let _ = tx.send(());
    let _ = watcher.join();
    assert!(
        start.elapsed() < TIMEOUT,
        "{cmd:?} did not finish within {TIMEOUT:?}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn mpirun(ranks: usize, program: &str, args: &[String]) -> Output {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--allow-run-as-root", "--oversubscribe", "-n"])
        .arg(ranks.to_string())
        .arg(program)
        .args(args);
    run_with_timeout(cmd)
}

fn args(cfg: &str, extra: &[&str]) -> Vec<String> {
    let mut v = vec!["run".to_string(), config(cfg).display().to_string()];
    v.extend(SHORT.iter().map(|s| s.to_string()));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("the result is JSON")
}

fn model_part(mut v: Value) -> Value {
    strip_wall_clock(&mut v);
    v
}

/// The result document of a serial `torsim run` of config `cfg` with `extra`, written
/// into `dir`.
fn serial_run(dir: &Path, cfg: &str, extra: &[&str]) -> Value {
    let path = dir.join("serial.json");
    let mut a = args(cfg, extra);
    a.extend(["--out".into(), path.display().to_string()]);
    let mut serial = Command::new(bin());
    serial.args(&a);
    assert_ok(&run_with_timeout(serial), "the serial run");
    read_json(&path)
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ranks_and_threads_match_the_serial_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = ["--check", "--set", "traffic.injection_rate=0.2"];

    let serial = serial_run(dir.path(), "torus-8x8.toml", &base);
    assert_eq!(serial["performance"]["ranks"], 1);
    let expected = model_part(serial);

    // 4 and 8 ranks (oversubscribed on a small machine): every rank has two
    // neighbours on the ring of slabs, and with 8 slabs of one node row each,
    // every message between routers crosses a rank boundary.
    for (ranks, threads) in [(1, 1), (2, 1), (3, 1), (2, 2), (4, 1), (8, 1)] {
        let path = dir.path().join(format!("n{ranks}-t{threads}.json"));
        let mut a = args("torus-8x8.toml", &base);
        a.extend([
            "--threads".into(),
            threads.to_string(),
            "--out".into(),
            path.display().to_string(),
        ]);
        let out = mpirun(ranks, bin(), &a);
        let what = format!("mpirun -n {ranks} --threads {threads}");
        assert_ok(&out, &what);
        // Rank 0 alone prints the summary.
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.matches("simulated ").count(), 1, "{what}: {stdout}");
        let v = read_json(&path);
        let perf = &v["performance"];
        assert_eq!(perf["ranks"], ranks, "{what}");
        assert_eq!(perf["partitions"], ranks * threads, "{what}");
        if ranks > 1 {
            assert!(perf["exchanged_bytes"].as_u64().unwrap_or(0) > 0, "{what}");
        }
        assert!(
            model_part(v) == expected,
            "{what}: the result differs from the serial run outside `performance`"
        );
    }
}

/// More ranks than the longest ring has nodes: 8 ranks on a 4x4 torus own a 1x2 block
/// each and exchange with three others (both slab neighbours and the other half of
/// their slab), not just two.
#[test]
fn ranks_in_blocks_match_the_serial_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = [
        "--check",
        "--set",
        "topology.shape=[4, 4]",
        "--set",
        "traffic.injection_rate=0.3",
    ];
    let expected = model_part(serial_run(dir.path(), "torus-8x8.toml", &base));

    let path = dir.path().join("blocks.json");
    let mut a = args("torus-8x8.toml", &base);
    a.extend(["--out".into(), path.display().to_string()]);
    let out = mpirun(8, bin(), &a);
    assert_ok(&out, "mpirun -n 8 on 4x4");
    let v = read_json(&path);
    assert_eq!(v["performance"]["partitions"], 8);
    assert_eq!(v["performance"]["max_partition_nodes"], 2);
    assert!(
        model_part(v) == expected,
        "8 ranks in blocks: the result differs from the serial run outside `performance`"
    );
}

/// A network that deadlocks (one VC, no deadlock avoidance, high load): the watchdog
/// fires on global values, so every rank stops with an error in the same window.
#[test]
fn deadlock_fails_every_rank_without_hanging() {
    let extra = [
        "--set",
        "topology.shape=[6, 6]",
        "--set",
        "router.virtual_channels=1",
        "--set",
        "routing.deadlock_avoidance=\"none\"",
        "--set",
        "traffic.injection_rate=0.9",
        "--set",
        "simulation.watchdog_cycles=300",
        "--skip-deadlock-check",
    ];
    let a = args("torus-8x8.toml", &extra);

    let out = mpirun(2, bin(), &a);
    assert!(!out.status.success(), "mpirun reported success");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("torsim: deadlock").count(),
        1,
        "rank 0 alone prints the error:\n{stderr}"
    );

    // Each rank's own exit code, through a shell that reports it and then exits 0.
    let script =
        "\"$0\" \"$@\"; echo \"rank ${OMPI_COMM_WORLD_RANK:-$PMI_RANK} exit $?\" >&2".to_string();
    let mut sh_args = vec!["-c".to_string(), script, bin().to_string()];
    sh_args.extend(a);
    let out = mpirun(2, "sh", &sh_args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for r in 0..2 {
        assert!(
            stderr.contains(&format!("rank {r} exit 1")),
            "rank {r} did not exit with 1:\n{stderr}"
        );
    }
}

/// A config file readable on rank 0 but not on rank 1 (as with a path missing on one
/// node): rank 1 says so and aborts the job instead of leaving rank 0 waiting.
#[test]
fn config_missing_on_one_rank_aborts_the_job() {
    let good = config("torus-8x8.toml").display().to_string();
    let script = "if [ \"${OMPI_COMM_WORLD_RANK:-$PMI_RANK}\" = 1 ]; then c=/nonexistent/torsim.toml; else c=\"$1\"; fi; exec \"$0\" run \"$c\"";
    let out = mpirun(
        2,
        "sh",
        &[
            "-c".to_string(),
            script.to_string(),
            bin().to_string(),
            good,
        ],
    );
    assert!(!out.status.success(), "mpirun reported success");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("torsim: rank 1:") && stderr.contains("cannot read config"),
        "{stderr}"
    );
}

/// `torsim sweep` under two ranks: every point is one parallel run; rank 0 writes the
/// outputs, which match a serial sweep outside `performance`.
#[test]
fn sweep_under_two_ranks_matches_serial() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sweep_args = |out: &Path| -> Vec<String> {
        let mut v = vec![
            "sweep".to_string(),
            config("torus-8x8.toml").display().to_string(),
        ];
        v.extend(SHORT.iter().map(|s| s.to_string()));
        v.extend([
            "--param".into(),
            "traffic.injection_rate=0.1,0.2".into(),
            "--name".into(),
            "s".into(),
            "--out-dir".into(),
            out.display().to_string(),
        ]);
        v
    };
    let serial_dir = dir.path().join("serial");
    let mut serial = Command::new(bin());
    serial.args(sweep_args(&serial_dir));
    assert_ok(&run_with_timeout(serial), "the serial sweep");
    let mpi_dir = dir.path().join("mpi");
    let out = mpirun(2, bin(), &sweep_args(&mpi_dir));
    assert_ok(&out, "mpirun -n 2 sweep");
    let a = read_json(&serial_dir.join("s.json"));
    let b = read_json(&mpi_dir.join("s.json"));
    assert_eq!(b[0]["performance"]["ranks"], 2);
    assert!(model_part(a) == model_part(b), "the sweeps differ");
}

/// `torsim spmv` under 2 ranks splits each point's simulation between them and gives
/// the serial study's points; only rank 0 writes.
#[test]
fn spmv_under_two_ranks_matches_serial() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spmv_args = |tag: &str| -> Vec<String> {
        [
            "spmv",
            &config("asic-3d.toml").display().to_string(),
            "--nodes",
            "8,64",
            "--n",
            "200000",
            "--out",
            &dir.path().join(format!("{tag}.json")).display().to_string(),
            "--out-dir",
            &dir.path().join(tag).display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut serial = Command::new(bin());
    serial.args(spmv_args("serial"));
    assert_ok(&run_with_timeout(serial), "the serial spmv");
    let out = mpirun(2, bin(), &spmv_args("mpi"));
    assert_ok(&out, "mpirun -n 2 spmv");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("alltoall").count(),
        2,
        "rank 0 alone prints the table:\n{stdout}"
    );
    let a = read_json(&dir.path().join("serial.json"));
    let b = read_json(&dir.path().join("mpi.json"));
    assert_eq!(b["performance"]["ranks"], 2);
    assert_eq!(b["performance"]["partitions"], 2);
    assert!(
        model_part(a) == model_part(b),
        "the SpMV points differ between 1 and 2 ranks"
    );
}

/// Node programs (puts, gets, barriers, and atomics with spin loops on fetched values:
/// traffic and synchronisation that cross ranks) give the same result under 2 and 3
/// ranks as in one process, final symmetric variables included.
#[test]
fn node_programs_match_the_serial_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in ["ring-exchange", "atomic-counter"] {
        let program = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("traffic/{file}.toml"));
        let set = format!("workload.program={}", program.display());
        let run = |ranks: usize| -> Value {
            let path = dir.path().join(format!("{file}-{ranks}.json"));
            let a: Vec<String> = vec![
                "run".into(),
                config("prototype-3x3.toml").display().to_string(),
                "--check".into(),
                "--set".into(),
                set.clone(),
                "--out".into(),
                path.display().to_string(),
            ];
            let out = if ranks == 0 {
                let mut c = Command::new(bin());
                c.args(&a);
                run_with_timeout(c)
            } else {
                mpirun(ranks, bin(), &a)
            };
            assert_ok(&out, &format!("{file} on {ranks} rank(s)"));
            model_part(read_json(&path))
        };
        let serial = run(0);
        assert!(serial["program"]["end_cycle"].as_u64().unwrap_or(0) > 0);
        if file == "atomic-counter" {
            // 9 PEs, 4 rounds each: every fetch-and-add landed exactly once.
            assert_eq!(serial["variables"]["counter"][0], 36, "{serial}");
        }
        for ranks in [2, 3] {
            assert!(run(ranks) == serial, "{ranks} ranks changed the {file} run");
        }
    }
}

/// Adaptive routing with random selection and failed links and a failed node: under
/// two ranks the result equals the serial run (the routers' random streams and the
/// fault set do not depend on the split).
#[test]
fn adaptive_routing_with_faults_under_two_ranks_matches_serial() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = [
        "--check",
        "--set",
        "traffic.injection_rate=0.3",
        "--set",
        "routing.algorithm=\"adaptive\"",
        "--set",
        "routing.selection=\"random\"",
        "--set",
        "router.virtual_channels=3",
        "--set",
        "faults.links=[\"1,1 +x\", \"6,2 +y\"]",
        "--set",
        "faults.nodes=[\"4,4\"]",
    ];
    let serial = serial_run(dir.path(), "torus-8x8.toml", &base);
    assert!(serial["routing"]["adaptive_hops"].as_u64().unwrap_or(0) > 0);
    assert_eq!(
        serial["routing"]["failed_nodes"].as_array().map(Vec::len),
        Some(1)
    );
    let expected = model_part(serial);
    let path = dir.path().join("n2.json");
    let mut a = args("torus-8x8.toml", &base);
    a.extend(["--out".into(), path.display().to_string()]);
    let out = mpirun(2, bin(), &a);
    assert_ok(&out, "mpirun -n 2, adaptive with faults");
    assert!(
        model_part(read_json(&path)) == expected,
        "mpirun -n 2: adaptive routing with faults differs from the serial run"
    );
}

/// Hardware collectives on two trees: under two ranks (trees cut by the partition
/// boundary) the results and every counter equal the serial run's.
#[test]
fn hardware_collectives_under_two_ranks_match_serial() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("traffic/collectives.toml");
    let run = |ranks: usize| -> Value {
        let path = dir.path().join(format!("c{ranks}.json"));
        let a: Vec<String> = vec![
            "run".into(),
            config("asic-3d.toml").display().to_string(),
            "--check".into(),
            "--set".into(),
            "topology.shape=[4,3,2]".into(),
            "--set".into(),
            format!("workload.program={}", program.display()),
            "--set".into(),
            "collectives.root=5".into(),
            "--set".into(),
            "collectives.trees=2".into(),
            "--out".into(),
            path.display().to_string(),
        ];
        let out = if ranks == 0 {
            let mut c = Command::new(bin());
            c.args(&a);
            run_with_timeout(c)
        } else {
            mpirun(ranks, bin(), &a)
        };
        assert_ok(&out, &format!("collectives on {ranks} rank(s)"));
        model_part(read_json(&path))
    };
    let serial = run(0);
    // Op 4 is `hallreduce sum [$me; 4]` over 24 PEs: 0 + 1 + ... + 23 = 276 each.
    let results = serial["collectives"]
        .as_array()
        .expect("collective results");
    let sums: Vec<&Value> = results.iter().filter(|r| r["op"] == 4).collect();
    assert_eq!(sums.len(), 24);
    assert!(
        sums.iter()
            .all(|r| r["values"] == serde_json::json!([276, 276, 276, 276]))
    );
    assert!(run(2) == serial, "2 ranks changed the collectives run");
}
