//! Sizes this build supports. The router's data structures are sized by them and the
//! config check rejects anything larger, so they live below both.

/// Input VCs per router this build supports (the router's occupancy set's size).
pub const MAX_INPUT_VCS: usize = 256;

/// Output ports per router this build supports (a bit mask tracks pending credits).
pub const MAX_OUTPUT_PORTS: usize = 64;
