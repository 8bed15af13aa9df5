//! Switch allocation: which input VCs send a flit through the crossbar this cycle.
//!
//! An input VC that holds an output VC requests the switch once its pipeline delay
//! has passed, its output VC has a credit and the link has bandwidth
//! ([`Router::switch_ready`]). The separable allocator ([`Router::switch_allocate`])
//! grants each output port to one request; with `router.input_arbiter` an input port
//! also sends at most one flit per cycle, arbitrated before the output stage
//! (input-first) or among the output grants (output-first).

use super::arbiter::{Request, pick};
use super::{Router, RouterSpec, Scratch};
use crate::config::schema::AllocatorKind;

impl Router {
    /// Whether input VC `i`, holding output VC (`out`, `out_vc`) from cycle `ready`,
    /// can request the switch for its front flit in cycle `t`.
    #[inline]
    pub(super) fn switch_ready(&self, spec: &RouterSpec, i: usize, t: u64) -> bool {
        let ivc = &self.inputs[i];
        let op = ivc.out as usize;
        ivc.ready <= t
            && self.outputs[op * spec.vcs + ivc.out_vc as usize].credits > 0
            && self.ports[op].link_ready(spec, op, t)
    }

    /// Separable switch allocation over `sc.sa`; winners go to `sc.won` as
    /// (input VC index, output port).
    #[inline]
    pub(super) fn switch_allocate(&mut self, spec: &RouterSpec, sc: &mut Scratch) {
        let n_in = self.inputs.len() as u16;
        let v = spec.vcs as u16;
        sc.won.clear();
        if let [(_, o, r)] = sc.sa[..] {
            // A lone request wins every arbiter, whatever its kind (the common case at
            // low and moderate load): no grouping, no sorting.
            sc.won.push((r.idx, o));
        } else {
            self.arbitrate(spec, sc, n_in, v);
        }
        // Commit arbiter pointers of the final winners.
        for &(i, o) in &sc.won {
            self.ports[o as usize].rr = i;
            if spec.input_arbiter {
                self.in_rr[(i / v) as usize] = i;
            }
        }
    }

    /// Separable allocation among several requests: the input stage (if any) and the
    /// output stage in the configured order.
    fn arbitrate(&mut self, spec: &RouterSpec, sc: &mut Scratch, n_in: u16, v: u16) {
        // Requests are in input-VC order, hence grouped by input port.
        if spec.input_arbiter && spec.allocator == AllocatorKind::InputFirst {
            // Input stage: one VC per input port.
            sc.sa_in.clear();
            let mut s = 0;
            while s < sc.sa.len() {
                let port = sc.sa[s].0;
                let mut e = s;
                sc.tmp.clear();
                while e < sc.sa.len() && sc.sa[e].0 == port {
                    sc.tmp.push(sc.sa[e].2);
                    e += 1;
                }
                let w = pick(spec.arbiter, &sc.tmp, self.in_rr[port as usize], n_in);
                sc.sa_in.push(sc.sa[s + w]);
                s = e;
            }
            std::mem::swap(&mut sc.sa, &mut sc.sa_in);
        }
        // Output stage: one input per output port.
        if sc.sa.len() == 1 {
            // Uncontended (the common case below saturation): the request wins.
            let (_, o, r) = sc.sa[0];
            sc.won.push((r.idx, o));
        } else {
            sc.sa.sort_unstable_by_key(|(_, o, r)| (*o, r.idx));
            let mut s = 0;
            while s < sc.sa.len() {
                let o = sc.sa[s].1;
                let mut e = s + 1;
                while e < sc.sa.len() && sc.sa[e].1 == o {
                    e += 1;
                }
                let w = if e == s + 1 {
                    // A lone request for this output wins it without arbitration.
                    sc.sa[s].2.idx
                } else {
                    sc.tmp.clear();
                    sc.tmp.extend(sc.sa[s..e].iter().map(|x| x.2));
                    sc.tmp[pick(spec.arbiter, &sc.tmp, self.ports[o as usize].rr, n_in)].idx
                };
                sc.won.push((w, o));
                s = e;
            }
        }
        if spec.input_arbiter && spec.allocator == AllocatorKind::OutputFirst {
            // Input stage after output grants: an input port accepts one grant.
            sc.won.sort_unstable_by_key(|&(i, _)| i);
            let won = std::mem::take(&mut sc.won);
            let mut s = 0;
            while s < won.len() {
                let port = won[s].0 / v;
                let mut e = s;
                sc.tmp.clear();
                while e < won.len() && won[e].0 / v == port {
                    let f = self.inputs[won[e].0 as usize]
                        .peek(&self.store)
                        .unwrap_or_default();
                    sc.tmp.push(Request {
                        idx: won[e].0,
                        age: (f.created, f.packet),
                    });
                    e += 1;
                }
                let w = pick(spec.arbiter, &sc.tmp, self.in_rr[port as usize], n_in);
                sc.won.push(won[s + w]);
                s = e;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Input VC `i` requests output port `o`.
    fn req(spec: &RouterSpec, i: u16, o: u16) -> (u16, u16, Request) {
        (
            i / spec.vcs as u16,
            o,
            Request {
                idx: i,
                age: (0, 0),
            },
        )
    }

    /// Requests from several VCs of the same input ports to overlapping outputs.
    fn requests(spec: &RouterSpec) -> Vec<(u16, u16, Request)> {
        let v = spec.vcs as u16;
        let mut r = vec![
            req(spec, 0, 2),
            req(spec, 1, 3),
            req(spec, v, 2),
            req(spec, v + 1, 1),
            req(spec, 2 * v, 3),
        ];
        r.sort_unstable_by_key(|x| x.2.idx);
        r
    }

    fn allocate(spec: &RouterSpec, rounds: usize) -> Vec<Vec<(u16, u16)>> {
        let mut router = Router::new(0, spec);
        let mut sc = Scratch::default();
        (0..rounds)
            .map(|_| {
                sc.sa.clear();
                sc.sa.extend(requests(spec));
                router.switch_allocate(spec, &mut sc);
                let mut w = sc.won.clone();
                w.sort_unstable();
                w
            })
            .collect()
    }

    fn check_one_per_output(won: &[(u16, u16)]) {
        let outs: BTreeSet<u16> = won.iter().map(|w| w.1).collect();
        assert_eq!(outs.len(), won.len(), "two winners on one output: {won:?}");
    }

    fn check_one_per_input(spec: &RouterSpec, won: &[(u16, u16)]) {
        let ins: BTreeSet<u16> = won.iter().map(|w| w.0 / spec.vcs as u16).collect();
        assert_eq!(ins.len(), won.len(), "two winners on one input: {won:?}");
    }

    #[test]
    fn without_input_arbiter_one_winner_per_output() {
        let mut spec = super::super::tests::spec();
        spec.input_arbiter = false;
        let rounds = allocate(&spec, 4);
        let v = spec.vcs as u16;
        for won in &rounds {
            check_one_per_output(won);
            assert_eq!(won.len(), 3, "every requested output is granted: {won:?}");
        }
        // Round-robin (the pointer starts at 0): output 2 alternates between its two
        // requesters.
        let on2: Vec<u16> = rounds
            .iter()
            .map(|w| w.iter().find(|x| x.1 == 2).unwrap().0)
            .collect();
        assert_eq!(on2, [v, 0, v, 0]);
    }

    #[test]
    fn input_first_gives_one_winner_per_input_and_output() {
        let mut spec = super::super::tests::spec();
        spec.input_arbiter = true;
        spec.allocator = AllocatorKind::InputFirst;
        for won in allocate(&spec, 6) {
            check_one_per_output(&won);
            check_one_per_input(&spec, &won);
            assert!(!won.is_empty());
        }
    }

    #[test]
    fn output_first_gives_one_winner_per_input_and_output() {
        let mut spec = super::super::tests::spec();
        spec.input_arbiter = true;
        spec.allocator = AllocatorKind::OutputFirst;
        for won in allocate(&spec, 6) {
            check_one_per_output(&won);
            check_one_per_input(&spec, &won);
            assert!(!won.is_empty());
        }
    }

    #[test]
    fn switch_ready_needs_credit_and_pipeline_delay() {
        let spec = super::super::tests::spec();
        let mut router = Router::new(0, &spec);
        let i = 5;
        router.inputs[i].out = 2;
        router.inputs[i].out_vc = 1;
        router.inputs[i].ready = 10;
        assert!(!router.switch_ready(&spec, i, 9));
        assert!(router.switch_ready(&spec, i, 10));
        router.outputs[2 * spec.vcs + 1].credits = 0;
        assert!(!router.switch_ready(&spec, i, 10));
    }
}
