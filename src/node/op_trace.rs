//! A PE's part of a trace (`--trace`): each SHMEM operation it ran, from the cycle it
//! was first reached to the cycle it completed (a posted put: when the host had handed
//! its data over), up to the trace's limit of operations per PE.

use super::op::Op;
use crate::stats::trace::{OpRecord, TraceData, TraceSpec};

#[derive(Clone, Debug)]
pub(super) struct OpTrace {
    spec: TraceSpec,
    node: u32,
    /// The operation in progress: its program counter and the cycle it started.
    current: Option<(usize, u64)>,
    ops: Vec<OpRecord>,
}

/// How an operation is shown on its PE's track (`None`: not an operation worth a slice).
fn label(op: &Op) -> Option<String> {
    Some(match op {
        Op::Put { dest, bytes, .. } => format!("put to PE {dest}, {bytes} B"),
        Op::Get { dest, bytes } => format!("get from PE {dest}, {bytes} B"),
        Op::Barrier => "barrier".into(),
        Op::Quiet => "quiet".into(),
        Op::Compute { cycles } => format!("compute {cycles} cycles"),
        Op::Wait { flag } => format!("wait flag {flag}"),
        Op::Atomic(a) => match a.dest.as_const() {
            Some(d) => format!("{} on PE {d}", a.kind.name()),
            None => a.kind.name().to_string(),
        },
        Op::HCollective { coll, start } => {
            format!("{}{}", if *start { "hstart " } else { "" }, coll.name())
        }
        Op::HWait => "hwait".into(),
        Op::Mark { .. }
        | Op::Repeat { .. }
        | Op::EndRepeat { .. }
        | Op::Let { .. }
        | Op::If { .. }
        | Op::Else { .. }
        | Op::EndIf
        | Op::While { .. }
        | Op::EndWhile { .. } => return None,
    })
}

impl OpTrace {
    pub(super) fn new(spec: TraceSpec, node: u32) -> OpTrace {
        OpTrace {
            spec,
            node,
            current: None,
            ops: Vec::new(),
        }
    }

    /// The operation at `pc` runs in cycle `t` (started now unless already running).
    #[inline]
    pub(super) fn running(&mut self, pc: usize, t: u64) {
        if self.current.is_none_or(|(p, _)| p != pc) {
            self.current = Some((pc, t));
        }
    }

    /// The operation `op` at `pc` completed in cycle `end`.
    pub(super) fn done(&mut self, pc: usize, op: &Op, end: u64) {
        let Some((p, start)) = self.current.take() else {
            return;
        };
        if p != pc || self.ops.len() >= self.spec.limit || !self.spec.in_window(start) {
            return;
        }
        if let Some(name) = label(op) {
            self.ops.push(OpRecord {
                node: self.node,
                name,
                start,
                end: end.max(start),
            });
        }
    }

    pub(super) fn record(&self, out: &mut TraceData) {
        out.ops.extend(self.ops.iter().cloned());
    }
}
