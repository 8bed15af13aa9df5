//! Table routing, as the real network does it: per source node, a table from
//! destination to (First Step, direction signs, Last Step), looked up once at the
//! source and carried in the packet's route header; every router on the way routes by
//! the header alone ([`ordered::step`]).
//!
//! Tables are generated at start-up from the topology and the fault set. A pair whose
//! plain direction-ordered route avoids every fault keeps it (no entry is stored: with
//! no faults the tables are exactly direction order). For the others the generator
//! tries, shortest first, routes that take the long way round some rings, a First Step,
//! a Last Step or both, and accepts the first one that uses only live links *and* adds
//! no cycle to the channel dependency graph of everything accepted so far. So the
//! whole table set is deadlock-free by construction, and the static check proves it
//! again afterwards from the same routing code.

use super::deadlock::DepGraph;
use super::header;
use super::ordered;
use super::{Network, Route, RoutingError, RoutingFunction};
use crate::core::direction::Direction;
use crate::core::flit::Flit;
use std::collections::HashMap;

/// How many pairs needed what, for `torsim routes --summary` and the result JSON.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TableSummary {
    /// Live (source, destination) pairs.
    pub pairs: u64,
    /// Pairs whose route differs from plain direction order.
    pub detoured_pairs: u64,
    pub first_step_pairs: u64,
    pub last_step_pairs: u64,
    /// Pairs that go the long way round at least one ring.
    pub long_way_pairs: u64,
    /// The largest extra hop count over the minimal distance.
    pub longest_detour: u64,
}

/// Table routing; also the escape subfunction of adaptive routing.
#[derive(Clone, Debug)]
pub struct TableRouting {
    order: Vec<Direction>,
    /// Route headers of the pairs that do not use plain direction order, keyed by
    /// `source << 32 | destination`.
    entries: HashMap<u64, u16>,
    pub summary: TableSummary,
}

/// One hop of a candidate route: (node, out port, header before the hop, ring hops).
type Hop = (usize, usize, u16, usize);

#[inline]
fn key(src: usize, dest: usize) -> u64 {
    (src as u64) << 32 | dest as u64
}

/// The hops of the ordered route of `h` from `src` to `dest`, as (node, out port,
/// header after the hop, ring hops), or `None` if it uses a failed link or goes on
/// longer than any sensible route.
fn walk(net: &Network, order: &[Direction], src: usize, dest: usize, h: u16) -> Option<Vec<Hop>> {
    let t = &net.torus;
    let limit = t.shape().iter().sum::<usize>() + 4;
    let mut hops = Vec::new();
    let (mut node, mut h) = (src, h);
    while let Some((out, h2, _, ring_hops)) = ordered::step(t, order, node, dest, h) {
        if !t.link_alive(node, out) || hops.len() >= limit {
            return None;
        }
        hops.push((node, out, h, ring_hops));
        h = h2;
        node = t.neighbor(node, out);
    }
    Some(hops)
}

impl TableRouting {
    /// Tables for `routing.algorithm = "table"` and for the escape channel of adaptive
    /// routing (the generation only looks at paths, not at which VCs carry them).
    pub fn build(net: &Network, order: Vec<Direction>) -> Result<TableRouting, RoutingError> {
        Self::generate(net, order)
    }

    /// A table with hand-written entries (`(source, destination) -> header`), for
    /// tests of the deadlock check.
    pub fn from_entries(order: Vec<Direction>, entries: &[((usize, usize), u16)]) -> Self {
        TableRouting {
            order,
            entries: entries.iter().map(|&((s, d), h)| (key(s, d), h)).collect(),
            summary: TableSummary::default(),
        }
    }

    /// Whether every pair routes by plain direction order (no entries: no faults).
    pub fn is_plain(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn order(&self) -> &[Direction] {
        &self.order
    }

    /// The header a packet from `src` to `dest` starts with.
    #[inline]
    pub fn header(&self, src: usize, dest: usize) -> u16 {
        if self.entries.is_empty() {
            return 0;
        }
        self.entries.get(&key(src, dest)).copied().unwrap_or(0)
    }

    fn generate(net: &Network, order: Vec<Direction>) -> Result<TableRouting, RoutingError> {
        let t = &net.torus;
        let live = t.live_nodes();
        let mut summary = TableSummary {
            pairs: (live.len() * (live.len() - 1)) as u64,
            ..Default::default()
        };
        let mut entries = HashMap::new();
        if !t.has_faults() {
            return Ok(TableRouting {
                order,
                entries,
                summary,
            });
        }
        let (lo, hi) = net.class_range(0);
        let mut dep = DepGraph::new(net);
        // The channels a route holds, in the form the dependency graph takes.
        let channels = |hops: &[Hop]| {
            let mut chans = Vec::with_capacity(hops.len());
            let mut prev_port = usize::MAX;
            let mut dateline = 0;
            for &(node, out, h, ring_hops) in hops {
                let c = net.ring_hop(
                    node,
                    out,
                    lo,
                    hi,
                    prev_port == out,
                    h | dateline,
                    ring_hops,
                    0,
                );
                dateline = c.header & header::DATELINE;
                chans.push((node, out, c.vc_lo as usize));
                prev_port = out;
            }
            chans
        };
        let add = |dep: &mut DepGraph, hops: &[Hop], commit: bool| {
            let chans = channels(hops);
            if commit {
                dep.add_path(&chans);
                true
            } else {
                dep.try_add_path(&chans)
            }
        };
        // Plain direction order wherever it avoids the faults: these routes follow
        // one order, so together they cannot close a cycle.
        let mut todo = Vec::new();
        for &s in &live {
            for &d in &live {
                if s == d {
                    continue;
                }
                match walk(net, &order, s, d, 0) {
                    Some(hops) => {
                        add(&mut dep, &hops, true);
                    }
                    None => todo.push((s, d)),
                }
            }
        }
        let np = t.network_ports();
        let step_ports: Vec<Option<usize>> = std::iter::once(None)
            .chain((0..np.min(header::STEP_PORTS)).map(Some))
            .collect();
        let sign_dims = t.dims().min(header::SIGN_DIMS);
        let masks: Vec<Option<u16>> = std::iter::once(None)
            .chain((0..1u16 << sign_dims).map(Some))
            .collect();
        let mut options: Vec<(usize, u32, u16, Vec<Hop>)> = Vec::new();
        for (s, d) in todo {
            options.clear();
            for &f in &step_ports {
                if f.is_some_and(|p| !t.link_alive(s, p)) {
                    continue;
                }
                for &l in &step_ports {
                    if l.is_some_and(|p| !t.link_alive(t.neighbor(d, p ^ 1), p)) {
                        continue;
                    }
                    for &m in &masks {
                        let h = header::make(f, l, m);
                        if let Some(hops) = walk(net, &order, s, d, h) {
                            // Shortest first; then fewer special hops; then the header.
                            let special = f.is_some() as u32 + l.is_some() as u32;
                            options.push((hops.len(), special, h, hops));
                        }
                    }
                }
            }
            options.sort_by_key(|o| (o.0, o.1, o.2));
            let Some(chosen) = options.iter().find(|o| add(&mut dep, &o.3, false)) else {
                // Name the cycle the shortest live route would have closed.
                let cycle = options
                    .first()
                    .and_then(|o| dep.cycle_if_added(&channels(&o.3)))
                    .map(|c| {
                        format!(
                            "; the shortest live route ({} hops) would close the cycle {}",
                            options[0].0,
                            c.join(" -> ")
                        )
                    })
                    .unwrap_or_default();
                return Err(RoutingError(format!(
                    "no deadlock-free route from node {} to node {} avoids the failed links and nodes ({} live-link routes tried{cycle}); fail fewer links or nodes, or try another routing.deadlock_avoidance or direction order (routing.direction_order, routing.escape); adaptive routing builds its escape channel from the same tables",
                    t.describe_node(s),
                    t.describe_node(d),
                    options.len()
                )));
            };
            let h = chosen.2;
            entries.insert(key(s, d), h);
            summary.detoured_pairs += 1;
            summary.first_step_pairs += header::first(h).is_some() as u64;
            summary.last_step_pairs += header::last(h).is_some() as u64;
            let default_walk_dirs = (0..t.dims()).any(|dim| {
                let p = t.plus_distance(s, d, dim);
                p != 0 && header::sign(h, dim).is_some_and(|m| m != t.short_way_is_minus(s, dim, p))
            });
            summary.long_way_pairs += default_walk_dirs as u64;
            summary.longest_detour = summary
                .longest_detour
                .max((chosen.0 - t.distance(s, d)) as u64);
        }
        Ok(TableRouting {
            order,
            entries,
            summary,
        })
    }
}

impl RoutingFunction for TableRouting {
    #[inline]
    fn route(&self, net: &Network, node: usize, in_port: usize, flit: &Flit, out: &mut Route) {
        let np = net.torus.network_ports();
        let h = if in_port >= np {
            self.header(node, flit.dest as usize)
        } else {
            flit.route
        };
        ordered::push_route(net, &self.order, node, in_port, flit, h, out);
    }

    /// Plain direction order when no pair has an entry.
    fn plane_separable(&self) -> bool {
        self.is_plain()
    }
}
