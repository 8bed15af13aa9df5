//! A summary of a transfer matrix for printing (CLI) or saving (JSON).

use super::expect::{approx_remote_per_node, expected_total_remote};
use super::generator::MatrixSpec;
use super::transfer::{ElementEncoding, TransferMatrix};
use serde::Serialize;
use std::fmt;

/// Minimum, mean and maximum over nodes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub min: u64,
    pub mean: f64,
    pub max: u64,
}

impl Spread {
    fn of(v: &[u64]) -> Spread {
        Spread {
            min: v.iter().copied().min().unwrap_or(0),
            mean: v.iter().sum::<u64>() as f64 / v.len().max(1) as f64,
            max: v.iter().copied().max().unwrap_or(0),
        }
    }
}

/// What one alltoall exchange of a transfer matrix moves, with the closed-form and
/// approximate expectations beside the exact figures (so a printout shows at once
/// whether the matrix is the expected one), and the Allgather volume for comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransferStats {
    pub spec: MatrixSpec,
    pub p: usize,
    pub nnz: u64,
    /// Rows per node.
    pub rows: Spread,
    /// Remote elements received per node (sum over `j != i` of `T[i][j]`).
    pub recv: Spread,
    /// Remote elements sent per node.
    pub send: Spread,
    /// Local elements read per node (`T[i][i]`).
    pub local: Spread,
    /// Largest and smallest off-diagonal entry (one message's elements).
    pub max_message: u64,
    pub min_message: u64,
    /// Off-diagonal pairs with nothing to send, of `p (p - 1)`.
    pub empty_messages: u64,
    /// Elements crossing the network in one exchange.
    pub total_remote: u64,
    /// Closed-form expectation of `total_remote` and its standard deviation.
    pub expected_total_remote: f64,
    pub expected_total_remote_sd: f64,
    /// The notes' approximation `n (1 - exp(-d/p)) (p - 1)/p` per node, times `p`.
    pub approx_total_remote: f64,
    /// Allgather volume `n (p - 1)` elements, for comparison.
    pub allgather_elements: u64,
    pub encoding: ElementEncoding,
    /// `total_remote` in bytes under `encoding`.
    pub total_bytes: u64,
    /// The busiest node's received and sent bytes.
    pub max_recv_bytes: u64,
    pub max_send_bytes: u64,
}

/// Summarises `tm` with counts converted to bytes by `encoding`.
pub fn transfer_stats(tm: &TransferMatrix, encoding: ElementEncoding) -> TransferStats {
    let p = tm.p();
    let spec = *tm.spec();
    let rows: Vec<u64> = (0..p).map(|i| tm.stripes().len(i)).collect();
    let recv = tm.recv_totals();
    let send = tm.send_totals();
    let local: Vec<u64> = (0..p).map(|i| tm.local(i)).collect();
    // One pass over the non-zeros: the pairs not stored are the empty messages.
    let (mut max_message, mut min_message, mut sent) = (0u64, u64::MAX, 0u64);
    for j in 0..p {
        for (_, c) in tm.ring_sends(j) {
            max_message = max_message.max(c);
            min_message = min_message.min(c);
            sent += 1;
        }
    }
    let pairs = (p as u64) * (p as u64 - 1);
    let empty = pairs - sent;
    if p < 2 || empty > 0 {
        min_message = 0;
    }
    let expected = expected_total_remote(&spec, tm.stripes());
    let total_remote = tm.total_remote();
    TransferStats {
        spec,
        p,
        nnz: spec.nnz(),
        rows: Spread::of(&rows),
        recv: Spread::of(&recv),
        send: Spread::of(&send),
        local: Spread::of(&local),
        max_message,
        min_message,
        empty_messages: empty,
        total_remote,
        expected_total_remote: expected.mean,
        expected_total_remote_sd: expected.sd(),
        approx_total_remote: approx_remote_per_node(spec.n, f64::from(spec.d), p) * p as f64,
        allgather_elements: spec.n * (p as u64 - 1),
        encoding,
        total_bytes: encoding.bytes(total_remote),
        max_recv_bytes: encoding.bytes(recv.iter().copied().max().unwrap_or(0)),
        max_send_bytes: encoding.bytes(send.iter().copied().max().unwrap_or(0)),
    }
}

impl fmt::Display for TransferStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.spec;
        let sp = |x: &Spread| format!("min {} / mean {:.1} / max {}", x.min, x.mean, x.max);
        writeln!(
            f,
            "SpMV matrix n = {}, d = {}, seed = {}: {} nonzeros over p = {} nodes",
            s.n, s.d, s.seed, self.nnz, self.p
        )?;
        writeln!(f, "  rows per node         {}", sp(&self.rows))?;
        writeln!(f, "  local elements        {}", sp(&self.local))?;
        writeln!(f, "  remote recv per node  {}", sp(&self.recv))?;
        writeln!(f, "  remote send per node  {}", sp(&self.send))?;
        writeln!(
            f,
            "  message elements      min {} / max {}; {} of {} pairs empty",
            self.min_message,
            self.max_message,
            self.empty_messages,
            self.p as u64 * (self.p as u64).saturating_sub(1)
        )?;
        writeln!(
            f,
            "  total remote          {} (closed form {:.0} +- {:.0}; n(1-e^(-d/p))(p-1) = {:.0})",
            self.total_remote,
            self.expected_total_remote,
            self.expected_total_remote_sd,
            self.approx_total_remote
        )?;
        writeln!(
            f,
            "  allgather would move  {} elements",
            self.allgather_elements
        )?;
        write!(
            f,
            "  bytes ({} + {} per element): total {}, busiest node recv {} / send {}",
            self.encoding.element_bytes,
            self.encoding.index_bytes,
            self.total_bytes,
            self.max_recv_bytes,
            self.max_send_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_agree_with_matrix() {
        let spec = MatrixSpec::new(10_000, 4, 3).unwrap();
        let tm = TransferMatrix::compute(&spec, 5).unwrap();
        let st = transfer_stats(&tm, ElementEncoding::VALUES_F64_INDEX_U32);
        assert_eq!(st.total_remote, tm.total_remote());
        assert_eq!(st.total_bytes, 12 * tm.total_remote());
        assert_eq!(st.recv.max, *tm.recv_totals().iter().max().unwrap());
        assert_eq!(st.rows.min, 2000);
        assert_eq!(st.allgather_elements, 40_000);
        assert!(
            (st.total_remote as f64 - st.expected_total_remote).abs()
                < 5.0 * st.expected_total_remote_sd
        );
        let text = st.to_string();
        assert!(text.contains("p = 5") && text.contains("total remote"));
        let single = transfer_stats(
            &TransferMatrix::compute(&spec, 1).unwrap(),
            ElementEncoding::VALUES_F64,
        );
        assert_eq!(
            (
                single.total_remote,
                single.min_message,
                single.empty_messages
            ),
            (0, 0, 0)
        );
    }
}
