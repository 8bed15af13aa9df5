//! The deadlock watchdog: packets in flight but none delivered for too long.

use super::phases::SimError;
use crate::engine::Endpoint;
use crate::engine::component::RouterModel;
use crate::engine::sim::Engine;

/// Fails with the stuck channels when packets are in flight and none has been
/// delivered for more than `limit` cycles (a collective: every process calls it).
pub fn watchdog<E: Endpoint, R: RouterModel>(
    e: &Engine<E, R>,
    limit: u64,
    injectors: usize,
) -> Result<(), SimError> {
    let inf = e.in_flight();
    let last = e.last_delivery();
    if inf > 0 && e.now().saturating_sub(last) > limit {
        return Err(SimError::Deadlock {
            cycle: e.now(),
            in_flight: inf,
            last_delivery: last,
            stuck: e.stuck_channels(injectors),
        });
    }
    Ok(())
}
