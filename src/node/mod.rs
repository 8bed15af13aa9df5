//! What sits at each router's injectors and ejectors: the network adapter ([`nic`]) and
//! the endpoint models built on it.

mod adapter_counters;
pub mod atomic;
pub mod collective;
pub mod expr;
pub mod nic;
pub mod op;
mod op_trace;
pub mod outgoing;
pub mod pcie;
pub mod shmem;
pub mod variables;
