//! Messages between components. Each one travels a link and arrives at cycle `at`,
//! which is always later than the cycle it was sent in (the lookahead rule).

use crate::core::flit::Flit;

#[derive(Clone, Copy, Debug)]
pub enum Msg {
    /// A flit into input port `port`, VC `vc` of router `node`.
    Flit {
        at: u64,
        node: u32,
        port: u16,
        vc: u16,
        flit: Flit,
    },
    /// A credit for output port `port`, VC `vc` of router `node`. `tail`: the freed
    /// buffer slot held a packet's tail, so the packet has left the buffer (bubble flow
    /// control frees its packet slot upstream then).
    Credit {
        at: u64,
        node: u32,
        port: u16,
        vc: u16,
        tail: bool,
    },
    /// A flit from ejector `port` (VC `vc`) into the network adapter of `node`.
    Eject {
        at: u64,
        node: u32,
        port: u16,
        vc: u16,
        flit: Flit,
    },
    /// A credit for injector `port`, VC `vc`, of the adapter of `node`.
    InjectCredit {
        at: u64,
        node: u32,
        port: u16,
        vc: u16,
    },
}

impl Msg {
    #[inline]
    pub fn node(&self) -> u32 {
        match *self {
            Msg::Flit { node, .. }
            | Msg::Credit { node, .. }
            | Msg::Eject { node, .. }
            | Msg::InjectCredit { node, .. } => node,
        }
    }
    #[inline]
    pub fn at(&self) -> u64 {
        match *self {
            Msg::Flit { at, .. }
            | Msg::Credit { at, .. }
            | Msg::Eject { at, .. }
            | Msg::InjectCredit { at, .. } => at,
        }
    }
}
