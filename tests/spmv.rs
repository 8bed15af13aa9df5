//! SpMV exchanges on the simulated network.

use torsim::config::load_str;
use torsim::engine::comm::LocalComm;
use torsim::engine::sim::RunOptions;
use torsim::experiment::run::run_program;
use torsim::node::op::Op;
use torsim::spmv::workload::{Algorithm, Barrier, check_broadcasts, exchange_program};
use torsim::spmv::{ElementEncoding, MatrixSpec, TransferMatrix};

const ENC: ElementEncoding = ElementEncoding {
    element_bytes: 8,
    index_bytes: 4,
};

fn machine(shape: &str) -> torsim::config::Params {
    machine_with(shape, "")
}

/// The machine with hardware collectives (one tree rooted at node 0, or `trees`).
fn machine_with_tree(shape: &str, trees: u32) -> torsim::config::Params {
    machine_with(
        shape,
        &format!("[collectives]\nroot = 0\ntrees = {trees}\n"),
    )
}

fn machine_with(shape: &str, extra: &str) -> torsim::config::Params {
    let text = format!(
        "[topology]\nshape = {shape}\n[router]\nvirtual_channels = 4\nbuffer_flits = 64\n[node]\nmax_payload_bytes = 128\n[network]\nheader_bytes = 16\n{extra}"
    );
    load_str(&text, None, &[]).unwrap().1
}

/// The alltoall exchange moves exactly the transfer matrix, and its closing barrier ends
/// only after every byte has landed: each put also signals flag 1 at its target, and
/// after the barrier every PE consumes one signal per put it receives; if any put were
/// still in flight, that PE would wait and its `got` mark would come after `end`.
#[test]
fn alltoall_moves_the_transfer_matrix_and_the_barrier_waits_for_it() {
    let p = machine("[2, 2, 2]");
    let spec = MatrixSpec::new(4000, 5, 3).unwrap();
    let tm = TransferMatrix::compute(&spec, 8).unwrap();
    let o = alltoall_with_landing_check(&p, &tm, Barrier::Software);
    assert_eq!(
        o.stats.payload_bytes_delivered,
        ENC.bytes(tm.total_remote())
    );
}

/// The same with the hardware barrier (`hbarrier` on the tree): the exchange completes,
/// moves the same data as with the software barrier on the same machine (the tree
/// barrier carries no payload), and still ends only after every byte has landed.
#[test]
fn alltoall_with_the_hardware_barrier_moves_the_same_data() {
    let p = machine_with_tree("[4, 2, 2]", 1);
    let spec = MatrixSpec::new(4000, 5, 3).unwrap();
    let tm = TransferMatrix::compute(&spec, 16).unwrap();
    let hw = alltoall_with_landing_check(&p, &tm, Barrier::Hardware);
    let sw = alltoall_with_landing_check(&p, &tm, Barrier::Software);
    assert_eq!(
        hw.stats.payload_bytes_delivered,
        sw.stats.payload_bytes_delivered
    );
    assert_eq!(
        hw.stats.payload_bytes_delivered,
        ENC.bytes(tm.total_remote())
    );
}

/// Runs the alltoall closed by `barrier`, with a check that no PE leaves the barrier
/// before its data has landed (see above).
fn alltoall_with_landing_check(
    p: &torsim::config::Params,
    tm: &TransferMatrix,
    barrier: Barrier,
) -> torsim::experiment::phases::ProgramOutcome {
    let mut prog =
        exchange_program(Algorithm::Alltoall, barrier, tm.stripes(), Some(tm), ENC).unwrap();
    let got = prog.mark_id("got");
    let mut incoming = vec![0usize; prog.ops.len()];
    for ops in prog.ops.iter_mut() {
        for op in ops.iter_mut() {
            if let Op::Put { dest, flag, .. } = op {
                *flag = Some(1);
                incoming[*dest as usize] += 1;
            }
        }
    }
    for (pe, ops) in prog.ops.iter_mut().enumerate() {
        ops.extend(std::iter::repeat_n(Op::Wait { flag: 1 }, incoming[pe]));
        ops.push(Op::Mark { id: got });
    }
    let o = run_program(
        p,
        &prog,
        &RunOptions::default(),
        Box::new(LocalComm),
        false,
        &mut |_| {},
    )
    .unwrap();
    let id = |n: &str| prog.marks.iter().position(|m| m == n).unwrap() as u16;
    let times = |n: &str| -> Vec<u64> {
        o.marks
            .iter()
            .filter(|m| m.1 == id(n))
            .map(|m| m.2)
            .collect()
    };
    assert_eq!(
        times("end"),
        times("got"),
        "{barrier:?}: a PE left the barrier before all data landed"
    );
    o
}

/// The allgather exchanges give every node the whole vector: each node receives the
/// other nodes' blocks, n - n/p elements.
#[test]
fn allgathers_deliver_the_whole_vector() {
    let p = machine("[4, 2]");
    let spec = MatrixSpec::new(1000, 3, 1).unwrap();
    let tm = TransferMatrix::compute(&spec, 8).unwrap();
    for alg in [Algorithm::AllgatherRing, Algorithm::AllgatherDoubling] {
        let prog = exchange_program(alg, Barrier::Software, tm.stripes(), None, ENC).unwrap();
        let o = run_program(
            &p,
            &prog,
            &RunOptions::default(),
            Box::new(LocalComm),
            false,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            o.stats.payload_bytes_delivered,
            ENC.bytes(1000) * 7,
            "{alg:?}"
        );
    }
}

/// The tree allgather delivers every block to every PE: each PE's broadcast results
/// (bytes received) equal every other PE's block size, on one tree and on two (the
/// broadcasts alternate trees), and the result is the same for 1 and 3 partitions.
#[test]
fn allgather_tree_delivers_every_block_to_every_node() {
    let spec = MatrixSpec::new(1000, 3, 1).unwrap();
    let tm = TransferMatrix::compute(&spec, 12).unwrap();
    for (trees, barrier) in [(1, Barrier::Software), (2, Barrier::Hardware)] {
        let p = machine_with_tree("[3, 2, 2]", trees);
        let prog =
            exchange_program(Algorithm::AllgatherTree, barrier, tm.stripes(), None, ENC).unwrap();
        let mut runs = Vec::new();
        for parts in [1, 3] {
            let opts = RunOptions {
                threads: parts,
                partitions: parts,
                ..Default::default()
            };
            let o = run_program(&p, &prog, &opts, Box::new(LocalComm), false, &mut |_| {}).unwrap();
            assert_eq!(
                check_broadcasts(&prog, &o.values),
                Ok(11 * ENC.bytes(1000)),
                "{trees} tree(s), {parts} partition(s)"
            );
            // Every PE has one result per broadcast: 12 PEs x 12 roots.
            assert_eq!(o.values.len(), 12 * 12);
            runs.push((o.marks, o.values, o.cycles));
        }
        assert_eq!(runs[0], runs[1], "{trees} tree(s): partitions differ");
    }
}

/// An unknown `--barrier` value is refused with a message naming the choices.
#[test]
fn unknown_barrier_is_a_clear_error() {
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_torsim"))
        .args([
            "spmv",
            "configs/asic-3d.toml",
            "--nodes",
            "8",
            "--n",
            "20000",
            "--barrier",
            "fast",
        ])
        .output()
        .unwrap();
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("unknown barrier `fast`") && err.contains("software or hardware"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// The CLI with both barriers and the tree allgather, read from a workload file: rows
/// say which barrier they used, the hardware barrier moves the same payload, and the
/// tree allgather reports every block received.
#[test]
fn cli_runs_hardware_collectives_from_a_workload_file() {
    let dir = tempfile::tempdir().unwrap();
    let wl = dir.path().join("w.toml");
    std::fs::write(
        &wl,
        "[spmv]\nn = 20000\nd = 4\nnodes = [8]\nalgorithm = [\"alltoall\", \"allgather-tree\"]\nbarrier = [\"software\", \"hardware\"]\n",
    )
    .unwrap();
    let out = dir.path().join("h.json");
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_torsim"))
        .args(["spmv", "configs/asic-3d.toml", "--workload"])
        .arg(&wl)
        .arg("--out")
        .arg(&out)
        .arg("--out-dir")
        .arg(dir.path())
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let pts = v["points"].as_array().unwrap();
    let rows: Vec<(&str, &str)> = pts
        .iter()
        .map(|p| {
            (
                p["algorithm"].as_str().unwrap(),
                p["barrier"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("alltoall", "software"),
            ("alltoall", "hardware"),
            ("allgather-tree", "software"),
            ("allgather-tree", "hardware"),
        ]
    );
    assert_eq!(pts[0]["payload_bytes"], pts[1]["payload_bytes"]);
    for pt in &pts[2..] {
        assert_eq!(pt["broadcast_bytes_received"], 7 * 8 * 20000);
    }
    let csv = std::fs::read_to_string(dir.path().join("h.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].ends_with(",barrier"), "{csv}");
    assert!(lines[2].ends_with(",hardware"), "{csv}");
}

/// The CLI writes the documented per-point keys (with how each point's simulation ran,
/// here on two threads), and the alltoall cannot beat the bisection bound.
#[test]
fn cli_reports_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.json");
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_torsim"))
        .args([
            "spmv",
            "configs/asic-3d.toml",
            "--nodes",
            "8,16",
            "--n",
            "20000",
            "--d",
            "4",
            "--threads",
            "2",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--out-dir")
        .arg(dir.path())
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let pts = v["points"].as_array().unwrap();
    assert_eq!(pts.len(), 2);
    for pt in pts {
        for k in [
            "nodes",
            "shape",
            "comm_seconds_per_iteration",
            "compute_seconds_per_iteration",
            "total_seconds_per_iteration",
            "gflops",
            "speedup",
            "bisection_bound_seconds_per_iteration",
        ] {
            assert!(!pt[k].is_null(), "missing {k}");
        }
        // How the point ran: two partitions, windows of the lookahead.
        let perf = &pt["performance"];
        assert_eq!(perf["partitions"], 2, "{perf}");
        assert!(perf["windows"].as_u64().unwrap() > 0, "{perf}");
        assert!(perf["lookahead_cycles"].as_u64().unwrap() > 0, "{perf}");
        assert!(perf["boundary_messages"].as_u64().unwrap() > 0, "{perf}");
        let comm = pt["comm_seconds_per_iteration"].as_f64().unwrap();
        let bound = pt["bisection_bound_seconds_per_iteration"]
            .as_f64()
            .unwrap();
        assert!(
            comm >= bound,
            "communication {comm} s beats the bisection bound {bound} s"
        );
    }
    // The CSV and plots are named after --out, so runs with different --out files do
    // not overwrite each other's.
    for f in ["s-speedup.svg", "s-profile.svg", "s.csv"] {
        assert!(dir.path().join(f).exists(), "{f} not written");
    }
    let csv = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert!(csv.starts_with("algorithm,dims,nodes,"), "{csv}");
}

/// A node count too small for the requested dimensions is skipped with a note, not run
/// on fewer dimensions.
#[test]
fn too_few_nodes_for_the_dimensions_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.json");
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_torsim"))
        .args([
            "spmv",
            "configs/asic-4d.toml",
            "--nodes",
            "8,16",
            "--dims",
            "3,4",
            "--n",
            "20000",
            "--d",
            "4",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--out-dir")
        .arg(dir.path())
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("8 nodes cannot form a 4D torus"), "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let dims: Vec<(u64, u64)> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["dims"].as_u64().unwrap(), p["nodes"].as_u64().unwrap()))
        .collect();
    assert_eq!(dims, [(3, 8), (3, 16), (4, 16)]);
    assert_eq!(v["skipped_points"][0]["nodes"], 8);
}

/// Without a terminal (a batch job) no progress bar is drawn; a long run prints a
/// progress line at most once a minute instead. `TORSIM_PROGRESS_SECONDS=0` makes every
/// check due, so a short run shows the lines; by default a short run prints none.
#[test]
fn runs_without_a_terminal_report_progress_lines() {
    let dir = tempfile::tempdir().unwrap();
    let spmv = |env: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_torsim"));
        c.args([
            "spmv",
            "configs/asic-3d.toml",
            "--nodes",
            "8",
            "--n",
            "20000",
        ])
        .arg("--out-dir")
        .arg(dir.path())
        .arg("--cache-dir")
        .arg(dir.path().join("cache"));
        if let Some(v) = env {
            c.env("TORSIM_PROGRESS_SECONDS", v);
        }
        c.output().unwrap()
    };
    let r = spmv(Some("0"));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("torsim: spmv alltoall software barrier, 8 nodes: cycle 128 after"),
        "{err}"
    );
    let quiet = spmv(None);
    assert!(quiet.status.success());
    assert!(
        !String::from_utf8_lossy(&quiet.stderr).contains(": cycle "),
        "a short run prints no progress line by default"
    );
    assert_eq!(r.stdout, quiet.stdout, "progress lines go to stderr only");

    let run = std::process::Command::new(env!("CARGO_BIN_EXE_torsim"))
        .args([
            "run",
            "configs/torus-8x8.toml",
            "--set",
            "simulation.warmup_cycles=200",
            "--set",
            "simulation.measure_cycles=300",
        ])
        .env("TORSIM_PROGRESS_SECONDS", "0")
        .output()
        .unwrap();
    assert!(run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("torsim: run: warm-up cycle 128 after"),
        "{err}"
    );
    assert!(err.contains("torsim: run: measure cycle"), "{err}");
}
