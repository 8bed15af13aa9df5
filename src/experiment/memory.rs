//! The memory a run will need, estimated before anything is allocated.
//!
//! A config with deep buffers on a large torus, or a program that records a mark a
//! billion times, would otherwise abort in the allocator (with a backtrace, after the
//! machine has started swapping). The estimate counts what grows with the input:
//! flit buffers (ports x VCs x depth x routers), ejection buffers, the marks a program
//! records, its symmetric variables (every PE's words), and the packet ids the
//! exactly-once check keeps. It is refused above a
//! bound: `TORSIM_MAX_MEMORY` (bytes, or with a unit: `"8 GiB"`), by default half of
//! the machine's memory.

use crate::config::Params;
use crate::core::flit::Flit;
use crate::node::op::Op;
use crate::traffic::program::Program;

/// The environment variable that sets the bound.
pub const MAX_MEMORY_VAR: &str = "TORSIM_MAX_MEMORY";

/// Bytes per router beyond its buffers (allocator state, arbiters, counters).
const ROUTER_OVERHEAD: u64 = 4096;

/// The parts of an estimate, in bytes.
#[derive(Clone, Debug, Default)]
pub struct Estimate {
    pub parts: Vec<(&'static str, u64)>,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.parts.iter().fold(0u64, |a, p| a.saturating_add(p.1))
    }
}

/// What the network of `p` needs; with `program`, what its PEs record too; with
/// `check`, the ids of `packets` delivered packets (when known).
pub fn estimate(p: &Params, program: Option<&Program>, check_packets: Option<u64>) -> Estimate {
    let flit = std::mem::size_of::<Flit>() as u64;
    let nodes = p.nodes() as u64;
    let ports = (2 * p.shape.len() + p.injectors) as u64;
    let buffers = nodes
        .saturating_mul(ports)
        .saturating_mul(p.router_vcs() as u64)
        .saturating_mul(p.buffer as u64)
        .saturating_mul(flit)
        .saturating_add(
            nodes
                .saturating_mul(p.ejectors as u64)
                .saturating_mul(p.ejection_buffer as u64)
                .saturating_mul(flit),
        )
        .saturating_add(nodes.saturating_mul(ROUTER_OVERHEAD));
    let mut e = Estimate {
        parts: vec![("flit buffers", buffers)],
    };
    if let Some(prog) = program {
        // A mark is kept by its PE and again in the outcome.
        let marks = prog
            .ops
            .iter()
            .fold(0u64, |a, ops| a.saturating_add(marks_recorded(ops)));
        e.parts.push(("marks", marks.saturating_mul(32)));
        // Symmetric variables: the program's initial words and each PE's copy.
        let words = (prog.variables.total_words() as u64).saturating_mul(prog.ops.len() as u64);
        e.parts
            .push(("symmetric variables", words.saturating_mul(16)));
    }
    if let Some(n) = check_packets {
        e.parts
            .push(("packet ids for --check", n.saturating_mul(16)));
    }
    e
}

/// Marks a program records when it runs to the end: each `mark` times the counts of
/// the loops around it.
pub fn marks_recorded(ops: &[Op]) -> u64 {
    let mut total = 0u64;
    let mut mult = vec![1u64];
    for op in ops {
        match *op {
            Op::Repeat { count, .. } => {
                let m = mult.last().copied().unwrap_or(1).saturating_mul(count);
                mult.push(m);
            }
            Op::EndRepeat { .. } => {
                mult.pop();
            }
            Op::Mark { .. } => total = total.saturating_add(mult.last().copied().unwrap_or(1)),
            _ => {}
        }
    }
    total
}

/// The bound: `TORSIM_MAX_MEMORY`, or half of the machine's memory, or 4 GiB when
/// neither is known.
pub fn bound() -> Result<(u64, String), String> {
    if let Ok(v) = std::env::var(MAX_MEMORY_VAR) {
        let b = parse_bytes(&v).ok_or_else(|| {
            format!("{MAX_MEMORY_VAR}=`{v}`: expected a size such as 8000000000 or \"8 GiB\"")
        })?;
        return Ok((b, format!("set by {MAX_MEMORY_VAR}")));
    }
    Ok(match machine_memory() {
        Some(m) => (m / 2, "half of this machine's memory".to_string()),
        None => (
            4 << 30,
            "the default when the machine's memory is unknown".to_string(),
        ),
    })
}

/// Refuses an estimate above the bound, naming its parts.
pub fn check(e: &Estimate) -> Result<(), String> {
    let (limit, why) = bound()?;
    let total = e.total();
    if total <= limit {
        return Ok(());
    }
    let parts: Vec<String> = e
        .parts
        .iter()
        .filter(|p| p.1 > 0)
        .map(|(n, b)| format!("{n} {}", human(*b)))
        .collect();
    Err(format!(
        "the run would need about {} ({}), more than the limit of {} ({why}; set {MAX_MEMORY_VAR} to change it)",
        human(total),
        parts.join(", "),
        human(limit)
    ))
}

fn human(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// Parses `123`, `"8 GiB"`, `"512 MB"`.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    let v: f64 = num.parse().ok()?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        _ => return None,
    };
    let b = v * scale;
    (b.is_finite() && b >= 0.0 && b < u64::MAX as f64).then_some(b as u64)
}

fn machine_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_multiply_through_loops() {
        let ops = [
            Op::Mark { id: 0 },
            Op::Repeat {
                count: 1000,
                end: 4,
            },
            Op::Repeat {
                count: 1000,
                end: 3,
            },
            Op::Mark { id: 1 },
            Op::EndRepeat { start: 2 },
            Op::EndRepeat { start: 1 },
        ];
        assert_eq!(marks_recorded(&ops), 1 + 1_000_000);
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("8 GiB"), Some(8 << 30));
        assert_eq!(parse_bytes("1000"), Some(1000));
        assert_eq!(parse_bytes("2.5 kb"), Some(2500));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("-1"), None);
    }
}
