//! Sizes this build supports. The router's data structures are sized by them and the
//! config check rejects anything larger, so they live below both.

/// Input VCs per router this build supports (the router's occupancy set's size).
pub const MAX_INPUT_VCS: usize = 256;

/// Output ports per router this build supports (a bit mask tracks pending credits).
pub const MAX_OUTPUT_PORTS: usize = 64;

/// The longest configured delay (a link, a pipeline stage, PCIe latency, a timeout), in
/// cycles: 2^32, over 4 seconds at 1 GHz. Sums of delays along a path then stay far
/// from overflowing the 64-bit cycle counter.
pub const MAX_DELAY_CYCLES: u64 = 1 << 32;

/// The longest span of simulated time a single value may ask for (a phase of the run,
/// a `compute` statement, an injection delay), in cycles: 2^50, some 13 days at 1 GHz.
pub const MAX_RUN_CYCLES: u64 = 1 << 50;

/// The largest message a `put` or `get` may move, in bytes (2^48, 256 TiB).
pub const MAX_MESSAGE_BYTES: u64 = 1 << 48;

/// The deepest input buffer, in flits.
pub const MAX_BUFFER_FLITS: u64 = 1 << 20;

/// The slowest and fastest router clocks accepted, in hertz.
pub const MIN_CLOCK_HZ: f64 = 1e3;
pub const MAX_CLOCK_HZ: f64 = 1e12;
