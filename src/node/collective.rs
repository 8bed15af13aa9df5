//! The collectives engine of the adapter: hardware barrier, broadcast and reductions on
//! a virtual tree subnetwork.
//!
//! Every node's adapter holds an engine. Tree packets travel one link, from the engine
//! at one node to the engine at a tree neighbour, on the tree's own VC: out through the
//! router's injector, across the link, into the neighbour router's ejector, where the
//! adapter hands them to its engine at once (they never cross PCIe). The engine
//! - **combines** on the way up: element `i` of a reduction leaves for the parent once
//!   the local contribution and element `i` of every child have arrived; the value is
//!   the operation applied to all of them;
//! - **replicates** on the way down: a result (or a barrier's release) arriving from the
//!   parent goes on to every child (a reduction to one PE: only toward that PE) and to
//!   the local PE;
//! - **floods** a broadcast: each packet goes on to every tree neighbour but the one it
//!   came from, so it spreads from its source through the whole tree.
//!
//! Each pass through an engine (the inputs complete, or a packet to replicate arrives)
//! takes `collectives.combine_delay`. The PE hands its contribution to the adapter over
//! PCIe (message overhead, then the words at PCIe rate, then the PCIe latency), and the
//! adapter writes results into the PE's memory over PCIe (the words at PCIe rate, then
//! the latency), as other data moves; a barrier moves a contribution and a release of
//! no words (one transaction each way).
//!
//! A reduction packet carries one 64-bit element (header plus 8 bytes of payload) in
//! its tag; a vector of `n` words is `n` packets per tree edge, combined and forwarded
//! element by element, so long vectors pipeline through the tree. A broadcast is cut
//! into packets of at most `node.max_payload_bytes`.
//!
//! Collectives are matched by order: the k-th collective of every PE is collective k,
//! on tree `k mod trees`, and its packets carry `k` and what the collective is. A
//! packet that does not fit what the local PE called (another operation, another root
//! of a broadcast, more elements) stops that collective here, and the stall report
//! names both sides.

use super::nic::{Nic, PacketDesc};
use super::op::{Collective, ReduceOp};
use super::pcie::{PcieLink, Run};
use super::shmem::ShmemSpec;
use crate::core::flit::{CLASS_TREE, Flit, NodeTag};
use crate::topology::tree::{Tree, TreeSet};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Tree packets are `KIND_TREE + 8 * type + op` (the node protocol's other kinds are
/// below it).
pub const KIND_TREE: u8 = 16;
const T_BARRIER: u8 = 0;
const T_BCAST: u8 = 1;
const T_ALLREDUCE: u8 = 2;
const T_REDUCE: u8 = 3;

/// Whether a packet of kind `kind` is a tree packet.
pub fn is_tree_kind(kind: u8) -> bool {
    kind >= KIND_TREE
}

/// The trees of a run and the engine's timing, shared by every node.
#[derive(Clone, Debug)]
pub struct TreeSpec {
    pub trees: Arc<TreeSet>,
    pub combine_delay: u64,
}

fn kind_of(c: &Collective) -> u8 {
    KIND_TREE
        + match c {
            Collective::Barrier => 8 * T_BARRIER,
            Collective::Broadcast { .. } => 8 * T_BCAST,
            Collective::Reduce { root: None, op, .. } => 8 * T_ALLREDUCE + op.index(),
            Collective::Reduce { op, .. } => 8 * T_REDUCE + op.index(),
        }
}

fn kind_name(kind: u8) -> String {
    let k = kind - KIND_TREE;
    let op = ReduceOp::ALL[(k % 8) as usize % ReduceOp::ALL.len()].name();
    match k / 8 {
        T_BARRIER => "hbarrier".into(),
        T_BCAST => "hbcast".into(),
        T_ALLREDUCE => format!("hallreduce {op}"),
        _ => format!("hreduce {op}"),
    }
}

fn describe(c: &Collective) -> String {
    match c {
        Collective::Barrier => "hbarrier".into(),
        Collective::Broadcast { root, bytes } => format!("hbcast from PE {root} of {bytes} B"),
        Collective::Reduce {
            root, op, words, ..
        } => format!(
            "{} {} of {} word(s){}",
            c.name(),
            op.name(),
            words.len(),
            root.map_or(String::new(), |r| format!(" to PE {r}"))
        ),
    }
}

/// What the local PE called for one collective.
#[derive(Debug)]
struct Local {
    coll: Arc<Collective>,
    kind: u8,
    /// Elements of a reduction (1 for a barrier, 0 for a broadcast).
    len: usize,
    /// The contribution has reached the adapter.
    arrived: bool,
    /// The PE has taken the completion.
    consumed: bool,
}

/// One collective at this node.
#[derive(Debug, Default)]
struct State {
    local: Option<Local>,
    /// The first tree packet's (sender, tag), kept until the PE calls the collective,
    /// to check it then.
    early: Option<(u32, NodeTag)>,
    mismatch: Option<String>,
    /// Reductions: the combined value of the children's element `i` so far, how many
    /// children it holds, and the elements received from each child.
    acc: Vec<u64>,
    got: Vec<u16>,
    from_child: Vec<u64>,
    /// Elements sent to the parent; results known here; results forwarded by the root
    /// or received from the parent.
    up_sent: usize,
    results: Vec<u64>,
    known: usize,
    passed: usize,
    /// Broadcast: packets received, their bytes, when the last one is in memory; at
    /// the source, its PCIe run and the next packet to send.
    packets_in: u64,
    bytes_in: u64,
    written: u64,
    source: Option<(Run, u64)>,
    /// When the PE may leave the collective (its result is in memory, or its part
    /// is done).
    done_at: Option<u64>,
}

/// A node's collectives engine.
#[derive(Debug)]
pub struct CollectiveEngine {
    node: u32,
    spec: TreeSpec,
    /// Collectives the PE has called so far.
    posted: u64,
    states: BTreeMap<u64, State>,
    /// Work that waits for data from the host: (cycle, collective, packet of a
    /// broadcast or `u64::MAX` for a contribution).
    events: BTreeSet<(u64, u64, u64)>,
}

impl CollectiveEngine {
    pub fn new(node: u32, spec: TreeSpec) -> CollectiveEngine {
        CollectiveEngine {
            node,
            spec,
            posted: 0,
            states: BTreeMap::new(),
            events: BTreeSet::new(),
        }
    }

    /// The tree collective `seq` runs on, and the (shared) tree set.
    fn tree(&self, seq: u64) -> (usize, Arc<TreeSet>) {
        let t = (seq % self.spec.trees.trees.len() as u64) as usize;
        (t, self.spec.trees.clone())
    }

    /// The PE calls collective `coll` in cycle `t`; returns its number and the cycle
    /// the host side is done (the contribution has crossed PCIe).
    pub fn post(
        &mut self,
        t: u64,
        coll: Arc<Collective>,
        sp: &ShmemSpec,
        pcie: &mut PcieLink,
    ) -> (u64, u64) {
        let seq = self.posted;
        self.posted += 1;
        let me = sp.pe_of(self.node).unwrap_or(u32::MAX);
        let start = t.saturating_add(sp.message_overhead);
        let lat = sp.pcie.latency;
        let kind = kind_of(&coll);
        let (len, host_done) = match coll.as_ref() {
            Collective::Barrier => (1, pcie.transfer(start, 0)),
            Collective::Reduce { words, .. } => {
                (words.len(), pcie.transfer(start, 8 * words.len() as u64))
            }
            Collective::Broadcast { root, bytes } if *root == me => {
                let (count, full, last) = sp.split(*bytes);
                let run = pcie.transfer_run(start, full.payload as u64, count, last.payload as u64);
                self.events.insert((run.end_of(0) + lat, seq, 0));
                let st = self.states.entry(seq).or_default();
                st.source = Some((run, count));
                (0, run.end_of(count - 1))
            }
            // A receiver of a broadcast tells the adapter nothing.
            Collective::Broadcast { .. } => (0, t),
        };
        if len > 0 {
            self.events.insert((host_done + lat, seq, u64::MAX));
        }
        let own_part = matches!(coll.as_ref(), Collective::Reduce { root: Some(r), .. } if *r != me)
            || matches!(coll.as_ref(), Collective::Broadcast { root, .. } if *root == me);
        let st = self.states.entry(seq).or_default();
        st.local = Some(Local {
            coll,
            kind,
            len,
            arrived: false,
            consumed: false,
        });
        if own_part {
            st.done_at = Some(host_done);
        }
        if let Some((from, tag)) = st.early.take() {
            self.check(seq, from, &tag, sp);
        }
        if let Some(st) = self.states.get_mut(&seq)
            && matches!(
                st.local.as_ref().map(|l| l.coll.as_ref()),
                Some(Collective::Broadcast { .. })
            )
            && st.done_at.is_none()
        {
            Self::bcast_complete(st, sp);
        }
        (seq, host_done)
    }

    /// Checks a packet of collective `seq` from `from` against what the PE called;
    /// records a mismatch.
    fn check(&mut self, seq: u64, from: u32, tag: &NodeTag, sp: &ShmemSpec) -> bool {
        let Some(st) = self.states.get_mut(&seq) else {
            return true;
        };
        let Some(l) = &st.local else { return true };
        let ok = tag.kind == l.kind
            && match l.coll.as_ref() {
                Collective::Broadcast { root, bytes } => {
                    tag.flag == (*root & 0xFFFF) as u16 && tag.size == *bytes
                }
                Collective::Reduce { .. } => (tag.flag as usize) < l.len,
                Collective::Barrier => true,
            };
        if !ok && st.mismatch.is_none() {
            let pe = |n: u32| {
                sp.pe_of(n)
                    .map_or(format!("node {n}"), |p| format!("PE {p}"))
            };
            let what = if tag.kind == l.kind {
                match l.coll.as_ref() {
                    Collective::Broadcast { .. } => format!(
                        "{} (root PE {} mod 65536, {} B)",
                        kind_name(tag.kind),
                        tag.flag,
                        tag.size
                    ),
                    _ => format!("{} with element {} or more", kind_name(tag.kind), tag.flag),
                }
            } else {
                kind_name(tag.kind)
            };
            st.mismatch = Some(format!(
                "mismatched collective #{seq}: this PE called {} but the adapter of {} (its tree neighbour) sent {what}",
                describe(&l.coll),
                pe(from)
            ));
        }
        ok
    }

    /// A tree packet has arrived (its tail, in cycle `t`).
    pub fn accept(&mut self, t: u64, f: &Flit, sp: &ShmemSpec, nic: &mut Nic) {
        let seq = f.tag.msg as u64;
        let from = f.src();
        let st = self.states.entry(seq).or_default();
        if st.mismatch.is_some() {
            return;
        }
        if st.local.is_none() {
            if st.early.is_none() {
                st.early = Some((from, f.tag));
            } else if let Some((_, e)) = st.early
                && (e.kind != f.tag.kind
                    || ((e.kind - KIND_TREE) / 8 == T_BCAST
                        && (e.flag, e.size) != (f.tag.flag, f.tag.size)))
            {
                st.mismatch = Some(format!(
                    "mismatched collective #{seq}: tree neighbours sent {} and {} (this PE has not called it yet)",
                    kind_name(e.kind),
                    kind_name(f.tag.kind)
                ));
                return;
            }
        } else if !self.check(seq, from, &f.tag, sp) {
            return;
        }
        let at = t + self.spec.combine_delay;
        let (tree_i, trees) = self.tree(seq);
        let tree = &trees.trees[tree_i];
        let me = self.node as usize;
        let ty = (f.tag.kind - KIND_TREE) / 8;
        if ty == T_BCAST {
            for n in neighbours(tree, me) {
                if n != from as usize {
                    self.send(at, n, tree_i, seq, f.tag, f.payload, f.len, nic);
                }
            }
            let st = self.states.get_mut(&seq).expect("state exists");
            st.packets_in += 1;
            st.bytes_in += f.payload as u64;
            st.written = st.written.max(nic.write_to_host(at, f.payload as u64));
            if st.local.is_some() && st.done_at.is_none() {
                Self::bcast_complete(st, sp);
            }
            self.retire(seq, sp);
            return;
        }
        let i = f.tag.flag as usize;
        if tree.parent(me) == Some(from as usize) {
            self.result(seq, i, f.tag.size, at, sp, nic);
        } else {
            let Some(ci) = tree.children(me).iter().position(|&(c, _)| c == from) else {
                return;
            };
            let nkids = tree.children(me).len();
            let st = self.states.get_mut(&seq).expect("state exists");
            if st.got.len() <= i {
                st.got.resize(i + 1, 0);
                st.acc.resize(i + 1, 0);
            }
            if st.from_child.len() < nkids {
                st.from_child.resize(nkids, 0);
            }
            st.from_child[ci] += 1;
            let op = op_of(f.tag.kind);
            st.acc[i] = if st.got[i] == 0 {
                f.tag.size
            } else {
                op.apply(st.acc[i], f.tag.size)
            };
            st.got[i] = st.got[i].saturating_add(1);
            self.combine(t, seq, i, sp, nic);
        }
        self.retire(seq, sp);
    }

    /// Element `i` of reduction `seq` is complete here if the local contribution and
    /// every child's element have arrived: send it up, or at the root turn it down.
    fn combine(&mut self, t: u64, seq: u64, i: usize, sp: &ShmemSpec, nic: &mut Nic) {
        let (tree_i, trees) = self.tree(seq);
        let tree = &trees.trees[tree_i];
        let me = self.node as usize;
        let nkids = tree.children(me).len();
        let st = self.states.get_mut(&seq).expect("state exists");
        let Some(l) = &st.local else { return };
        if st.got.len() < l.len {
            st.got.resize(l.len, 0);
            st.acc.resize(l.len, 0);
        }
        if !l.arrived || i >= l.len || st.got.get(i).copied().unwrap_or(0) as usize != nkids {
            return;
        }
        let (value, kind, _op) = match l.coll.as_ref() {
            Collective::Reduce { op, words, .. } => {
                let v = if nkids == 0 {
                    words[i]
                } else {
                    op.apply(st.acc[i], words[i])
                };
                (v, l.kind, *op)
            }
            _ => (0, l.kind, ReduceOp::Or),
        };
        // Taken: a late duplicate cannot complete it twice.
        st.got[i] = u16::MAX;
        let at = t + self.spec.combine_delay;
        match tree.parent(me) {
            Some(parent) => {
                st.up_sent += 1;
                let (tag, payload, len) = element_packet(kind, seq, i, value, sp);
                self.send(at, parent, tree_i, seq, tag, payload, len, nic);
            }
            None => self.result(seq, i, value, at, sp, nic),
        }
    }

    /// The result of element `i` is known here in cycle `at`: pass it down and to the
    /// PE if it is for this PE.
    fn result(&mut self, seq: u64, i: usize, value: u64, at: u64, sp: &ShmemSpec, nic: &mut Nic) {
        let (tree_i, trees) = self.tree(seq);
        let tree = &trees.trees[tree_i];
        let me = self.node as usize;
        let Some(l) = self.states.get(&seq).and_then(|s| s.local.as_ref()) else {
            return;
        };
        let kind = l.kind;
        let len = l.len;
        let mine_to = match l.coll.as_ref() {
            Collective::Reduce { root: Some(r), .. } => Some(sp.node_of(*r) as usize),
            _ => None,
        };
        let (tag, payload, plen) = element_packet(kind, seq, i, value, sp);
        match mine_to {
            None => {
                for &(c, _) in tree.children(me) {
                    self.send(at, c as usize, tree_i, seq, tag, payload, plen, nic);
                }
            }
            Some(target) => {
                if let Some(c) = tree.child_toward(me, target) {
                    self.send(at, c, tree_i, seq, tag, payload, plen, nic);
                }
            }
        }
        let st = self.states.get_mut(&seq).expect("state exists");
        st.passed += 1;
        if mine_to.is_some_and(|n| n != me) {
            return;
        }
        if st.results.len() < len {
            st.results.resize(len, 0);
        }
        st.results[i] = value;
        st.known += 1;
        if st.known == len {
            let bytes = if is_barrier(kind) { 0 } else { 8 * len as u64 };
            st.done_at = Some(nic.write_to_host(at, bytes));
        }
    }

    fn bcast_complete(st: &mut State, sp: &ShmemSpec) {
        if let Some(Collective::Broadcast { bytes, .. }) =
            st.local.as_ref().map(|l| l.coll.as_ref())
        {
            let (count, _, _) = sp.split(*bytes);
            if st.packets_in == count {
                st.done_at = Some(st.written);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        at: u64,
        dest: usize,
        tree: usize,
        seq: u64,
        tag: NodeTag,
        payload: u16,
        len: u16,
        nic: &mut Nic,
    ) {
        let _ = seq;
        nic.enqueue(PacketDesc {
            dest: dest as u32,
            len,
            class: CLASS_TREE + tree as u8,
            created: at,
            measured: true,
            tag,
            payload,
            ready: at,
        });
    }

    /// Runs the work due by cycle `t` (contributions and broadcast data that have
    /// crossed PCIe).
    pub fn advance(&mut self, t: u64, sp: &ShmemSpec, nic: &mut Nic) {
        while let Some(&(at, seq, what)) = self.events.first() {
            if at > t {
                break;
            }
            self.events.pop_first();
            if what == u64::MAX {
                let len = match self.states.get_mut(&seq).and_then(|s| s.local.as_mut()) {
                    Some(l) => {
                        l.arrived = true;
                        l.len
                    }
                    None => continue,
                };
                for i in 0..len {
                    self.combine(at, seq, i, sp, nic);
                }
            } else {
                self.source_packet(at, seq, what, sp, nic);
            }
            self.retire(seq, sp);
        }
    }

    /// Packet `i` of a broadcast this PE is the source of has reached the adapter in
    /// cycle `t`: it goes to every tree neighbour.
    fn source_packet(&mut self, t: u64, seq: u64, i: u64, sp: &ShmemSpec, nic: &mut Nic) {
        let (tree_i, trees) = self.tree(seq);
        let tree = &trees.trees[tree_i];
        let me = self.node as usize;
        let Some(st) = self.states.get_mut(&seq) else {
            return;
        };
        let (Some((run, count)), Some(l)) = (st.source, &st.local) else {
            return;
        };
        let Collective::Broadcast { root, bytes } = *l.coll else {
            return;
        };
        let kind = l.kind;
        let (_, full, last) = sp.split(bytes);
        let shape = if i + 1 < count { full } else { last };
        if i + 1 < count {
            self.events
                .insert((run.end_of(i + 1) + sp.pcie.latency, seq, i + 1));
        }
        let tag = NodeTag {
            kind,
            flag: (root & 0xFFFF) as u16,
            msg: seq as u32,
            size: bytes,
            arg: 0,
        };
        let at = t + self.spec.combine_delay;
        for n in neighbours(tree, me) {
            self.send(at, n, tree_i, seq, tag, shape.payload, shape.len, nic);
        }
        if let Some(st) = self.states.get_mut(&seq) {
            st.packets_in += 1;
        }
    }

    /// Forgets collective `seq` once the PE has taken it and the engine has nothing
    /// left to do for it.
    fn retire(&mut self, seq: u64, sp: &ShmemSpec) {
        let Some(st) = self.states.get(&seq) else {
            return;
        };
        let Some(l) = &st.local else { return };
        if !l.consumed || st.mismatch.is_some() {
            return;
        }
        let (ti, trees) = self.tree(seq);
        let tree = &trees.trees[ti];
        let me = self.node as usize;
        let up_done = tree.parent(me).is_none() || st.up_sent == l.len;
        let finished = match l.coll.as_ref() {
            Collective::Broadcast { .. } => {
                // Every packet has been seen (or, at the source, sent).
                st.source
                    .map_or(st.done_at.is_some(), |(_, c)| st.packets_in == c)
            }
            Collective::Reduce { root: Some(r), .. } => {
                // Nodes from the tree root to the target forward the result.
                let target = sp.node_of(*r) as usize;
                let on_path = tree.parent(me).is_none()
                    || me == target
                    || tree.child_toward(me, target).is_some();
                up_done && (!on_path || st.passed == l.len)
            }
            _ => up_done && st.passed == l.len,
        };
        if finished {
            self.states.remove(&seq);
        }
    }

    /// Whether collective `seq` is complete for the PE by cycle `t`; if so, the PE
    /// takes it and gets the result it reads (a reduction's words, a broadcast's
    /// bytes received).
    pub fn take(&mut self, seq: u64, t: u64, sp: &ShmemSpec) -> Option<Vec<u64>> {
        let st = self.states.get_mut(&seq)?;
        if st.mismatch.is_some() || st.done_at.is_none_or(|d| d > t) {
            return None;
        }
        let l = st.local.as_mut()?;
        l.consumed = true;
        let out = match l.coll.as_ref() {
            Collective::Reduce { .. } if st.known == l.len => st.results.clone(),
            Collective::Broadcast { bytes, .. } => {
                if st.source.is_some() {
                    vec![*bytes]
                } else {
                    vec![st.bytes_in]
                }
            }
            _ => Vec::new(),
        };
        self.retire(seq, sp);
        Some(out)
    }

    /// The result of reduction `seq` if it is in the PE's memory by cycle `t` (all of
    /// it, for this PE), without the PE taking the collective.
    pub fn landed(&self, seq: u64, t: u64) -> Option<&[u64]> {
        let st = self.states.get(&seq)?;
        let l = st.local.as_ref()?;
        let ok = st.mismatch.is_none()
            && st.done_at.is_some_and(|d| d <= t)
            && matches!(l.coll.as_ref(), Collective::Reduce { .. })
            && st.known == l.len;
        ok.then_some(&st.results[..])
    }

    /// The next cycle the engine or its PE needs to run for (data from the host, a
    /// result landing in memory).
    pub fn next_wake(&self, t: u64) -> Option<u64> {
        let ev = self.events.first().map(|e| e.0.max(t + 1));
        let done = self
            .states
            .values()
            .filter(|s| s.local.as_ref().is_some_and(|l| !l.consumed))
            .filter_map(|s| s.done_at)
            .filter(|&d| d > t)
            .min();
        match (ev, done) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the engine has work of its own pending.
    pub fn busy(&self) -> bool {
        !self.events.is_empty()
    }

    /// What collective `seq` waits for here, for a stall report.
    pub fn describe(&self, seq: u64, sp: &ShmemSpec) -> String {
        let (t, trees) = self.tree(seq);
        let tree = &trees.trees[t];
        let me = self.node as usize;
        let pe = |n: usize| {
            sp.pe_of(n as u32)
                .map_or(format!("node {n}"), |p| format!("PE {p}"))
        };
        let Some(st) = self.states.get(&seq) else {
            return format!("collective #{seq} (tree {t})");
        };
        let name = st
            .local
            .as_ref()
            .map_or("a collective".to_string(), |l| describe(&l.coll));
        let head = format!("{name} (collective #{seq}, tree {t})");
        if let Some(m) = &st.mismatch {
            return format!("{head}: {m}");
        }
        let Some(l) = &st.local else { return head };
        let why = match l.coll.as_ref() {
            Collective::Broadcast { bytes, .. } => format!(
                "for broadcast data from its tree neighbours ({} of {bytes} B here)",
                st.bytes_in
            ),
            _ if !l.arrived => "for its contribution to reach the adapter".into(),
            _ => {
                let missing: Vec<String> = tree
                    .children(me)
                    .iter()
                    .enumerate()
                    .filter(|&(ci, _)| st.from_child.get(ci).copied().unwrap_or(0) < l.len as u64)
                    .map(|(_, &(c, _))| pe(c as usize))
                    .collect();
                if !missing.is_empty() {
                    format!(
                        "for the contribution of its tree child(ren) {}",
                        missing.join(", ")
                    )
                } else if let Some(p) = tree.parent(me) {
                    format!("for the result from its tree parent {}", pe(p))
                } else {
                    "at the tree root".into()
                }
            }
        };
        format!("{head}: waits {why}")
    }

    /// Mismatches found for collectives the PE is not waiting in (it may have ended).
    pub fn mismatches(&self) -> Vec<String> {
        self.states
            .values()
            .filter_map(|s| s.mismatch.clone())
            .collect()
    }
}

fn op_of(kind: u8) -> ReduceOp {
    ReduceOp::ALL[((kind - KIND_TREE) % 8) as usize % ReduceOp::ALL.len()]
}

/// The tree neighbours of `n`: its parent first, then its children.
fn neighbours(tree: &Tree, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = tree.parent(n).into_iter().collect();
    v.extend(tree.children(n).iter().map(|&(c, _)| c as usize));
    v
}

/// Whether a tree packet kind belongs to a barrier (its packets carry no element).
fn is_barrier(kind: u8) -> bool {
    (kind - KIND_TREE) / 8 == T_BARRIER
}

/// The tag, payload bytes and flit count of the packet carrying element `i` (`value`)
/// of collective `seq`: one 64-bit element, or nothing for a barrier.
fn element_packet(kind: u8, seq: u64, i: usize, value: u64, sp: &ShmemSpec) -> (NodeTag, u16, u16) {
    let tag = NodeTag {
        kind,
        flag: i as u16,
        msg: seq as u32,
        size: value,
        arg: 0,
    };
    let payload: u16 = if is_barrier(kind) { 0 } else { 8 };
    (tag, payload, sp.shape(u32::from(payload)).len)
}
