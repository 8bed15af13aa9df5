//! SpMV iterations as node programs, and the figures the paper reports.
//!
//! One iteration is a compute phase followed by an exchange (the paper runs them one
//! after the other). The exchange is simulated on the network, cycle by cycle; the
//! compute phase is not (no processor model): it takes `rows x d x nonzero_time` on each
//! node, and the slowest node sets the pace. Every iteration moves the same data, so one
//! exchange is simulated and multiplied by the number of iterations (the report says so).

use super::{ElementEncoding, Stripes, TransferMatrix};
use crate::node::op::Op;
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
}

impl Algorithm {
    pub fn parse(s: &str) -> Option<Algorithm> {
        match s {
            "alltoall" => Some(Algorithm::Alltoall),
            "allgather" | "allgather-ring" => Some(Algorithm::AllgatherRing),
            "allgather-doubling" => Some(Algorithm::AllgatherDoubling),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Alltoall => "alltoall",
            Algorithm::AllgatherRing => "allgather-ring",
            Algorithm::AllgatherDoubling => "allgather-doubling",
        }
    }
}

/// Program of one exchange on `p` nodes. Marks `start` and `end` bracket it on every PE.
pub fn exchange_program(
    alg: Algorithm,
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
    }
    for j in 0..p {
        prog.ops[j].push(Op::Barrier);
        prog.ops[j].push(Op::Mark { id: end });
    }
    Ok(prog)
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
        let prog = exchange_program(Algorithm::Alltoall, tm.stripes(), Some(&tm), enc).unwrap();
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
            let prog = exchange_program(alg, &stripes, None, enc).unwrap();
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
                &Stripes::new(100, 6).unwrap(),
                None,
                enc_for()
            )
            .is_err()
        );
    }

    fn enc_for() -> ElementEncoding {
        ElementEncoding {
            element_bytes: 8,
            index_bytes: 0,
        }
    }
}
