//! Hardware collectives on the virtual tree subnetwork: exact results, every byte
//! delivered, a barrier that releases no PE early, the zero-load latency formula,
//! clear reports of mismatched collectives, and trees over failed nodes.

use std::path::Path;
use std::sync::Arc;
use torsim::config::{Params, load, load_str};
use torsim::engine::comm::LocalComm;
use torsim::engine::sim::RunOptions;
use torsim::experiment::phases::{ProgramOutcome, SimError};
use torsim::experiment::run::{RunError, check_routing, run_program};
use torsim::node::op::{Collective, Op, ReduceOp};
use torsim::topology::Torus;
use torsim::topology::tree::Tree;
use torsim::traffic::program::Program;

/// A small test machine with collectives (4 VCs: two dateline classes per subnetwork).
fn params(shape: &str, extra: &str) -> Params {
    let text = format!(
        "[topology]\nshape = {shape}\n[router]\nvirtual_channels = 4\nbuffer_flits = 64\n[collectives]\nroot = 1\n{extra}"
    );
    load_str(&text, None, &[]).expect("test config").1
}

fn run_with(p: &Params, prog: &Program, parts: usize) -> Result<ProgramOutcome, RunError> {
    let opts = RunOptions {
        check: true,
        partitions: parts,
        threads: parts,
        ..Default::default()
    };
    run_program(p, prog, &opts, Box::new(LocalComm), false, &mut |_| {})
}

fn run(p: &Params, prog: &Program) -> ProgramOutcome {
    run_with(p, prog, 1).unwrap_or_else(|e| panic!("run failed: {e}"))
}

fn coll(c: Collective) -> Op {
    Op::HCollective {
        coll: Arc::new(c),
        start: false,
    }
}

/// The words PE `pe` contributes: mixed signs and bits, different per PE and element.
fn words(pe: u32, n: usize) -> Vec<u64> {
    (0..n as u64)
        .map(|j| {
            let x = (pe as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (j << 17);
            if (pe as u64 + j).is_multiple_of(3) {
                x
            } else {
                x >> (j + 3)
            }
        })
        .collect()
}

/// Results of op `op` (0-based) of PE `pe`.
fn result(o: &ProgramOutcome, pe: u32, op: u32) -> Vec<u64> {
    o.values
        .iter()
        .filter(|v| v.0 == pe && v.1 == op)
        .map(|v| v.3)
        .collect()
}

/// One allreduce of every operation, then a reduction of a sum to PE 1.
fn reductions(npes: usize, n: usize) -> Program {
    let mut prog = Program::new(npes);
    for (pe, ops) in prog.ops.iter_mut().enumerate() {
        for op in ReduceOp::ALL {
            ops.push(coll(Collective::Reduce {
                root: None,
                op,
                words: words(pe as u32, n),
                var: None,
            }));
        }
        ops.push(coll(Collective::Reduce {
            root: Some(1),
            op: ReduceOp::Sum,
            words: words(pe as u32 + 7, n),
            var: None,
        }));
    }
    prog
}

fn expected(npes: usize, n: usize, op: ReduceOp, shift: u32) -> Vec<u64> {
    (0..n)
        .map(|j| {
            (0..npes as u32)
                .map(|pe| words(pe + shift, n)[j])
                .reduce(|a, b| op.apply(a, b))
                .unwrap_or(0)
        })
        .collect()
}

#[test]
fn allreduce_is_exact_for_every_op_on_2d_3d_4d_for_any_partitioning() {
    for shape in ["[4, 3]", "[3, 4, 2]", "[2, 3, 2, 2]"] {
        let p = params(shape, "");
        let npes = p.pes();
        let n = 5;
        let prog = reductions(npes, n);
        let serial = run(&p, &prog);
        for pe in 0..npes as u32 {
            for (k, op) in ReduceOp::ALL.into_iter().enumerate() {
                assert_eq!(
                    result(&serial, pe, k as u32),
                    expected(npes, n, op, 0),
                    "{shape}: PE {pe}, {}",
                    op.name()
                );
            }
            // The reduction to PE 1: only PE 1 gets the result.
            let r = result(&serial, pe, 6);
            if pe == 1 {
                assert_eq!(r, expected(npes, n, ReduceOp::Sum, 7), "{shape}");
            } else {
                assert!(r.is_empty(), "{shape}: PE {pe} got {r:?}");
            }
        }
        for parts in [2, 3] {
            let o = run_with(&p, &prog, parts).expect("parallel run");
            assert_eq!(o.values, serial.values, "{shape}: {parts} partitions");
            assert_eq!(o.end_cycle, serial.end_cycle, "{shape}: {parts} partitions");
            assert_eq!(o.cycles, serial.cycles, "{shape}: {parts} partitions");
            assert_eq!(
                o.stats.packets_delivered, serial.stats.packets_delivered,
                "{shape}: {parts} partitions"
            );
        }
    }
}

#[test]
fn program_statements_reduce_given_words() {
    let p = params("[3, 3]", "");
    let text = r#"
        [[pe]]
        pes = "all"
        ops = ["hallreduce sum [$me, 1, 0-$me]", "hreduce 4 min [$me - 3; 2]", "hstart hallreduce or [1 * ($me + 1)]", "compute 500", "hwait"]
    "#;
    let prog = Program::parse(text, p.pes(), p.clock_hz, &[]).expect("program");
    let o = run(&p, &prog);
    for pe in 0..9 {
        assert_eq!(result(&o, pe, 0), vec![36, 9, (-36i64) as u64]);
        assert_eq!(result(&o, pe, 2), vec![(1..=9u64).fold(0, |a, b| a | b)]);
    }
    assert_eq!(result(&o, 4, 1), vec![(-3i64) as u64; 2]);
}

#[test]
fn broadcast_delivers_every_byte_to_every_pe() {
    // 1000 bytes in packets of at most 96: ten packets, the last one of 40 bytes.
    for (shape, bytes) in [
        ("[4, 4]", 1000u64),
        ("[3, 2, 3]", 0),
        ("[5, 3]", 96 * 7 + 1),
    ] {
        let p = params(shape, "[node]\nmax_payload_bytes = 96\n");
        let npes = p.pes();
        let mut prog = Program::new(npes);
        for ops in &mut prog.ops {
            ops.push(coll(Collective::Broadcast { root: 2, bytes }));
            ops.push(coll(Collective::Broadcast {
                root: 5,
                bytes: 3 * bytes + 5,
            }));
        }
        let o = run(&p, &prog);
        for pe in 0..npes as u32 {
            assert_eq!(result(&o, pe, 0), vec![bytes], "{shape}: PE {pe}");
            assert_eq!(result(&o, pe, 1), vec![3 * bytes + 5], "{shape}: PE {pe}");
        }
        // Each packet crosses every tree edge once: (npes - 1) copies per packet.
        let packets = |b: u64| b.div_ceil(96).max(1);
        let tree_packets = (npes as u64 - 1) * (packets(bytes) + packets(3 * bytes + 5));
        let delivered_tree = o.stats.packets_delivered;
        assert_eq!(delivered_tree, tree_packets, "{shape}");
    }
}

#[test]
fn the_hardware_barrier_releases_no_pe_before_the_last_arrives() {
    let p = params("[4, 4, 2]", "");
    let text = r#"
        [[pe]]
        pes = "all"
        ops = ["compute 20 * ($me % 3)", "repeat 2 {", "compute 40000 * ($me == 13)", "mark arrive", "hbarrier", "mark leave", "}"]
    "#;
    let prog = Program::parse(
        &text.replace("($me == 13)", "(($me + 19) / 32 - ($me + 18) / 32)"),
        p.pes(),
        p.clock_hz,
        &[],
    )
    .expect("program");
    let o = run(&p, &prog);
    let id = |name: &str| prog.marks.iter().position(|m| m == name).unwrap() as u16;
    let (arrive, leave) = (id("arrive"), id("leave"));
    // Only PE 13 computes 40000 cycles before each barrier.
    let last = |k: usize| {
        o.marks
            .iter()
            .filter(|m| m.1 == arrive)
            .map(|m| m.2)
            .collect::<Vec<_>>()
            .chunks(2)
            .map(|c| c[k])
            .max()
            .unwrap()
    };
    let leaves: Vec<(u32, u64)> = o
        .marks
        .iter()
        .filter(|m| m.1 == leave)
        .map(|m| (m.0, m.2))
        .collect();
    assert_eq!(leaves.len(), 2 * p.pes());
    for (i, &(pe, t)) in leaves.iter().enumerate() {
        let round = i % 2;
        assert!(
            t > last(round) && t >= 40_000 * (round as u64 + 1),
            "PE {pe} left barrier {round} at {t}, before the last arrival at {}",
            last(round)
        );
    }
}

/// The zero-load latency of `hbarrier` from the model's parameters (see the README):
/// `T = T_in + C + 2 h (H + C) + T_out`.
fn barrier_formula(p: &Params, height: u64) -> u64 {
    let pcie = &p.node.pcie;
    let tlp = (pcie.wire_bytes(0) as u128 * pcie.den as u128).div_ceil(pcie.num as u128) as u64;
    let t_in = p.node.message_overhead + tlp + pcie.latency;
    let t_out = tlp + pcie.latency;
    let flits = (p.header_bytes as u64).div_ceil(p.flit_bytes as u64).max(1);
    let alloc = if p.pre_arbitration {
        p.vc_allocation.max(p.switch_allocation)
    } else {
        p.vc_allocation + p.switch_allocation
    };
    let router = p.header_analysis + p.route_computation + alloc + p.switch_traversal;
    let hop = p.injection_latency + 2 * router + p.link_latency + p.ejection_latency + flits - 1;
    let c = p.collectives.as_ref().unwrap().combine_delay;
    t_in + c + 2 * height * (hop + c) + t_out
}

/// The largest zero-load delay the formula leaves out: on the way up, packets of
/// siblings that meet at their parent's ejector; on the way down, the packets for the
/// siblings the engine sends first (at most children - 1 packets ahead, each way, per
/// level).
fn barrier_slack(p: &Params, tree: &Tree, nodes: usize) -> u64 {
    let flits = (p.header_bytes as u64).div_ceil(p.flit_bytes as u64).max(1);
    let kids = (0..nodes)
        .map(|v| tree.children(v).len())
        .max()
        .unwrap_or(1) as u64;
    2 * tree.height() as u64 * kids.saturating_sub(1) * flits
}

fn barrier_latency(p: &Params) -> u64 {
    let text = "[[pe]]\npes = \"all\"\nops = [\"hbarrier\", \"mark leave\"]\n";
    let prog = Program::parse(text, p.pes(), p.clock_hz, &[]).expect("program");
    let o = run(p, &prog);
    o.marks.iter().map(|m| m.2).max().unwrap()
}

fn asic(shape: &str, root: usize) -> Params {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/asic-3d.toml");
    let set = vec![
        format!("topology.shape={shape}"),
        format!("collectives.root={root}"),
        "collectives.combine_delay=\"10 ns\"".to_string(),
    ];
    load(&cfg, &set).expect("asic config").1
}

#[test]
fn zero_load_barrier_latency_matches_the_formula() {
    // Rings: the deeper branch of the root is served first and siblings never meet,
    // so the formula is exact.
    for (shape, height) in [("[2]", 1), ("[4]", 2), ("[6]", 3)] {
        let p = asic(shape, 0);
        let f = barrier_formula(&p, height);
        assert_eq!(barrier_latency(&p), f, "{shape}");
    }
    // Tori: within the stated slack.
    for (shape, root) in [
        ("[7]", 0),
        ("[4, 4, 4]", 0),
        ("[8, 8, 8]", 100),
        ("[4, 4, 2, 2]", 3),
    ] {
        let p = asic(shape, root);
        let t = Torus::from_params(&p);
        let tree = Tree::build(&t, root).unwrap();
        let f = barrier_formula(&p, tree.height() as u64);
        let m = barrier_latency(&p);
        let slack = barrier_slack(&p, &tree, t.nodes());
        assert!(
            (f..=f + slack).contains(&m),
            "{shape}: measured {m}, formula {f} + at most {slack}"
        );
    }
}

#[test]
fn mismatched_collectives_stall_with_a_report_naming_both() {
    let p = params("[3, 3]", "");
    let text = r#"
        [[pe]]
        pes = "0..3"
        ops = ["hbarrier"]
        [[pe]]
        pes = "4"
        ops = ["hallreduce sum [1]"]
        [[pe]]
        pes = "5..8"
        ops = ["hbarrier"]
    "#;
    let prog = Program::parse(text, 9, p.clock_hz, &[]).unwrap();
    let e = run_with(&p, &prog, 1).unwrap_err();
    let RunError::Sim(SimError::Stalled { waits, .. }) = &e else {
        panic!("expected a stall, got {e}");
    };
    let all = waits.join("\n");
    assert!(all.contains("mismatched collective #0"), "{all}");
    assert!(
        all.contains("hallreduce") && all.contains("hbarrier"),
        "{all}"
    );
    // A PE that never calls the collective: its tree parent names it.
    let text = "[[pe]]\npes = \"0..7\"\nops = [\"hbarrier\"]\n[[pe]]\npes = \"8\"\nops = [\"compute 10\"]\n";
    let prog = Program::parse(text, 9, p.clock_hz, &[]).unwrap();
    let e = run_with(&p, &prog, 1).unwrap_err().to_string();
    assert!(
        e.contains("waits in hbarrier (collective #0, tree 0): waits for the contribution of its tree child(ren) PE 8"),
        "{e}"
    );
}

#[test]
fn collectives_with_failed_nodes_span_the_live_nodes() {
    let p = params(
        "[4, 4]",
        "[routing]\nalgorithm = \"table\"\n[faults]\nnodes = [\"1,1\", \"3,2\"]\n",
    );
    assert_eq!(p.pes(), 14);
    let t = Torus::from_params(&p);
    let tree = Tree::build(&t, 1).unwrap();
    let spans: usize = (0..16)
        .filter(|&v| v == 1 || tree.parent(v).is_some())
        .count();
    assert_eq!(spans, 14);
    assert!(check_routing(&p, 2).unwrap().channels > 0);
    let text = "[[pe]]\npes = \"all\"\nops = [\"hbarrier\", \"hallreduce sum [1, $me]\", \"hbcast 13 300\"]\n";
    let prog = Program::parse(text, 14, p.clock_hz, &[]).unwrap();
    let o = run(&p, &prog);
    for pe in 0..14 {
        assert_eq!(result(&o, pe, 1), vec![14, 91], "PE {pe}");
        assert_eq!(result(&o, pe, 2), vec![300], "PE {pe}");
    }
    // A failed root is refused with the key named.
    let text = "[topology]\nshape = [4, 4]\n[routing]\nalgorithm = \"table\"\n[faults]\nnodes = [\"1,0\"]\n[collectives]\nroot = 1\n";
    let e = load_str(text, None, &[]).unwrap_err().to_string();
    assert!(e.contains("collectives.root"), "{e}");
}

#[test]
fn two_trees_alternate_and_agree() {
    let one = params("[4, 4]", "");
    let two = params("[4, 4]", "trees = 2\n");
    let prog = reductions(16, 3);
    let (a, b) = (run(&one, &prog), run(&two, &prog));
    assert_eq!(a.values, b.values);
    assert!(check_routing(&two, 2).unwrap().channels > check_routing(&one, 2).unwrap().channels);
}

#[test]
fn started_collectives_overlap_computation() {
    let p = params("[4, 4]", "");
    let prog = |start: &str| {
        let text = format!(
            "[[pe]]\npes = \"all\"\nops = [\"{start}hallreduce sum [$me; 64]\", \"compute 3000\", {}\"mark end\"]\n",
            if start.is_empty() { "" } else { "\"hwait\", " }
        );
        Program::parse(&text, 16, p.clock_hz, &[]).unwrap()
    };
    let (blocking, overlapped) = (run(&p, &prog("")), run(&p, &prog("hstart ")));
    assert_eq!(blocking.values, overlapped.values);
    assert_eq!(result(&blocking, 0, 0), vec![120; 64]);
    // Most of the allreduce's time hides behind the computation.
    let alone = blocking.end_cycle - 3000;
    assert!(
        overlapped.end_cycle < 3000 + alone / 4,
        "{} vs {}",
        overlapped.end_cycle,
        blocking.end_cycle
    );
}

#[test]
fn collectives_need_the_config_section() {
    let text = "[topology]\nshape = [3, 3]\n[router]\nvirtual_channels = 4\n";
    let p = load_str(text, None, &[]).unwrap().1;
    let prog = Program::parse(
        "[[pe]]\npes = \"all\"\nops = [\"hbarrier\"]\n",
        9,
        p.clock_hz,
        &[],
    )
    .unwrap();
    let e = run_with(&p, &prog, 1).unwrap_err().to_string();
    assert!(e.contains("[collectives]"), "{e}");
}

#[test]
fn bad_collectives_keys_are_named() {
    let e = |extra: &str| {
        let text = format!("[topology]\nshape = [3, 3]\n[collectives]\n{extra}");
        load_str(&text, None, &[]).unwrap_err().to_string()
    };
    assert!(e("trees = 5\n").contains("collectives.trees"));
    assert!(e("root = 9\n").contains("collectives.root"));
    assert!(e("combine_delay = 0\n").contains("collectives.combine_delay"));
    assert!(e("roots = [1]\n").contains("roots"));
}

/// Four words per PE, different per PE and word, some negative.
const VAR_INIT: &str = r#"v = { words = 4, init = ["$me * 3 + 1", "50 - $me * 7", "$me % 5", "($me * 13) % 11 - 4"] }
w = "$me + 100"
"#;

fn var_init(pe: i64) -> [u64; 4] {
    [pe * 3 + 1, 50 - pe * 7, pe % 5, (pe * 13) % 11 - 4].map(|x| x as u64)
}

fn var_program(npes: usize, ops: &str, clock: f64) -> Program {
    let text = format!("[variables]\n{VAR_INIT}\n[[pe]]\npes = \"all\"\nops = [{ops}]\n");
    Program::parse(&text, npes, clock, &[]).expect("program")
}

#[test]
fn reductions_of_variables_write_the_exact_result_into_every_copy() {
    let p = params("[4, 3, 2]", "");
    let npes = p.pes();
    for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max, ReduceOp::Xor] {
        let prog = var_program(npes, &format!("\"hallreduce v {}\"", op.name()), p.clock_hz);
        let want: Vec<u64> = (0..4)
            .map(|j| {
                (0..npes as i64)
                    .map(|pe| var_init(pe)[j])
                    .reduce(|a, b| op.apply(a, b))
                    .unwrap()
            })
            .collect();
        let serial = run(&p, &prog);
        for pe in 0..npes {
            // `v` holds the reduction; `w` (declared after it) is untouched.
            assert_eq!(
                serial.variables[pe][..4],
                want[..],
                "{}: PE {pe}",
                op.name()
            );
            assert_eq!(serial.variables[pe][4], pe as u64 + 100);
            assert_eq!(result(&serial, pe as u32, 0), want);
        }
        let o = run_with(&p, &prog, 3).expect("parallel run");
        assert_eq!(o.variables, serial.variables, "{}: 3 partitions", op.name());
        assert_eq!(o.end_cycle, serial.end_cycle, "{}: 3 partitions", op.name());
    }
}

#[test]
fn a_reduction_of_a_variable_to_one_pe_changes_only_its_copy() {
    let p = params("[4, 3, 2]", "");
    let npes = p.pes();
    let prog = var_program(npes, "\"hreduce 2 v max\"", p.clock_hz);
    let o = run(&p, &prog);
    let max: Vec<u64> = (0..4)
        .map(|j| {
            (0..npes as i64)
                .map(|pe| var_init(pe)[j] as i64)
                .max()
                .unwrap() as u64
        })
        .collect();
    for pe in 0..npes {
        let want = if pe == 2 {
            max.clone()
        } else {
            var_init(pe as i64).to_vec()
        };
        assert_eq!(o.variables[pe][..4], want[..], "PE {pe}");
    }
    assert_eq!(o.variables, run_with(&p, &prog, 3).unwrap().variables);
}

#[test]
fn a_started_reduction_of_a_variable_lands_when_it_completes() {
    let p = params("[4, 3, 2]", "");
    let npes = p.pes();
    let sum0: i64 = (0..npes as i64).map(|pe| pe * 3 + 1).sum();
    // Right after `hstart` the copy is unchanged; long after, it holds the sum, before
    // the PE waits. A value written after it landed stays: `hwait` writes nothing.
    let ops = format!(
        "\"hstart hallreduce v sum\", \"if @v[0] == $me * 3 + 1 {{\", \"mark before\", \"}}\", \"compute 5000\", \"if @v[0] == {sum0} {{\", \"mark landed\", \"}}\", \"set $me v[1] 77\", \"hwait\""
    );
    let prog = var_program(npes, &ops, p.clock_hz);
    let o = run(&p, &prog);
    for pe in 0..npes as u32 {
        let marks: Vec<u16> = o.marks.iter().filter(|m| m.0 == pe).map(|m| m.1).collect();
        assert_eq!(marks, vec![0, 1], "PE {pe}: marks before and landed");
        let v = &o.variables[pe as usize];
        assert_eq!((v[0], v[1]), (sum0 as u64, 77), "PE {pe}");
    }
    assert_eq!(o.variables, run_with(&p, &prog, 3).unwrap().variables);
}

#[test]
fn a_reduction_of_an_unknown_variable_is_named() {
    let text = "[variables]\nv = 0\n[[pe]]\npes = \"all\"\nops = [\"hallreduce w sum\"]\n";
    let e = Program::parse(text, 4, 1e9, &[]).unwrap_err().to_string();
    assert!(
        e.contains("unknown variable `w`") && e.contains("hallreduce w sum"),
        "{e}"
    );
}

/// `torsim collectives` measures every benchmark at every node count that fits each
/// config, writes the documented CSV columns and JSON keys and both plots, and the
/// tree barrier beats the software one.
#[test]
fn the_collectives_command_writes_its_table_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.json");
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_torsim"))
        .args([
            "collectives",
            "configs/asic-3d.toml",
            "configs/asic-4d.toml",
            "--nodes",
            "8,64",
            "--sizes",
            "8,512",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--out-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // 8 nodes cannot span 4 dimensions: that point is skipped with a note.
    assert!(String::from_utf8_lossy(&r.stderr).contains("cannot form a 4D torus"));
    let csv = std::fs::read_to_string(dir.path().join("c.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |k: &str| head.iter().position(|h| *h == k).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let keys: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[col("config")].to_string(),
                r[col("nodes")].to_string(),
                r[col("benchmark")].to_string(),
                r[col("bytes")].to_string(),
            )
        })
        .collect();
    let mut want = Vec::new();
    for (c, nodes) in [("asic-3d", &["8", "64"][..]), ("asic-4d", &["64"][..])] {
        for n in nodes {
            for (b, bytes) in [
                ("barrier-software", "0"),
                ("barrier-hardware", "0"),
                ("allreduce-hardware", "8"),
                ("allreduce-hardware", "512"),
            ] {
                want.push((c.into(), n.to_string(), b.into(), bytes.into()));
            }
        }
    }
    assert_eq!(keys, want);
    let latency = |c: &str, n: &str, b: &str, bytes: &str| -> u64 {
        let r = rows
            .iter()
            .find(|r| {
                r[col("config")] == c
                    && r[col("nodes")] == n
                    && r[col("benchmark")] == b
                    && r[col("bytes")] == bytes
            })
            .unwrap();
        r[col("latency_cycles")].parse().unwrap()
    };
    for c in ["asic-3d", "asic-4d"] {
        let (sw, hw) = (
            latency(c, "64", "barrier-software", "0"),
            latency(c, "64", "barrier-hardware", "0"),
        );
        assert!(
            hw > 0 && hw < sw,
            "{c}: hbarrier {hw} vs barrier {sw} cycles"
        );
        assert!(
            latency(c, "64", "allreduce-hardware", "512")
                > latency(c, "64", "allreduce-hardware", "8")
        );
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let pts = v["points"].as_array().unwrap();
    assert_eq!(pts.len(), want.len());
    for k in [
        "config",
        "dims",
        "nodes",
        "live_nodes",
        "shape",
        "tree_height",
        "benchmark",
        "bytes",
        "latency_cycles",
        "latency_seconds",
    ] {
        assert!(pts.iter().all(|p| !p[k].is_null()), "missing {k}");
    }
    assert_eq!(v["skipped_points"].as_array().unwrap().len(), 1);
    assert_eq!(v["configs"].as_array().unwrap().len(), 2);
    for f in ["c-barrier.svg", "c-allreduce.svg"] {
        assert!(dir.path().join(f).exists(), "{f} not written");
    }
}
