//! The walks the check makes: every packet toward one destination, hop by hop through
//! [`Routing::route`], the function the routers call, so no rule is written twice.

use crate::core::flit::Flit;
use crate::routing::{Route, Routing};

/// A channel: (router, output port, VC).
pub type Channel = (usize, usize, usize);

/// Walks packets toward one destination at a time and reports the dependencies their
/// paths create. Keeps its scratch space between destinations, so a check allocates
/// once however many trees it walks.
pub struct Walker<'a> {
    r: &'a Routing,
    np: usize,
    /// Follow the escape channel (adaptive routing) rather than the first candidate.
    anywhere: bool,
    /// More hops than any sane route takes: the route loops.
    limit: usize,
    route: Route,
    /// Per (node, input port): the stamp of the tree that last passed and the route
    /// header it carried then.
    seen: Vec<(u32, u16)>,
    stamp: u32,
}

impl<'a> Walker<'a> {
    pub fn new(r: &'a Routing) -> Walker<'a> {
        let t = r.torus();
        let np = t.network_ports();
        Walker {
            r,
            np,
            anywhere: r.escape_anywhere(),
            limit: 4 * t.nodes() + 16,
            route: Route::default(),
            seen: vec![(u32::MAX, 0); t.nodes() * (np + 1)],
            stamp: 0,
        }
    }

    /// Walks the packet of message class `class` from every node of `sources` to
    /// `dest` and calls `dep(held, requested)` for each dependency on the way (the same
    /// dependency may be reported more than once). Walks toward one destination merge:
    /// once a walk reaches a state (node, input port, route header) an earlier walk of
    /// this tree passed, the rest of its path is already reported, so a tree costs
    /// about one step per state, not per pair. Returns what is wrong with a route that
    /// uses a failed link, never arrives, or (adaptive) offers no escape channel.
    pub fn tree(
        &mut self,
        class: u8,
        dest: usize,
        sources: &[usize],
        dep: &mut impl FnMut(Channel, Channel),
    ) -> Result<(), String> {
        let t = self.r.torus();
        let np = self.np;
        self.stamp += 1;
        for &s in sources {
            if s == dest {
                continue;
            }
            let mut f = Flit {
                packet: crate::core::flit::packet_id(s as u32, 0),
                dest: dest as u32,
                len: 1,
                class,
                ..Default::default()
            };
            let (mut node, mut in_port) = (s, np);
            let mut prev: Option<Channel> = None;
            let mut hops = 0usize;
            loop {
                self.r.route(node, in_port, &f, &mut self.route);
                let c = if self.anywhere {
                    match self.route.as_slice().iter().find(|c| c.is_escape()) {
                        Some(c) => *c,
                        None if self
                            .route
                            .as_slice()
                            .iter()
                            .any(|c| c.port_lo as usize >= np) =>
                        {
                            break;
                        }
                        None => {
                            return Err(format!(
                                "adaptive routing offers no escape channel (at router {} toward {}): without one it can deadlock; set routing.escape = \"direction-order\" or \"dimension-order\"",
                                t.describe_node(node),
                                t.describe_node(dest)
                            ));
                        }
                    }
                } else {
                    match self.route.as_slice().first() {
                        Some(c) => *c,
                        None => break,
                    }
                };
                let out = c.port_lo as usize;
                if out >= np {
                    break;
                }
                if !t.link_alive(node, out) || hops > self.limit {
                    return Err(format!(
                        "the route from {} to {} {}",
                        t.describe_node(s),
                        t.describe_node(dest),
                        if hops > self.limit {
                            "does not reach its destination".to_string()
                        } else {
                            format!("uses the failed link {}", t.describe_link(node, out))
                        }
                    ));
                }
                let ch = (node, out, c.vc_lo as usize);
                if let Some(p) = prev {
                    dep(p, ch);
                }
                let st = &mut self.seen[node * (np + 1) + in_port.min(np)];
                if st.0 == self.stamp && st.1 == f.route {
                    break;
                }
                *st = (self.stamp, f.route);
                prev = Some(ch);
                hops += 1;
                f.route = c.header;
                in_port = out;
                node = t.neighbor(node, out);
            }
        }
        Ok(())
    }
}
