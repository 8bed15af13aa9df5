//! The operations a processing element executes: the instruction set of [`super::shmem`].
//! Workloads build programs out of them (see `traffic::program` for the text form).
//!
//! The variants that hold expressions box them, so an `Op` stays as small as a `put`:
//! SpMV programs hold tens of millions of ops.

use super::atomic::AtomicKind;
use super::expr::Expr;
use super::variables::VarId;

/// One operation of a PE's program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Write `bytes` to PE `dest`; signal flag `flag` there when all of it has landed.
    Put {
        dest: u32,
        bytes: u64,
        flag: Option<u16>,
    },
    /// Read `bytes` from PE `dest`; completes when the data has arrived.
    Get {
        dest: u32,
        bytes: u64,
    },
    /// Wait until every PE has arrived and every earlier put has been delivered.
    Barrier,
    /// Wait until every earlier put of this PE has been delivered.
    Quiet,
    /// Busy for this many cycles.
    Compute {
        cycles: u64,
    },
    /// Wait for a signal on a flag, and consume it.
    Wait {
        flag: u16,
    },
    /// Record the current cycle under mark `id`.
    Mark {
        id: u16,
    },
    /// Run the ops up to the matching `EndRepeat` `count` times.
    Repeat {
        count: u64,
        end: u32,
    },
    EndRepeat {
        start: u32,
    },
    /// An atomic on a symmetric variable of a PE (see [`AtomicOp`]); the PE waits for
    /// its reply.
    Atomic(Box<AtomicOp>),
    /// Set local variable `local`.
    Let {
        local: u16,
        value: Box<Expr>,
    },
    /// Go on if `cond` is true, else continue at op `skip` (past the `else` branch's
    /// start or the closing `}`).
    If {
        cond: Box<Expr>,
        skip: u32,
    },
    /// The end of an `if` branch that has an `else`: continue at op `to`.
    Else {
        to: u32,
    },
    /// The `}` that closes an `if` or `else`: does nothing.
    EndIf,
    /// Run the ops up to the matching `EndWhile` while `cond` holds; else continue
    /// after op `end`.
    While {
        cond: Box<Expr>,
        end: u32,
    },
    /// Back to the `While` at `start`. One turn of a loop costs the host a cycle, so a
    /// program spinning on a value moves simulated time on.
    EndWhile {
        start: u32,
    },
}

/// An atomic operation as a program states it: the values are expressions, evaluated
/// when the PE reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtomicOp {
    pub kind: AtomicKind,
    /// The PE whose copy of the variable is operated on.
    pub dest: Expr,
    pub var: VarId,
    pub word: Expr,
    /// The operand (`fadd`, `swap`, `set`) or the expected value (`cswap`).
    pub a: Expr,
    /// The new value of `cswap`.
    pub b: Expr,
    /// The local variable that receives the old value.
    pub result: Option<u16>,
}

/// Flags a program may use (per PE).
pub const MAX_FLAGS: u16 = 64;

#[cfg(test)]
mod tests {
    #[test]
    fn ops_stay_small() {
        // Large programs hold tens of millions of ops: the boxed variants must not
        // make every op bigger than a `put`.
        assert!(std::mem::size_of::<super::Op>() <= 24);
    }
}
