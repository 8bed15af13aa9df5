//! Messages far larger than any narrow protocol field: a put and a get of 100 MB, cut
//! into more than 65,536 packets each, complete at the bandwidth of their bottleneck,
//! signal and acknowledge exactly once, and keep the adapter's memory bounded.

use torsim::config::{Params, load_str};
use torsim::engine::comm::LocalComm;
use torsim::engine::sim::RunOptions;
use torsim::experiment::run::run_program;
use torsim::node::op::Op;
use torsim::traffic::program::Program;

const BYTES: u64 = 100_000_000;

/// A 4-node ring whose PCIe (4 bytes per cycle) is much slower than its links (64 bytes
/// per cycle), so PCIe sets the pace of a long message.
fn params() -> Params {
    let text = r#"
[topology]
shape = [4]
[network]
clock = "1 GHz"
flit_bytes = 64
[router]
virtual_channels = 4
buffer_flits = 64
[node]
max_payload_bytes = 1024
[node.pcie]
rate = "32 Gbit/s"
"#;
    load_str(text, None, &[]).expect("test config").1
}

/// Cycles PCIe needs to move `bytes` as packets of `node.max_payload_bytes`, with the
/// per-TLP overheads.
fn pcie_cycles(p: &Params, bytes: u64) -> f64 {
    let max = p.node.max_payload as u64;
    let pcie = &p.node.pcie;
    let full = bytes / max;
    let wire = full * pcie.wire_bytes(max) + pcie.wire_bytes(bytes % max);
    wire as f64 * pcie.den as f64 / pcie.num as f64
}

/// Peak resident memory of this process in kB (Linux), to show that a message's
/// packets are not all held at once.
fn peak_rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_put_and_a_get_of_100_mb_complete_at_pcie_speed_with_bounded_memory() {
    let p = params();
    assert!(
        BYTES / p.node.max_payload as u64 > 65_536,
        "the message must need more packets than a 16-bit count holds"
    );
    let mut prog = Program::new(p.nodes());
    let [start, put_done, get_done, landed] =
        ["start", "put-done", "get-done", "landed"].map(|m| prog.mark_id(m));
    prog.ops[0] = vec![
        Op::Mark { id: start },
        Op::Put {
            dest: 2,
            bytes: BYTES,
            flag: Some(3),
        },
        Op::Quiet,
        Op::Mark { id: put_done },
        Op::Get {
            dest: 2,
            bytes: BYTES,
        },
        Op::Mark { id: get_done },
    ];
    prog.ops[2] = vec![
        Op::Wait { flag: 3 },
        Op::Mark { id: landed },
        Op::Wait { flag: 3 },
    ];
    // The second wait on PE 2 must never be satisfied: one put signals once. Run the
    // program without it first.
    let mut once = prog.clone();
    once.ops[2].pop();
    let run = |prog: &Program| {
        // Without the exactly-once check, which keeps every packet id (and so grows
        // with the message by design).
        run_program(
            &p,
            prog,
            &RunOptions::default(),
            Box::new(LocalComm),
            false,
            &mut |_| {},
        )
    };
    // A run of a tenth of the size first, so that what does not grow with the message
    // (buffers, histograms) has reached its peak before the measured run.
    let mut small = once.clone();
    for op in small.ops.iter_mut().flatten() {
        if let Op::Put { bytes, .. } | Op::Get { bytes, .. } = op {
            *bytes /= 10;
        }
    }
    run(&small).expect("the 10 MB put and get complete");
    let rss_before = peak_rss_kb();
    let o = run(&once).expect("the 100 MB put and get complete");
    let rss_after = peak_rss_kb();
    let at = |id: u16| {
        o.marks
            .iter()
            .find(|m| m.1 == id)
            .map(|m| m.2)
            .expect("mark recorded")
    };
    let ideal = pcie_cycles(&p, BYTES);
    let put = (at(put_done) - at(start)) as f64;
    let get = (at(get_done) - at(put_done)) as f64;
    // Both cross PCIe twice (sender's host to adapter, receiver's adapter to memory),
    // pipelined: one crossing's time plus start-up and the last packet's latency.
    for (what, t) in [("put", put), ("get", get)] {
        assert!(
            t >= ideal && t <= ideal * 1.01,
            "{what} took {t} cycles; PCIe alone needs {ideal}"
        );
    }
    // The flag is raised once the whole message has landed: after PCIe could have moved
    // it, and before the acknowledgement reached the sender.
    let landed_at = at(landed);
    assert!(landed_at as f64 >= at(start) as f64 + ideal && landed_at <= at(put_done));
    // Payload delivered: exactly the two messages (the put's data and the get's data).
    assert_eq!(o.stats.payload_bytes_delivered, 2 * BYTES);
    // Holding a descriptor for every packet of the message at once would take some
    // 6 MB (97,657 packets of 48 bytes, in a queue that doubles as it grows) more than
    // the tenth-size run did.
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        assert!(
            b.saturating_sub(a) < 1024,
            "peak memory grew by {} kB",
            b - a
        );
    }

    // With the second wait, PE 2 waits forever: the run is a stall, not a success.
    match run(&prog) {
        Ok(_) => panic!("a second signal from one put would be a protocol bug"),
        Err(err) => assert!(err.to_string().contains("flag 3"), "{err}"),
    }
}
