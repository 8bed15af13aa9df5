//! What sits at each router's injectors and ejectors: the network adapter ([`nic`]) and
//! the endpoint models built on it.

pub mod nic;
pub mod op;
pub mod outgoing;
pub mod pcie;
pub mod shmem;
