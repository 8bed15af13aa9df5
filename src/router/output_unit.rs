//! The output side of the router: per output VC, the credits of the downstream buffer,
//! its owner and (under bubble flow control) the packet slots taken downstream; per
//! output port, the switch arbiter's pointer and the
//! token bucket of a link slower than one flit per cycle.
//!
//! Kept apart from the input side because it is what VC allocation reads (free VC,
//! credits, slots) and what switch allocation and traversal spend (credits, link
//! tokens), and because its accounting (bubble slots, fractional link rates) is easy
//! to get subtly wrong and is tested here on its own.

use super::RouterSpec;

/// `owner` of an output VC no input VC holds.
pub(super) const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub(super) struct OutputVc {
    pub(super) credits: u32,
    pub(super) owner: u32,
    pub(super) rr: u16,
    /// Bubble flow control: packet slots taken downstream. A slot is freed by the
    /// credit of its packet's tail (the downstream VC is a FIFO, so that credit comes
    /// back when the whole packet has left it).
    pub(super) slots_used: u32,
}

impl OutputVc {
    /// A free output VC whose downstream buffer holds `credits` flits.
    pub(super) fn new(credits: u32) -> OutputVc {
        OutputVc {
            credits,
            owner: NONE,
            rr: u16::MAX,
            slots_used: 0,
        }
    }

    /// Bubble flow control: a packet takes one slot downstream, whatever its length.
    #[inline]
    pub(super) fn take_slot(&mut self) {
        self.slots_used += 1;
    }

    /// A credit came back (`tail`: for a packet's last flit). With `bubble` (bubble
    /// flow control on a network port) a tail's credit frees its packet's slot.
    #[inline]
    pub(super) fn return_credit(&mut self, bubble: bool, tail: bool) {
        self.credits += 1;
        if bubble && tail {
            self.slots_used -= 1;
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(super) struct OutPort {
    /// Switch allocation's round-robin pointer for this output.
    pub(super) rr: u16,
    pub(super) tokens: u64,
    pub(super) last: u64,
    /// Flits sent through this output (the load of a network port's link). Kept here,
    /// beside the link's bucket that every traversal updates anyway, rather than in
    /// an array of its own: one cache line less per flit on a large network.
    pub(super) flits: u64,
}

impl OutPort {
    /// An output port whose link bucket starts full (one flit's worth).
    pub(super) fn new(spec: &RouterSpec) -> OutPort {
        OutPort {
            tokens: spec.link_rate.map(|r| r.den).unwrap_or(0),
            ..Default::default()
        }
    }

    /// Whether the link behind output `port` has bandwidth for a flit in cycle `t`:
    /// rates below one flit per cycle accumulate exactly, as a fraction `num / den` per
    /// cycle. The bucket holds less than two flits' worth (`den + num - 1`): an idle
    /// link cannot save up a burst, but a busy one never loses the fraction of a cycle
    /// it has earned.
    #[inline]
    pub(super) fn link_ready(&self, spec: &RouterSpec, port: usize, t: u64) -> bool {
        match spec.link_rate {
            Some(r) if port < spec.np => {
                (self.tokens + (t - self.last) * r.num).min(r.den + r.num - 1) >= r.den
            }
            _ => true,
        }
    }

    /// Spends one flit's worth of the link's bucket (a flit leaves in cycle `t`).
    #[inline]
    pub(super) fn take_token(&mut self, spec: &RouterSpec, port: usize, t: u64) {
        if let Some(r) = spec.link_rate
            && port < spec.np
        {
            self.tokens = (self.tokens + (t - self.last) * r.num).min(r.den + r.num - 1) - r.den;
            self.last = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::params::LinkRate;

    #[test]
    fn half_rate_link_is_ready_every_other_cycle() {
        let mut spec = super::super::tests::spec();
        spec.link_rate = Some(LinkRate { num: 1, den: 2 });
        let mut p = OutPort::new(&spec);
        let mut sent = Vec::new();
        for t in 0..10 {
            if p.link_ready(&spec, 0, t) {
                p.take_token(&spec, 0, t);
                sent.push(t);
            }
        }
        assert_eq!(sent, [0, 2, 4, 6, 8]);
        // An ejection port (beyond the network ports) is never rate-limited.
        let mut e = OutPort::new(&spec);
        for t in 0..4 {
            assert!(e.link_ready(&spec, spec.np, t));
            e.take_token(&spec, spec.np, t);
        }
    }

    #[test]
    fn idle_link_saves_no_burst() {
        let mut spec = super::super::tests::spec();
        spec.link_rate = Some(LinkRate { num: 2, den: 3 });
        let mut p = OutPort::new(&spec);
        p.take_token(&spec, 1, 0);
        // Long idle: the bucket is capped below two flits, so one flit then a wait.
        assert!(p.link_ready(&spec, 1, 100));
        p.take_token(&spec, 1, 100);
        assert!(!p.link_ready(&spec, 1, 100));
        // 2/3 flit per cycle: 2 flits every 3 cycles while busy.
        let sent = (101..113)
            .filter(|&t| {
                let ok = p.link_ready(&spec, 1, t);
                if ok {
                    p.take_token(&spec, 1, t);
                }
                ok
            })
            .count();
        assert_eq!(sent, 8);
    }

    #[test]
    fn bubble_slot_freed_when_its_packet_has_left() {
        let mut o = OutputVc::new(10);
        o.take_slot();
        o.take_slot();
        o.credits -= 5;
        assert_eq!(o.slots_used, 2);
        for _ in 0..2 {
            o.return_credit(true, false);
        }
        assert_eq!(o.slots_used, 2, "the 3-flit packet has not left yet");
        o.return_credit(true, true);
        assert_eq!(o.slots_used, 1);
        o.return_credit(true, false);
        o.return_credit(true, true);
        assert_eq!((o.slots_used, o.credits), (0, 10));
    }

    #[test]
    fn credits_without_bubble_leave_slots_alone() {
        let mut o = OutputVc::new(4);
        o.take_slot();
        o.credits -= 1;
        o.return_credit(false, true);
        assert_eq!((o.credits, o.slots_used), (4, 1));
    }
}
