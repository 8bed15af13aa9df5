//! Direction-ordered routing (Cray T3E style), and dimension order as its special case
//! (the order +x -x +y -y ...): the deterministic core that table routing and the
//! escape channel of adaptive routing also use.
//!
//! A packet takes the directions of `order` one after the other; in each it travels
//! until its coordinate in that dimension matches the target. The route header may add
//! a First Step (one hop before the ordered part) and a Last Step (one hop after it,
//! into the destination) and fix the sign of each dimension, so a path can leave the
//! order or go the long way round a ring to bypass a failed link.

use super::header;
use super::{Candidate, Network, Route, RoutingFunction, kind};
use crate::core::direction::Direction;
use crate::core::flit::Flit;
use crate::topology::Torus;

/// The next hop of an ordered route: (out port, header after the hop, [`kind`] bits,
/// hops the packet will take in this ring from here), or `None` at the destination.
#[inline(always)]
pub fn step(
    t: &Torus,
    order: &[Direction],
    node: usize,
    dest: usize,
    h: u16,
) -> Option<(usize, u16, u8, usize)> {
    if node == dest {
        return None;
    }
    if h & header::EXPLICIT == 0 {
        // Plain direction order (no table entry): the common case, kept short. A
        // dimension's distance is computed once for its consecutive directions (both
        // signs of a dimension are adjacent in dimension order).
        let (mut last, mut p, mut minus) = (usize::MAX, 0, false);
        for dir in order {
            let d = dir.dim;
            if d != last {
                last = d;
                p = t.plus_distance(node, dest, d);
                minus = p != 0 && t.short_way_is_minus(node, d, p);
            }
            if p != 0 && minus == dir.minus {
                let hops = if minus { t.shape()[d] - p } else { p };
                return Some((Torus::port_of(*dir), h, 0, hops));
            }
        }
        unreachable!("an order names both directions of every dimension");
    }
    if let Some(f) = header::first(h)
        && h & header::FIRST_DONE == 0
    {
        return Some((f, h | header::FIRST_DONE, kind::FIRST_STEP, 1));
    }
    let target = match header::last(h) {
        Some(l) => t.neighbor(dest, l ^ 1),
        None => dest,
    };
    if node == target {
        let l = header::last(h).expect("a node short of its destination has a Last Step");
        return Some((l, h, kind::LAST_STEP, 1));
    }
    for dir in order {
        let d = dir.dim;
        let p = t.plus_distance(node, target, d);
        if p == 0 {
            continue;
        }
        let minus = header::sign(h, d).unwrap_or_else(|| t.short_way_is_minus(node, d, p));
        if minus == dir.minus {
            let hops = if minus { t.shape()[d] - p } else { p };
            return Some((Torus::port_of(*dir), h, 0, hops));
        }
    }
    unreachable!("an order names both directions of every dimension")
}

/// The candidate of an ordered hop on the VCs `lo..hi`: `in_port` and `on_ring` say
/// whether the packet already travels this ring on these VCs.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn candidate(
    net: &Network,
    order: &[Direction],
    node: usize,
    in_port: usize,
    on_ring: bool,
    flit: &Flit,
    h: u16,
    lo: u16,
    hi: u16,
    extra_kind: u8,
) -> Candidate {
    match step(&net.torus, order, node, flit.dest as usize, h) {
        None => net.eject(flit.class),
        Some((out, h2, k, hops)) => net.ring_hop(
            node,
            out,
            lo,
            hi,
            on_ring && in_port == out,
            h2,
            hops,
            k | extra_kind,
        ),
    }
}

/// Dimension- or direction-ordered routing without tables.
#[derive(Clone, Debug)]
pub struct Ordered {
    order: Vec<Direction>,
}

impl Ordered {
    pub fn new(order: Vec<Direction>) -> Ordered {
        Ordered { order }
    }
}

/// Pushes the ordered hop of a packet carrying route header `h`, on all VCs of its
/// class: the route of dimension/direction order, and of table routing once the
/// source has filled in the header.
#[inline(always)]
pub fn push_route(
    net: &Network,
    order: &[Direction],
    node: usize,
    in_port: usize,
    flit: &Flit,
    h: u16,
    out: &mut Route,
) {
    let (lo, hi) = net.class_range(flit.class);
    out.push(candidate(
        net, order, node, in_port, true, flit, h, lo, hi, 0,
    ));
}

impl RoutingFunction for Ordered {
    #[inline(always)]
    fn route(&self, net: &Network, node: usize, in_port: usize, flit: &Flit, out: &mut Route) {
        push_route(net, &self.order, node, in_port, flit, flit.route, out);
    }

    fn plane_separable(&self) -> bool {
        true
    }
}
