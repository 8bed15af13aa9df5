//! The operations a processing element executes: the instruction set of [`super::shmem`].
//! Workloads build programs out of them (see `traffic::program` for the text form).

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
}

/// Flags a program may use (per PE).
pub const MAX_FLAGS: u16 = 64;
