//! ShmemPE node model: SHMEM semantics on the simulated network, and validation against
//! the prototype's measured figures.

use std::path::Path;
use torsim::config::{Params, load, load_str};
use torsim::engine::comm::LocalComm;
use torsim::engine::sim::RunOptions;
use torsim::experiment::phases::ProgramOutcome;
use torsim::experiment::run::{RunError, check_routing, run_program};
use torsim::node::op::Op;
use torsim::traffic::program::Program;

/// A test machine: 4 VCs (two dateline classes for each of the two subnetworks).
fn params(extra: &str, shape: &str) -> Params {
    let router = if extra.contains("[router]") {
        ""
    } else {
        "[router]\nvirtual_channels = 4\nbuffer_flits = 64\n"
    };
    let text = format!("[topology]\nshape = {shape}\n{router}{extra}");
    load_str(&text, None, &[]).expect("test config").1
}

fn run(p: &Params, prog: &Program) -> Result<ProgramOutcome, RunError> {
    let opts = RunOptions {
        check: true,
        ..Default::default()
    };
    run_program(p, prog, &opts, Box::new(LocalComm), false, &mut |_| {})
}

fn mark_times(o: &ProgramOutcome, prog: &Program, name: &str) -> Vec<(u32, u64)> {
    let id = prog
        .marks
        .iter()
        .position(|m| m == name)
        .expect("mark exists") as u16;
    o.marks
        .iter()
        .filter(|m| m.1 == id)
        .map(|m| (m.0, m.2))
        .collect()
}

/// A small deterministic generator for test programs (not the simulator's RNG).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn barrier_waits_for_everyone_and_every_earlier_put() {
    // Each PE computes for a random time, sends random puts (flag 1 on landing), marks
    // `arrive`, enters the barrier and marks `leave`, then consumes one flag-1 signal per
    // put it receives and marks `got`. The barrier is correct iff no PE leaves before the
    // last PE arrived, and every put had landed when it left (`got` == `leave`: no wait).
    // Eight VCs give each (subnetwork, dateline class) two VCs, so a barrier token can
    // overtake data on the same path; without the quiet the check below fails.
    for seed in 1..=4u64 {
        let p = params(
            "[router]\nvirtual_channels = 8\nbuffer_flits = 64\n",
            "[8, 2]",
        );
        let n = p.nodes();
        let mut rng = Lcg(seed);
        let mut prog = Program::new(n);
        let (arrive, leave, got) = (
            prog.mark_id("arrive"),
            prog.mark_id("leave"),
            prog.mark_id("got"),
        );
        let mut incoming = vec![0u64; n];
        for pe in 0..n {
            let ops = &mut prog.ops[pe];
            ops.push(Op::Compute {
                cycles: rng.next(3000),
            });
            for _ in 0..rng.next(6) {
                let dest = rng.next(n as u64) as u32;
                let bytes = rng.next(60_000);
                ops.push(Op::Put {
                    dest,
                    bytes,
                    flag: Some(1),
                });
                incoming[dest as usize] += 1;
            }
            ops.push(Op::Mark { id: arrive });
        }
        for (pe, &count) in incoming.iter().enumerate() {
            let ops = &mut prog.ops[pe];
            ops.push(Op::Barrier);
            ops.push(Op::Mark { id: leave });
            for _ in 0..count {
                ops.push(Op::Wait { flag: 1 });
            }
            ops.push(Op::Mark { id: got });
        }
        let o = run(&p, &prog).expect("runs");
        let last_arrival = mark_times(&o, &prog, "arrive")
            .iter()
            .map(|m| m.1)
            .max()
            .unwrap();
        let leaves = mark_times(&o, &prog, "leave");
        let gots = mark_times(&o, &prog, "got");
        assert_eq!(leaves.len(), n);
        for (&(pe, l), &(_, g)) in leaves.iter().zip(&gots) {
            assert!(
                l >= last_arrival,
                "seed {seed}: PE {pe} left at {l} before the last arrival {last_arrival}"
            );
            assert_eq!(
                g, l,
                "seed {seed}: PE {pe} left the barrier before its puts had all landed"
            );
        }
    }
}

#[test]
fn put_sizes_zero_large_and_to_self() {
    let p = params("[node]\nmax_payload_bytes = 128\n", "[3, 3]");
    let mut prog = Program::new(p.nodes());
    // 0 bytes: one header-only packet; 1000 bytes: ceil(1000/128) = 8 packets; to self:
    // no packet, but the flag is set at once.
    prog.ops[0] = vec![
        Op::Put {
            dest: 1,
            bytes: 0,
            flag: Some(0),
        },
        Op::Put {
            dest: 2,
            bytes: 1000,
            flag: Some(0),
        },
        Op::Put {
            dest: 0,
            bytes: 500,
            flag: Some(3),
        },
        Op::Wait { flag: 3 },
        Op::Quiet,
    ];
    prog.ops[1] = vec![Op::Wait { flag: 0 }];
    prog.ops[2] = vec![Op::Wait { flag: 0 }];
    let o = run(&p, &prog).expect("runs");
    // Data packets 1 + 8, one acknowledgement per remote put: 2.
    assert_eq!(o.stats.packets_delivered, 1 + 8 + 2);
    assert_eq!(o.stats.payload_bytes_delivered, 1000);
}

#[test]
fn get_returns_exactly_the_requested_volume() {
    let p = params("[node]\nmax_payload_bytes = 100\n", "[4, 4]");
    for bytes in [0u64, 1, 99, 100, 101, 12_345] {
        let mut prog = Program::new(p.nodes());
        let mark = prog.mark_id("done");
        prog.ops[5] = vec![Op::Get { dest: 10, bytes }, Op::Mark { id: mark }];
        let o = run(&p, &prog).expect("runs");
        assert_eq!(
            o.stats.payload_bytes_delivered, bytes,
            "get of {bytes} bytes"
        );
        // One request plus ceil(bytes/100) (at least 1) response packets.
        assert_eq!(o.stats.packets_delivered, 1 + bytes.div_ceil(100).max(1));
        assert_eq!(mark_times(&o, &prog, "done").len(), 1);
    }
}

#[test]
fn heavy_get_traffic_does_not_deadlock() {
    // Every PE reads large blocks from several others at once, on a torus with small
    // buffers: requests and responses meet in every router. Responses travel on their
    // own subnetwork, so the run must complete (the watchdog would report a deadlock).
    let p = params(
        "[router]\nvirtual_channels = 2\nbuffer_flits = 40\n[routing]\ndeadlock_avoidance = \"bubble\"\n[node]\nmax_payload_bytes = 128\n[simulation]\nwatchdog_cycles = 20000\n",
        "[4, 4]",
    );
    let text = "[params]\nn = 6\n[[pe]]\npes = \"all\"\nops = [\"repeat $n {\", \"get ($me + 5) % $npes 20000\", \"get ($me * 3 + 1) % $npes 20000\", \"}\", \"barrier\"]\n";
    let prog = Program::parse(text, p.nodes(), p.clock_hz, &[]).expect("program");
    let o = run(&p, &prog).expect("heavy get traffic completes");
    assert!(o.stats.payload_bytes_delivered >= 16 * 6 * 20000);
}

#[test]
fn the_deadlock_check_covers_both_subnetworks() {
    // One VC per subnetwork without bubble flow control has ring cycles in each class
    // (on 6-rings: on 4-rings balanced ties keep every packet within two hops of a
    // ring, which closes no cycle).
    let p = params(
        "[router]\nvirtual_channels = 2\n[routing]\ndeadlock_avoidance = \"none\"\n",
        "[6, 6]",
    )
    .for_programs()
    .expect("two VCs split into two classes");
    assert!(check_routing(&p, 2).is_err());
    let prog = Program::new(p.nodes());
    assert!(matches!(run(&p, &prog), Err(RunError::UnsafeRouting(_))));
    // Dateline needs 2 VCs per class: 2 VCs cannot carry two classes.
    let q = params("[router]\nvirtual_channels = 2\n", "[4, 4]");
    assert!(q.for_programs().is_err());
}

#[test]
fn a_program_that_waits_forever_is_reported() {
    let p = params("", "[3, 3]");
    let mut prog = Program::new(p.nodes());
    prog.ops[4] = vec![Op::Wait { flag: 2 }];
    match run(&p, &prog) {
        Err(RunError::Sim(e)) => {
            let m = e.to_string();
            assert!(m.contains("PE 4") && m.contains("flag 2"), "{m}");
        }
        other => panic!("expected a stall report, got {other:?}"),
    }
}

#[test]
fn bad_program_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[[pe]]\npes = \"0\"\nops = [\"put 1\"]\n", "expected `put"),
        (
            "[[pe]]\npes = \"0\"\nops = [\"repeat 3 {\"]\n",
            "never closed",
        ),
        ("[[pe]]\npes = \"0..99\"\nops = []\n", "range"),
        (
            "[[pe]]\npes = \"0\"\nops = [\"put $x 8\"]\n",
            "unknown parameter",
        ),
        (
            "[[pe]]\npes = \"0\"\nops = [\"fly 3\"]\n",
            "unknown statement",
        ),
        ("[[pe]\n", "line 1"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("p{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let e = Program::load(&path, 9, 1e9, &[]).unwrap_err().0;
        assert!(
            e.contains(want) && e.contains(&format!("p{i}.toml")),
            "case {i}: {e}"
        );
    }
    // Through the CLI: exit code 1 and a one-line reason, no panic.
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[topology]\nshape = [3, 3]\n[router]\nvirtual_channels = 4\n[workload]\nprogram = \"p0.toml\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_torsim"))
        .arg("run")
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.starts_with("torsim:") && err.contains("expected `put") && !err.contains("panicked"),
        "{err}"
    );
}

fn validation(reference: &str, config: Option<&str>) {
    // Tolerances come from the reference file itself, so a change that degrades fidelity
    // fails here.
    let r = torsim::experiment::validate::Reference::load(Path::new(reference)).expect("reference");
    let cfg = config.map(str::to_string).unwrap_or_else(|| {
        Path::new(reference)
            .parent()
            .unwrap()
            .join(r.config.as_ref().unwrap())
            .display()
            .to_string()
    });
    let (_, p) = load(Path::new(&cfg), &[]).expect("config");
    let rows = torsim::experiment::validate::validate(&p, &r, &Default::default()).expect("runs");
    assert_eq!(rows.len(), r.metric.len());
    for row in &rows {
        assert!(
            row.ok,
            "{}: simulated {:.3} vs {:.3} {} ({:+.2}%)",
            row.benchmark, row.simulated, row.reference, row.unit, row.deviation_percent
        );
    }
}

#[test]
fn prototype_figures_within_tolerance() {
    validation("validation/prototype-3x3.toml", None);
}

#[test]
fn asic_plan_figures_met() {
    validation("validation/asic-plan.toml", None);
}

/// With a failed node the live nodes are renumbered as PEs 0..p-1: a ring of puts and
/// a barrier over the 8 live PEs of a 3x3 torus complete, every PE reports its marks
/// under its PE number, and the volume is the ring's.
#[test]
fn programs_run_on_the_live_pes_of_a_torus_with_a_failed_node() {
    let p = params(
        "[routing]\nalgorithm = \"table\"\n[faults]\nnodes = [\"1,1\"]\n",
        "[3, 3]",
    );
    assert_eq!((p.nodes(), p.pes()), (9, 8));
    // A program for 9 PEs does not fit the 8 live ones.
    let nine = Program::parse(
        "[[pe]]\npes = \"all\"\nops = [\"barrier\"]\n",
        9,
        p.clock_hz,
        &[],
    )
    .expect("program");
    let e = run(&p, &nine).expect_err("9 PEs on 8 live nodes");
    assert!(e.to_string().contains("8 live nodes (1 failed)"), "{e}");
    let text = "[[pe]]\npes = \"all\"\nops = [\"mark start\", \"put ($me + 1) % $npes 1000\", \"barrier\", \"mark end\"]\n";
    let prog = Program::parse(text, p.pes(), p.clock_hz, &[]).expect("program");
    let o = run(&p, &prog).expect("the program completes on the live PEs");
    let ends = mark_times(&o, &prog, "end");
    let pes: Vec<u32> = ends.iter().map(|m| m.0).collect();
    assert_eq!(pes, (0..8).collect::<Vec<u32>>(), "marks are per PE");
    assert_eq!(o.stats.payload_bytes_delivered, 8 * 1000);
}

/// `node.put_completion`: PE 0 puts a 40-packet message and then marks `returned`.
/// PCIe is unlimited and there is no per-message overhead, so the host side of the put
/// is done within a cycle, while the adapter needs 9 cycles per packet (one flit per
/// cycle) to inject it. A posted put returns before the last packet even starts; an
/// injected (blocking) put returns no earlier than the cycle that packet's tail leaves
/// the adapter. The packets' injection cycles come from a packet trace: each of PE 0's
/// packets has one record at its own router, with the cycle its head left the adapter.
#[test]
fn injected_puts_return_once_their_last_packet_is_in_the_network() {
    use torsim::core::flit::split_packet_id;
    use torsim::stats::trace::TraceSpec;
    let mut returned_at = Vec::new();
    for mode in ["posted", "injected"] {
        let p = params(
            &format!(
                "[network]\nflit_bytes = 16\nheader_bytes = 16\n\
                 [node]\nmax_payload_bytes = 128\nput_completion = \"{mode}\"\n"
            ),
            "[4, 4]",
        );
        let mut prog = Program::new(p.nodes());
        let returned = prog.mark_id("returned");
        prog.ops[0] = vec![
            Op::Put {
                dest: 1,
                bytes: 40 * 128,
                flag: None,
            },
            Op::Mark { id: returned },
            Op::Quiet,
        ];
        let opts = RunOptions {
            check: true,
            trace: Some(TraceSpec {
                limit: 1000,
                window: (0, u64::MAX),
            }),
            ..Default::default()
        };
        let o =
            run_program(&p, &prog, &opts, Box::new(LocalComm), false, &mut |_| {}).expect("runs");
        let trace = o.stats.trace.as_ref().expect("a trace was requested");
        let first_hops: Vec<_> = trace
            .hops
            .iter()
            .filter(|h| h.node == 0 && split_packet_id(h.packet).0 == 0)
            .collect();
        assert_eq!(first_hops.len(), 40, "{mode}: one record per packet");
        assert!(
            first_hops.iter().all(|h| h.len == 9),
            "{mode}: 9-flit packets"
        );
        let last_head = first_hops.iter().map(|h| h.injected).max().unwrap();
        // A packet's flits leave one per cycle at most: the tail no earlier than this.
        let last_tail = first_hops
            .iter()
            .map(|h| h.injected + u64::from(h.len) - 1)
            .max()
            .unwrap();
        let t = mark_times(&o, &prog, "returned")[0].1;
        if mode == "injected" {
            assert!(
                t >= last_tail,
                "injected: returned at {t}, last tail left at {last_tail} or later"
            );
        } else {
            assert!(
                t < last_head,
                "posted: returned at {t}, not before the last packet started at {last_head}"
            );
        }
        returned_at.push(t);
    }
    assert!(returned_at[1] > returned_at[0] + 300, "{returned_at:?}");
}
