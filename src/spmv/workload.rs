//! SpMV iterations as node programs, and the figures the paper reports.
//!
//! One iteration is a compute phase followed by an exchange (the paper runs them one
//! after the other). The exchange is simulated on the network, cycle by cycle; the
//! compute phase is not (no processor model): it takes `rows x d x nonzero_time` on each
//! node, and the slowest node sets the pace. Every iteration moves the same data, so one
//! exchange is simulated and multiplied by the number of iterations (the report says so).

use super::{ElementEncoding, Stripes, TransferMatrix};
use crate::node::op::{Collective, Op};
use crate::traffic::program::Program;
use serde::Serialize;

/// The exchange algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// Algorithm 3: node j puts to j+1, ..., p-1, 0, ..., j-1 exactly the elements each
    /// needs, then a barrier.
    Alltoall,
    /// Algorithm 1 with a ring allgather: in step s (of p-1) node j forwards the block it
    /// received in step s-1 (its own first) to j+1; every node ends with the whole vector.
    AllgatherRing,
    /// Algorithm 1 with recursive doubling (p a power of two): in step k node j swaps
    /// everything it has with node j xor 2^k; log2 p steps, growing messages.
    AllgatherDoubling,
    /// Algorithm 1 on the hardware tree: p broadcasts (`hbcast`), node r's block from
    /// root r. All p are started at once (`hstart`) and then waited for (`hwait`): the
    /// adapters' collectives engines forward every broadcast packet as it arrives, so
    /// the p broadcasts overlap on the tree's links instead of each paying the tree's
    /// latency and PCIe round trips one after the other, as blocking calls would.
    AllgatherTree,
}

impl Algorithm {
    pub fn parse(s: &str) -> Option<Algorithm> {
        match s {
            "alltoall" => Some(Algorithm::Alltoall),
            "allgather" | "allgather-ring" => Some(Algorithm::AllgatherRing),
            "allgather-doubling" => Some(Algorithm::AllgatherDoubling),
            "allgather-tree" => Some(Algorithm::AllgatherTree),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Alltoall => "alltoall",
            Algorithm::AllgatherRing => "allgather-ring",
            Algorithm::AllgatherDoubling => "allgather-doubling",
            Algorithm::AllgatherTree => "allgather-tree",
        }
    }

    /// The names `parse` accepts, for error messages.
    pub const NAMES: &'static str = "alltoall, allgather, allgather-doubling, allgather-tree";
}

/// How an exchange ends: every algorithm closes with a barrier, so that no node starts
/// the next iteration's compute before the data it needs has landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Barrier {
    /// The software (dissemination) `barrier` of node programs: messages on the
    /// ordinary subnetwork.
    Software,
    /// `quiet` (the PE's puts acknowledged), then `hbarrier` on the hardware tree
    /// (needs hardware collectives in the config).
    Hardware,
}

impl Barrier {
    pub fn parse(s: &str) -> Option<Barrier> {
        match s {
            "software" => Some(Barrier::Software),
            "hardware" => Some(Barrier::Hardware),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Barrier::Software => "software",
            Barrier::Hardware => "hardware",
        }
    }
}

/// Whether an exchange uses the hardware collectives (the config needs a
/// `[collectives]` table for it).
pub fn needs_collectives(alg: Algorithm, barrier: Barrier) -> bool {
    alg == Algorithm::AllgatherTree || barrier == Barrier::Hardware
}

/// Program of one exchange on `p` nodes, closed by `barrier`. Marks `start` and `end`
/// bracket it on every PE.
pub fn exchange_program(
    alg: Algorithm,
    barrier: Barrier,
    stripes: &Stripes,
    tm: Option<&TransferMatrix>,
    enc: ElementEncoding,
) -> Result<Program, String> {
    let p = stripes.p();
    let mut prog = Program::new(p);
    let (start, end) = (prog.mark_id("start"), prog.mark_id("end"));
    for j in 0..p {
        prog.ops[j].push(Op::Mark { id: start });
    }
    match alg {
        Algorithm::Alltoall => {
            let tm = tm.ok_or("alltoall needs the transfer matrix")?;
            for j in 0..p {
                for (to, count) in tm.ring_sends(j) {
                    prog.ops[j].push(Op::Put {
                        dest: to as u32,
                        bytes: enc.bytes(count),
                        flag: None,
                    });
                }
            }
        }
        Algorithm::AllgatherRing => {
            for j in 0..p {
                let ops = &mut prog.ops[j];
                for s in 0..p.saturating_sub(1) {
                    // Forward the block of node (j - s) mod p; then wait for the next one.
                    let block = (j + p - s) % p;
                    ops.push(Op::Put {
                        dest: ((j + 1) % p) as u32,
                        bytes: enc.bytes(stripes.len(block)),
                        flag: Some(0),
                    });
                    ops.push(Op::Wait { flag: 0 });
                }
            }
        }
        Algorithm::AllgatherDoubling => {
            if !p.is_power_of_two() {
                return Err(format!(
                    "recursive doubling needs a power-of-two node count, not {p}"
                ));
            }
            for j in 0..p {
                let ops = &mut prog.ops[j];
                let mut k = 1;
                while k < p {
                    // Node j holds the blocks of its aligned group of k nodes.
                    let group = j / k * k;
                    let bytes: u64 = (group..group + k).map(|b| enc.bytes(stripes.len(b))).sum();
                    ops.push(Op::Put {
                        dest: (j ^ k) as u32,
                        bytes,
                        flag: Some(0),
                    });
                    ops.push(Op::Wait { flag: 0 });
                    k *= 2;
                }
            }
        }
        Algorithm::AllgatherTree => {
            // Every PE starts the same p broadcasts in the same order (collectives
            // match by order), then waits for all of them.
            let bcasts: Vec<Op> = (0..p)
                .map(|r| Op::HCollective {
                    coll: std::sync::Arc::new(Collective::Broadcast {
                        root: r as u32,
                        bytes: enc.bytes(stripes.len(r)),
                    }),
                    start: true,
                })
                .collect();
            for j in 0..p {
                prog.ops[j].extend(bcasts.iter().cloned());
                prog.ops[j].extend(std::iter::repeat_n(Op::HWait, p));
            }
        }
    }
    // The software barrier first waits for the PE's puts to be acknowledged (a
    // `quiet`); `hbarrier` only synchronises, so the hardware variant says `quiet`
    // itself, or PEs would leave it with data still in flight.
    let close = match barrier {
        Barrier::Software => vec![Op::Barrier],
        Barrier::Hardware => vec![
            Op::Quiet,
            Op::HCollective {
                coll: std::sync::Arc::new(Collective::Barrier),
                start: false,
            },
        ],
    };
    for j in 0..p {
        prog.ops[j].extend(close.iter().cloned());
        prog.ops[j].push(Op::Mark { id: end });
    }
    Ok(prog)
}

/// Checks that every broadcast of `prog` delivered its bytes to every PE, from the
/// collective results of a run (`(pe, op index, element, value)`, a broadcast's value
/// being the bytes the PE received, or sent at its root). Returns the bytes the PEs
/// received from other PEs' broadcasts; an error names the first PE and broadcast that
/// came short.
pub fn check_broadcasts(prog: &Program, values: &[(u32, u32, u32, u64)]) -> Result<u64, String> {
    let mut received = 0u64;
    for (pe, ops) in prog.ops.iter().enumerate() {
        for (i, op) in ops.iter().enumerate() {
            let Op::HCollective { coll, .. } = op else {
                continue;
            };
            let Collective::Broadcast { root, bytes } = **coll else {
                continue;
            };
            let got = values
                .binary_search_by(|v| (v.0, v.1, v.2).cmp(&(pe as u32, i as u32, 0)))
                .ok()
                .map(|k| values[k].3);
            if got != Some(bytes) {
                return Err(format!(
                    "PE {pe} got {} of the {bytes} B broadcast from PE {root} (op {})",
                    got.map_or("nothing".to_string(), |b| format!("{b} B")),
                    i + 1
                ));
            }
            if root as usize != pe {
                received += bytes;
            }
        }
    }
    Ok(received)
}

/// A torus shape of `dims` dimensions with `p` nodes, as balanced as possible (prime
/// factors, largest first, each to the currently smallest dimension). Dimensions of size
/// 1 are dropped, so small machines get fewer dimensions.
pub fn balanced_shape(p: usize, dims: usize) -> Vec<usize> {
    let mut f = Vec::new();
    let mut x = p;
    let mut d = 2;
    while d * d <= x {
        while x.is_multiple_of(d) {
            f.push(d);
            x /= d;
        }
        d += 1;
    }
    if x > 1 {
        f.push(x);
    }
    f.sort_unstable_by(|a, b| b.cmp(a));
    let mut shape = vec![1usize; dims.max(1)];
    for q in f {
        let i = (0..shape.len()).min_by_key(|&i| (shape[i], i)).unwrap_or(0);
        shape[i] *= q;
    }
    shape.sort_unstable_by(|a, b| b.cmp(a));
    shape.retain(|&k| k > 1);
    shape
}

/// Bytes crossing the best bisection of the torus in its busier direction, for the
/// alltoall's lower bound on time: cutting the longest dimension in half.
pub fn bisection_bytes(tm: &TransferMatrix, shape: &[usize], enc: ElementEncoding) -> u64 {
    let d = (0..shape.len())
        .max_by_key(|&d| (shape[d], usize::MAX - d))
        .unwrap_or(0);
    let stride: usize = shape[..d].iter().product();
    let k = shape[d];
    let half = |node: usize| (node / stride) % k < k / 2;
    let (mut ab, mut ba) = (0u64, 0u64);
    let p = tm.p();
    for from in 0..p {
        for (to, count) in tm.ring_sends(from) {
            if half(from) != half(to) {
                let b = enc.bytes(count);
                if half(from) { ab += b } else { ba += b }
            }
        }
    }
    ab.max(ba)
}

#[cfg(test)]
mod tests {
    use super::super::ring_order;
    use super::*;
    use crate::spmv::MatrixSpec;

    #[test]
    fn shapes() {
        assert_eq!(balanced_shape(2048, 4), vec![8, 8, 8, 4]);
        assert_eq!(balanced_shape(1024, 3), vec![16, 8, 8]);
        assert_eq!(balanced_shape(8, 3), vec![2, 2, 2]);
        assert_eq!(balanced_shape(8, 4), vec![2, 2, 2]);
        assert_eq!(balanced_shape(12, 3), vec![3, 2, 2]);
    }

    #[test]
    fn alltoall_sends_the_transfer_matrix_in_ring_order() {
        let spec = MatrixSpec::new(64, 3, 5).unwrap();
        let tm = TransferMatrix::compute(&spec, 4).unwrap();
        let enc = ElementEncoding {
            element_bytes: 8,
            index_bytes: 0,
        };
        let prog = exchange_program(
            Algorithm::Alltoall,
            Barrier::Software,
            tm.stripes(),
            Some(&tm),
            enc,
        )
        .unwrap();
        for j in 0..4 {
            let puts: Vec<(u32, u64)> = prog.ops[j]
                .iter()
                .filter_map(|o| match o {
                    Op::Put { dest, bytes, .. } => Some((*dest, *bytes)),
                    _ => None,
                })
                .collect();
            let want: Vec<(u32, u64)> = ring_order(4, j)
                .map(|to| (to as u32, 8 * tm.send_count(j, to)))
                .filter(|&(_, b)| b > 0)
                .collect();
            assert_eq!(puts, want);
            assert_eq!(prog.ops[j][prog.ops[j].len() - 2], Op::Barrier);
        }
    }

    #[test]
    fn allgathers_move_everything_everywhere() {
        let stripes = Stripes::new(100, 8).unwrap();
        let enc = ElementEncoding {
            element_bytes: 8,
            index_bytes: 0,
        };
        for alg in [Algorithm::AllgatherRing, Algorithm::AllgatherDoubling] {
            let prog = exchange_program(alg, Barrier::Software, &stripes, None, enc).unwrap();
            // Each node receives every other node's block exactly once: n - n/p elements.
            let mut recv = [0u64; 8];
            for ops in &prog.ops {
                for o in ops {
                    if let Op::Put { dest, bytes, .. } = o {
                        recv[*dest as usize] += bytes;
                    }
                }
            }
            for (i, &r) in recv.iter().enumerate() {
                assert_eq!(r, 8 * (100 - stripes.len(i)), "{alg:?} node {i}");
            }
        }
        assert!(
            exchange_program(
                Algorithm::AllgatherDoubling,
                Barrier::Software,
                &Stripes::new(100, 6).unwrap(),
                None,
                enc_for()
            )
            .is_err()
        );
    }

    #[test]
    fn allgather_tree_broadcasts_every_block_and_hardware_barrier_closes() {
        let stripes = Stripes::new(100, 6).unwrap();
        let prog = exchange_program(
            Algorithm::AllgatherTree,
            Barrier::Hardware,
            &stripes,
            None,
            enc_for(),
        )
        .unwrap();
        for ops in &prog.ops {
            let bcasts: Vec<(u32, u64)> = ops
                .iter()
                .filter_map(|o| match o {
                    Op::HCollective { coll, start: true } => match **coll {
                        Collective::Broadcast { root, bytes } => Some((root, bytes)),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            let want: Vec<(u32, u64)> = (0..6).map(|r| (r as u32, 8 * stripes.len(r))).collect();
            assert_eq!(bcasts, want);
            assert_eq!(ops.iter().filter(|o| **o == Op::HWait).count(), 6);
            assert!(matches!(
                &ops[ops.len() - 2],
                Op::HCollective { coll, start: false } if **coll == Collective::Barrier
            ));
            assert_eq!(ops[ops.len() - 3], Op::Quiet);
        }
        // Every PE got every broadcast: the check passes and counts what came from others.
        let mut values = Vec::new();
        for pe in 0..6u32 {
            for r in 0..6u32 {
                values.push((pe, 1 + r, 0, 8 * stripes.len(r as usize)));
            }
        }
        assert_eq!(check_broadcasts(&prog, &values), Ok(5 * 8 * 100));
        values[8].3 -= 1;
        let e = check_broadcasts(&prog, &values).unwrap_err();
        assert!(e.contains("PE 1") && e.contains("from PE 2"), "{e}");
        values.remove(8);
        assert!(check_broadcasts(&prog, &values).is_err());
    }

    fn enc_for() -> ElementEncoding {
        ElementEncoding {
            element_bytes: 8,
            index_bytes: 0,
        }
    }
}
