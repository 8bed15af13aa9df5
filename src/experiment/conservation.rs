//! The conservation check at the end of a run: every injected packet was delivered,
//! and (from the recorded ids) exactly once.

use super::phases::SimError;
use crate::core::flit::split_packet_id;
use crate::engine::Endpoint;
use crate::engine::component::RouterModel;
use crate::engine::sim::Engine;
use crate::stats::Stats;

/// Every injected packet was delivered; with `check`, exactly once (from the ids in
/// `s.delivered_ids`, which the engine records when built with `RunOptions::check`).
pub fn verify_conservation<E: Endpoint, R: RouterModel>(
    e: &Engine<E, R>,
    s: &Stats,
    check: bool,
) -> Result<(), SimError> {
    if s.packets_injected != s.packets_delivered || s.flits_injected != s.flits_delivered {
        return Err(SimError::Conservation(format!(
            "{} packets ({} flits) injected, {} ({} flits) delivered",
            s.packets_injected, s.flits_injected, s.packets_delivered, s.flits_delivered
        )));
    }
    if !check {
        return Ok(());
    }
    let nodes = e.nodes();
    let injected = e.injected_per_node();
    let mut ids = s.delivered_ids.clone();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(SimError::Conservation(format!(
            "packet {}:{} delivered twice",
            split_packet_id(w[0]).0,
            split_packet_id(w[0]).1
        )));
    }
    let mut per_src = vec![0u64; nodes];
    for &id in &ids {
        let (src, seq) = split_packet_id(id);
        let src = src as usize;
        if seq >= injected[src] {
            return Err(SimError::Conservation(format!(
                "packet {src}:{seq} was delivered but never injected"
            )));
        }
        per_src[src] += 1;
    }
    // Ids are unique and below their source's count, and the counts match: each
    // injected packet arrived exactly once.
    if let Some(node) = (0..nodes).find(|&n| per_src[n] != injected[n]) {
        return Err(SimError::Conservation(format!(
            "node {node} injected {} packets but {} were delivered",
            injected[node], per_src[node]
        )));
    }
    Ok(())
}
