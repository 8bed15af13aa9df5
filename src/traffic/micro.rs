//! Microbenchmarks that mirror the measurements of the prototype, as node programs.
//!
//! Each builds a [`Program`] for the whole machine and turns the marks it records into
//! one figure. What is counted:
//! - `neighbor-latency`: PE 0 and its +x neighbour ping-pong `bytes`-byte puts with a
//!   flag; latency = elapsed / (2 x iterations): the half round trip, end to end
//!   (processor to processor, PCIe both ways), as SHMEM latency is usually quoted.
//! - `hop-latency`: the same ping-pong from PE 0 to PEs 1, 2, ... hops away along +x,
//!   then +y; the figure is the least-squares slope of latency against hops.
//! - `link-bandwidth`: PE 0 streams large puts to its +x neighbour and quiets; payload
//!   bytes / elapsed.
//! - `ejection-bandwidth`: every network neighbour of PE 0 streams large puts into PE 0
//!   at once; total payload bytes / time from the common start to the last completion.
//! - `message-rate`: PE 0 issues 8-byte puts to its neighbours in turn and quiets;
//!   messages / elapsed. This is the rate one processor can push small messages into
//!   the network, which the adapter's per-message cost bounds; sending to all
//!   neighbours keeps one link's bandwidth out of the figure, as a message-rate test
//!   is meant to.
//! - `atomic-latency`: PE 0 issues fetch-and-adds, one after the other, to a counter on
//!   its +x neighbour; latency = elapsed / iterations: the whole round trip of a
//!   fetching atomic (request over PCIe and the network, execution at the target's
//!   adapter, the old value back into PE 0's memory), as atomic latency is quoted.
//! - `atomic-rate`: every network neighbour of PE 0 issues fetch-and-adds to one
//!   counter on PE 0 at once; atomics / time from the common start to the last
//!   completion. The target's adapter executes atomics to one variable one at a time,
//!   so with enough requesters the figure is its rate, 1 / `node.atomic_latency`.

use super::program::Program;
use crate::node::atomic::AtomicKind;
use crate::node::expr::Expr;
use crate::node::op::{AtomicOp, Op};
use crate::topology::Torus;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Micro {
    NeighborLatency,
    HopLatency,
    LinkBandwidth,
    EjectionBandwidth,
    MessageRate,
    AtomicLatency,
    AtomicRate,
}

impl Micro {
    pub const ALL: [Micro; 7] = [
        Micro::MessageRate,
        Micro::NeighborLatency,
        Micro::HopLatency,
        Micro::LinkBandwidth,
        Micro::EjectionBandwidth,
        Micro::AtomicLatency,
        Micro::AtomicRate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Micro::NeighborLatency => "neighbor-latency",
            Micro::HopLatency => "hop-latency",
            Micro::LinkBandwidth => "link-bandwidth",
            Micro::EjectionBandwidth => "ejection-bandwidth",
            Micro::MessageRate => "message-rate",
            Micro::AtomicLatency => "atomic-latency",
            Micro::AtomicRate => "atomic-rate",
        }
    }

    pub fn parse(s: &str) -> Option<Micro> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Unit of the figure [`Micro::evaluate`] returns.
    pub fn unit(self) -> &'static str {
        match self {
            Micro::NeighborLatency | Micro::HopLatency | Micro::AtomicLatency => "us",
            Micro::LinkBandwidth | Micro::EjectionBandwidth => "MB/s",
            Micro::MessageRate => "M messages/s",
            Micro::AtomicRate => "M atomics/s",
        }
    }
}

/// Sizes and counts of the benchmarks.
#[derive(Clone, Copy, Debug)]
pub struct MicroParams {
    pub latency_bytes: u64,
    pub latency_iterations: u64,
    pub stream_bytes: u64,
    pub stream_messages: u64,
    pub rate_bytes: u64,
    pub rate_messages: u64,
}

impl Default for MicroParams {
    fn default() -> Self {
        MicroParams {
            latency_bytes: 8,
            latency_iterations: 50,
            stream_bytes: 16 * 1024,
            stream_messages: 64,
            rate_bytes: 8,
            rate_messages: 4000,
        }
    }
}

fn ping_pong(prog: &mut Program, a: usize, b: usize, bytes: u64, n: u64, tag: &str) {
    let start = prog.mark_id(&format!("{tag}-start"));
    let end = prog.mark_id(&format!("{tag}-end"));
    let ops_a = &mut prog.ops[a];
    ops_a.push(Op::Mark { id: start });
    ops_a.push(Op::Repeat { count: n, end: 0 });
    let r = ops_a.len() - 1;
    ops_a.push(Op::Put {
        dest: b as u32,
        bytes,
        flag: Some(0),
    });
    ops_a.push(Op::Wait { flag: 0 });
    ops_a.push(Op::EndRepeat { start: r as u32 });
    let e = ops_a.len() - 1;
    ops_a[r] = Op::Repeat {
        count: n,
        end: e as u32,
    };
    ops_a.push(Op::Mark { id: end });
    let ops_b = &mut prog.ops[b];
    ops_b.push(Op::Repeat { count: n, end: 0 });
    let r = ops_b.len() - 1;
    ops_b.push(Op::Wait { flag: 0 });
    ops_b.push(Op::Put {
        dest: a as u32,
        bytes,
        flag: Some(0),
    });
    ops_b.push(Op::EndRepeat { start: r as u32 });
    let e = ops_b.len() - 1;
    ops_b[r] = Op::Repeat {
        count: n,
        end: e as u32,
    };
}

/// `n` fetch-and-adds of 1 from PE `src` to word 0 of `var` on PE `dest`, between marks
/// `start` and `end`.
fn fetch_adds(prog: &mut Program, src: usize, dest: usize, n: u64, start: u16, end: u16) {
    let fadd = Op::Atomic(Box::new(AtomicOp {
        kind: AtomicKind::Fadd,
        dest: Expr::Const(dest as i64),
        var: 0,
        word: Expr::Const(0),
        a: Expr::Const(1),
        b: Expr::Const(0),
        result: Some(0),
    }));
    let ops = &mut prog.ops[src];
    ops.push(Op::Mark { id: start });
    let r = ops.len() as u32;
    ops.push(Op::Repeat {
        count: n,
        end: r + 2,
    });
    ops.push(fadd);
    ops.push(Op::EndRepeat { start: r });
    ops.push(Op::Mark { id: end });
}

/// PEs 1, 2, ... hops from PE 0 on a minimal path: along +x, then +y, ...
pub fn hop_targets(t: &Torus) -> Vec<usize> {
    let mut out = Vec::new();
    let mut c = vec![0usize; t.dims()];
    for d in 0..t.dims() {
        for _ in 0..t.shape()[d] / 2 {
            c[d] += 1;
            out.push(t.node_at(&c));
        }
    }
    out
}

/// Distinct network neighbours of `node`.
pub fn neighbors(t: &Torus, node: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..t.network_ports())
        .map(|p| t.neighbor(node, p))
        .collect();
    v.sort_unstable();
    v.dedup();
    v.retain(|&n| n != node);
    v
}

/// The program of benchmark `m` on torus `t`.
pub fn program(m: Micro, t: &Torus, mp: &MicroParams) -> Program {
    let mut prog = Program::new(t.nodes());
    let first = t.neighbor(0, 0);
    match m {
        Micro::NeighborLatency => ping_pong(
            &mut prog,
            0,
            first,
            mp.latency_bytes,
            mp.latency_iterations,
            "lat",
        ),
        Micro::HopLatency => {
            // One target after another, so the measurements do not disturb each other.
            for (i, target) in hop_targets(t).into_iter().enumerate() {
                if i > 0 {
                    for pe in 0..t.nodes() {
                        prog.ops[pe].push(Op::Barrier);
                    }
                }
                ping_pong(
                    &mut prog,
                    0,
                    target,
                    mp.latency_bytes,
                    mp.latency_iterations,
                    &format!("hop{}", i + 1),
                );
            }
        }
        Micro::LinkBandwidth | Micro::EjectionBandwidth => {
            let senders = if m == Micro::LinkBandwidth {
                vec![first]
            } else {
                neighbors(t, 0)
            };
            let start = prog.mark_id("start");
            let end = prog.mark_id("end");
            for pe in 0..t.nodes() {
                prog.ops[pe].push(Op::Barrier);
            }
            for &s in &senders {
                let (src, dst) = if m == Micro::LinkBandwidth {
                    (0, s)
                } else {
                    (s, 0)
                };
                let ops = &mut prog.ops[src];
                ops.push(Op::Mark { id: start });
                ops.push(Op::Repeat {
                    count: mp.stream_messages,
                    end: 2,
                });
                ops.push(Op::Put {
                    dest: dst as u32,
                    bytes: mp.stream_bytes,
                    flag: None,
                });
                let n = ops.len();
                ops.push(Op::EndRepeat {
                    start: (n - 2) as u32,
                });
                let e = ops.len() - 1;
                ops[n - 2] = Op::Repeat {
                    count: mp.stream_messages,
                    end: e as u32,
                };
                ops.push(Op::Quiet);
                ops.push(Op::Mark { id: end });
            }
        }
        Micro::MessageRate => {
            let start = prog.mark_id("start");
            let end = prog.mark_id("end");
            let nb = neighbors(t, 0);
            let ops = &mut prog.ops[0];
            ops.push(Op::Mark { id: start });
            let rounds = mp.rate_messages / nb.len() as u64;
            ops.push(Op::Repeat {
                count: rounds,
                end: 0,
            });
            let r = ops.len() - 1;
            for &n in &nb {
                ops.push(Op::Put {
                    dest: n as u32,
                    bytes: mp.rate_bytes,
                    flag: None,
                });
            }
            ops.push(Op::EndRepeat { start: r as u32 });
            let e = ops.len() - 1;
            ops[r] = Op::Repeat {
                count: rounds,
                end: e as u32,
            };
            ops.push(Op::Quiet);
            ops.push(Op::Mark { id: end });
        }
        Micro::AtomicLatency | Micro::AtomicRate => {
            prog.declare("counter", 1, |_, _| 0)
                .expect("a fresh program declares its first variable");
            let start = prog.mark_id("start");
            let end = prog.mark_id("end");
            if m == Micro::AtomicLatency {
                fetch_adds(&mut prog, 0, first, mp.latency_iterations, start, end);
            } else {
                let nb = neighbors(t, 0);
                let each = (mp.rate_messages / nb.len() as u64).max(1);
                for pe in 0..t.nodes() {
                    prog.ops[pe].push(Op::Barrier);
                }
                for &n in &nb {
                    fetch_adds(&mut prog, n, 0, each, start, end);
                }
            }
        }
    }
    prog
}

/// The benchmark's figure from the marks of a run (cycle times at `clock_hz`), or why
/// it cannot be computed (a slope needs two hop distances, a rate a nonzero time): a
/// figure that is not a finite number is never returned.
pub fn evaluate(
    m: Micro,
    t: &Torus,
    mp: &MicroParams,
    prog: &Program,
    marks: &[(u32, u16, u64)],
    clock_hz: f64,
) -> Result<f64, String> {
    let v = evaluate_unchecked(m, t, mp, prog, marks, clock_hz)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!(
            "{}: the figure cannot be computed from this run ({v}); the measured spans are empty",
            m.name()
        ))
    }
}

fn evaluate_unchecked(
    m: Micro,
    t: &Torus,
    mp: &MicroParams,
    prog: &Program,
    marks: &[(u32, u16, u64)],
    clock_hz: f64,
) -> Result<f64, String> {
    let find = |name: &str| -> Vec<u64> {
        let id = prog.marks.iter().position(|x| x == name).map(|i| i as u16);
        marks
            .iter()
            .filter(|m| Some(m.1) == id)
            .map(|m| m.2)
            .collect()
    };
    let secs = |cycles: u64| cycles as f64 / clock_hz;
    let span = |a: &str, b: &str| -> u64 {
        let s = find(a).into_iter().min().unwrap_or(0);
        let e = find(b).into_iter().max().unwrap_or(0);
        e.saturating_sub(s)
    };
    Ok(match m {
        Micro::NeighborLatency => {
            secs(span("lat-start", "lat-end")) / (2 * mp.latency_iterations) as f64 * 1e6
        }
        Micro::HopLatency => {
            let hops = hop_targets(t).len();
            if hops < 2 {
                return Err(format!(
                    "hop-latency is the slope of latency over hop count, which needs PEs at 2 or more distances from PE 0; on this torus ({}) there are PEs at only {hops}",
                    t.shape_string()
                ));
            }
            let pts: Vec<(f64, f64)> = (1..=hops)
                .map(|h| {
                    let c = span(&format!("hop{h}-start"), &format!("hop{h}-end"));
                    (h as f64, secs(c) / (2 * mp.latency_iterations) as f64 * 1e6)
                })
                .collect();
            slope(&pts)
        }
        Micro::LinkBandwidth => {
            (mp.stream_bytes * mp.stream_messages) as f64 / secs(span("start", "end")) / 1e6
        }
        Micro::EjectionBandwidth => {
            let senders = neighbors(t, 0).len() as u64;
            (mp.stream_bytes * mp.stream_messages * senders) as f64
                / secs(span("start", "end"))
                / 1e6
        }
        Micro::MessageRate => {
            let nb = neighbors(t, 0).len() as u64;
            let msgs = mp.rate_messages / nb * nb;
            msgs as f64 / secs(span("start", "end")) / 1e6
        }
        Micro::AtomicLatency => secs(span("start", "end")) / mp.latency_iterations as f64 * 1e6,
        Micro::AtomicRate => {
            let nb = neighbors(t, 0).len() as u64;
            let atomics = (mp.rate_messages / nb).max(1) * nb;
            atomics as f64 / secs(span("start", "end")) / 1e6
        }
    })
}

/// Least-squares slope of y over x.
pub fn slope(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    if pts.len() < 2 {
        return f64::NAN;
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}
