//! ShmemPE: a processing element that runs a program of SHMEM operations through its
//! network adapter.
//!
//! Protocol, all as real network traffic:
//! - `put`: the host hands the message to the adapter over PCIe (per-message overhead,
//!   then the data at PCIe rate; writes are posted, so the PE goes on once its side of
//!   the transfer is done and the packets sit in the adapter's send queue). The adapter
//!   splits it into packets of at most `node.max_payload_bytes`. When the last packet
//!   has been written into the target's memory, the target's adapter returns an
//!   acknowledgement packet on the response subnetwork. With
//!   `node.put_completion = "injected"` the put returns only once the last packet of the
//!   message has left the adapter into the router (the blocking `shmem_put` of the
//!   SHMEM library the 2012 SpMV paper used); the PE cannot then prepare its next
//!   message while the adapter still injects this one.
//! - `quiet`: waits until every put of this PE has been acknowledged.
//! - `get`: a request packet; the target's adapter reads the data from memory over PCIe
//!   (a round trip) and returns it in response packets; the get completes when all of it
//!   is in the requester's memory.
//! - `barrier`: `quiet`, then a dissemination barrier (Hensgen, Finkel and Manber): in
//!   round r each PE sends a token to PE (me + 2^r) mod p and waits for the token from
//!   (me - 2^r) mod p; after ceil(log2 p) rounds every PE has heard, directly or
//!   transitively, from every other, so none leaves before all arrived. Because each
//!   PE quiets first, every put issued before the barrier has landed when it ends.
//! - `wait F`: blocks until a put with `flag F` has completely landed here, then consumes
//!   that signal.
//!
//! - atomics (`fadd`, `cswap`, `swap`, `fetch`, `set`): the host writes the request
//!   (its operands) to the adapter over PCIe; a request packet carries the operation,
//!   the variable, the word and up to two operands to the target. The target's adapter
//!   executes atomics to one variable one at a time, in arrival order, each taking
//!   `node.atomic_latency` (its memory access over PCIe), and returns the old value in
//!   a response packet; the PE waits for it, even when it does not keep the value. An
//!   atomic to the PE's own variable does not enter the network but still goes through
//!   its adapter (PCIe both ways, the same serialisation and latency), so a PE and
//!   remote PEs see one consistent order of atomics to a variable.
//! - `let`, `if`, `while`: run on the host in no time, except that each turn of a
//!   `while` loop costs one cycle, so a loop spinning on a value moves time on.
//!
//! Requests (put data, get requests, barrier tokens, atomics) use message class 0 and
//! responses (acknowledgements, get data, atomic replies) class 1: separate virtual
//! subnetworks, so responses can never be blocked behind requests.

use super::atomic::AtomicKind;
use super::collective::{CollectiveEngine, TreeSpec, is_tree_kind};
use super::nic::{Nic, PacketDesc};
use super::op::{AtomicOp, Collective, MAX_FLAGS, Op};
use super::outgoing::{Outgoing, PacketShape};
use super::pcie::PcieLink;
use super::variables::{VarId, Variables};
use crate::config::Params;
use crate::config::schema::PutCompletion;
use crate::config::spec::{NicSpec, PcieSpec};
use crate::core::flit::{CLASS_REQUEST, CLASS_RESPONSE, Flit, NodeTag};
use crate::engine::{Endpoint, EndpointCtx, record_delivery};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

const KIND_PUT: u8 = 1;
const KIND_ACK: u8 = 2;
const KIND_GET_REQ: u8 = 3;
const KIND_GET_RESP: u8 = 4;
const KIND_BARRIER: u8 = 5;
const KIND_ATOMIC_RESP: u8 = 6;
/// Atomic requests: this plus the [`AtomicKind`] code.
const KIND_ATOMIC: u8 = 8;
const NO_FLAG: u16 = u16::MAX;

/// Node parameters shared by every PE of a run.
#[derive(Clone, Debug)]
pub struct ShmemSpec {
    pub npes: u32,
    /// Node of every PE, and PE of every node (`u32::MAX` for a failed node): with
    /// failed nodes the live ones are numbered 0.. in node order, so programs address
    /// PEs while packets address nodes.
    pe_node: Vec<u32>,
    node_pe: Vec<u32>,
    pub max_payload: u32,
    pub message_overhead: u64,
    pub send_queue_packets: u64,
    pub put_completion: PutCompletion,
    pub pcie: PcieSpec,
    header_bytes: u32,
    flit_bytes: u32,
    /// Cycles the target's adapter spends on one atomic.
    pub atomic_latency: u64,
    /// The collective trees, when the config has `[collectives]`.
    pub trees: Option<TreeSpec>,
}

impl ShmemSpec {
    pub fn new(p: &Params) -> ShmemSpec {
        let mut node_pe = vec![u32::MAX; p.nodes()];
        let mut pe_node = Vec::with_capacity(p.pes());
        for (n, slot) in node_pe.iter_mut().enumerate() {
            if p.faults.nodes.binary_search(&n).is_err() {
                *slot = pe_node.len() as u32;
                pe_node.push(n as u32);
            }
        }
        ShmemSpec {
            npes: pe_node.len() as u32,
            pe_node,
            node_pe,
            max_payload: p.node.max_payload,
            message_overhead: p.node.message_overhead,
            send_queue_packets: u64::from(p.node.send_queue_packets),
            put_completion: p.node.put_completion,
            pcie: p.node.pcie,
            header_bytes: p.header_bytes,
            flit_bytes: p.flit_bytes,
            atomic_latency: p.node.atomic_latency,
            trees: None,
        }
    }

    /// The spec with the collective trees of a run (those its routing was built with).
    pub fn with_trees(
        mut self,
        p: &Params,
        trees: Option<Arc<crate::topology::tree::TreeSet>>,
    ) -> Self {
        self.trees = trees
            .zip(p.collectives.as_ref())
            .map(|(trees, c)| TreeSpec {
                trees,
                combine_delay: c.combine_delay,
            });
        self
    }

    /// The node PE `pe` runs on.
    pub fn node_of(&self, pe: u32) -> u32 {
        self.pe_node[pe as usize]
    }

    /// The PE on `node` (`None` for a failed node).
    pub fn pe_of(&self, node: u32) -> Option<u32> {
        let pe = self.node_pe[node as usize];
        (pe != u32::MAX).then_some(pe)
    }

    /// The shape of a packet with `payload` bytes. The config check guarantees that a
    /// packet of `max_payload` bytes fits in `u16` flits, and payloads never exceed it.
    pub(super) fn shape(&self, payload: u32) -> PacketShape {
        let flits = (self.header_bytes as u64 + payload as u64)
            .div_ceil(self.flit_bytes as u64)
            .max(1);
        PacketShape {
            len: u16::try_from(flits).unwrap_or(u16::MAX),
            payload: u16::try_from(payload).unwrap_or(u16::MAX),
        }
    }

    /// How a `bytes`-byte message is cut: the packet count (one empty packet for 0
    /// bytes), the shape of every packet but the last, and the last one's.
    pub(super) fn split(&self, bytes: u64) -> (u64, PacketShape, PacketShape) {
        let max = self.max_payload as u64;
        let n = bytes.div_ceil(max).max(1);
        let last = bytes - (n - 1) * max;
        (n, self.shape(self.max_payload), self.shape(last as u32))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    None,
    /// The send queue is full.
    Queue,
    Acks,
    Gets,
    /// A blocking put waits until this many request packets have left the adapter.
    Injected(u64),
    Flag(u16),
    Barrier,
    /// An atomic's reply.
    Atomic,
    /// A statement failed (the message says why); the program stops here.
    Failed,
    /// A hardware collective (blocking, or `hwait`) is not complete yet.
    Collective,
}

/// An atomic to the PE's own variable, on its way through the adapter.
#[derive(Clone, Copy, Debug)]
enum SelfAtomic {
    /// The request reaches the adapter at `at`.
    Travelling {
        at: u64,
        kind: AtomicKind,
        var: VarId,
        word: u64,
        a: u64,
        b: u64,
    },
    /// The old value is back in host memory at `at`.
    Returning { at: u64, old: u64 },
}

impl SelfAtomic {
    fn at(&self) -> u64 {
        match *self {
            SelfAtomic::Travelling { at, .. } | SelfAtomic::Returning { at, .. } => at,
        }
    }
}

/// One processing element with its adapter.
pub struct ShmemPe {
    nic: Nic,
    me: u32,
    spec: Arc<ShmemSpec>,
    ops: Arc<Vec<Op>>,
    pc: usize,
    loops: Vec<u64>,
    /// The host is busy (computing, or writing to the adapter) until this cycle.
    busy_until: u64,
    wait: Wait,
    flags: Vec<u32>,
    acks_pending: u64,
    gets_pending: u64,
    next_msg: u32,
    /// Packets received so far of incomplete messages, by (source, kind, message id).
    partial: HashMap<(u32, u8, u32), u64>,
    barrier_epoch: u32,
    /// Next barrier round; `None` until the barrier's quiet is done.
    barrier_round: Option<u32>,
    barrier_sent: bool,
    /// The put whose injection the program waits for (`Wait::Injected`).
    injecting_pc: usize,
    tokens: [[u32; 32]; 2],
    pcie_down: PcieLink,
    marks: Vec<(u16, u64)>,
    finished: bool,
    finished_at: Option<u64>,
    /// Operations traced (`--trace`), if any.
    trace: Option<Box<super::op_trace::OpTrace>>,
    /// This PE's copy of the symmetric variables.
    vars: Variables,
    /// Local variables, by slot (0 until set).
    locals: Vec<i64>,
    /// Per variable: the cycle this adapter finishes the last atomic queued on it.
    atomic_free: Vec<u64>,
    /// An atomic of this PE awaits its reply.
    atomic_pending: bool,
    /// The local slot that receives the pending atomic's old value.
    atomic_result: Option<u16>,
    self_atomic: Option<SelfAtomic>,
    /// Why the program stopped, if a statement failed.
    failure: Option<String>,
    /// The adapter's collectives engine (with `[collectives]`).
    coll: Option<Box<CollectiveEngine>>,
    /// Collectives started (`hstart`) and not yet waited for, with their op index.
    started: VecDeque<(u64, u32)>,
    /// The collective the PE waits in, with the op index that called it.
    coll_wait: Option<(u64, u32)>,
    /// Results of collectives: (op index, element) -> value; the latest run of each op.
    values: BTreeMap<(u32, u32), u64>,
    /// Started reductions of a variable whose result has already been written into it
    /// (when it landed, before the PE waited for it), so `hwait` does not write again.
    landed: Vec<u64>,
}

impl ShmemPe {
    /// The PE of `node` running `ops` (a failed node gets an empty program and stays
    /// idle).
    pub fn new(
        node: usize,
        spec: Arc<ShmemSpec>,
        ops: Arc<Vec<Op>>,
        vars: Variables,
        nic: &NicSpec,
    ) -> ShmemPe {
        let me = spec.pe_of(node as u32).unwrap_or(u32::MAX);
        let coll = spec
            .trees
            .clone()
            .map(|t| Box::new(CollectiveEngine::new(node as u32, t)));
        ShmemPe {
            atomic_free: vec![0; vars.layout().len()],
            vars,
            locals: Vec::new(),
            atomic_pending: false,
            atomic_result: None,
            self_atomic: None,
            failure: None,
            nic: Nic::new(node, nic).with_sink(spec.pcie),
            me,
            pcie_down: PcieLink::new(spec.pcie),
            spec,
            ops,
            pc: 0,
            loops: Vec::new(),
            busy_until: 0,
            wait: Wait::None,
            flags: vec![0; MAX_FLAGS as usize],
            acks_pending: 0,
            gets_pending: 0,
            next_msg: 0,
            partial: HashMap::new(),
            barrier_epoch: 0,
            barrier_round: None,
            barrier_sent: false,
            injecting_pc: 0,
            tokens: [[0; 32]; 2],
            marks: Vec::new(),
            finished: false,
            finished_at: None,
            trace: nic
                .trace
                .map(|s| Box::new(super::op_trace::OpTrace::new(s, node as u32))),
            coll,
            started: VecDeque::new(),
            coll_wait: None,
            values: BTreeMap::new(),
            landed: Vec::new(),
        }
    }

    /// This PE's copy of the symmetric variables (what reductions and other adapter
    /// operations read and write, by variable id and word).
    pub fn symmetric(&self) -> &Variables {
        &self.vars
    }

    /// This PE's copy of the symmetric variables, to write.
    pub fn symmetric_mut(&mut self) -> &mut Variables {
        &mut self.vars
    }

    /// Queues a message of `bytes` to node `dest_node` on `class`, its data crossing
    /// PCIe from cycle `start` and each packet ready `latency` cycles after its data;
    /// returns the cycle the last byte has crossed. The packets are made as they start,
    /// so the queue holds one entry however large the message.
    #[allow(clippy::too_many_arguments)]
    fn queue_message(
        &mut self,
        t: u64,
        start: u64,
        latency: u64,
        dest_node: u32,
        class: u8,
        bytes: u64,
        tag: NodeTag,
    ) -> u64 {
        let (count, full, last) = self.spec.split(bytes);
        let run =
            self.pcie_down
                .transfer_run(start, full.payload as u64, count, last.payload as u64);
        let template = PacketDesc {
            dest: dest_node,
            class,
            created: t,
            measured: true,
            tag: NodeTag { size: count, ..tag },
            ..PacketDesc::default()
        };
        self.nic.enqueue_message(
            class,
            Outgoing::message(template, count, full, last, run, latency),
        );
        run.end_of(count - 1)
    }

    /// Queues a request message of `bytes` for `dest`, handed over by the host from
    /// cycle `t`; returns the cycle the host side is done.
    fn send(&mut self, t: u64, dest: u32, bytes: u64, kind: u8, msg: u32, flag: u16) -> u64 {
        let start = t.saturating_add(self.spec.message_overhead);
        let tag = NodeTag {
            kind,
            flag,
            msg,
            size: 0,
            arg: 0,
        };
        let (lat, node) = (self.spec.pcie.latency, self.spec.node_of(dest));
        self.queue_message(t, start, lat, node, CLASS_REQUEST, bytes, tag)
    }

    /// A packet generated by the adapter itself (acknowledgement), ready at once.
    fn reply(&mut self, t: u64, dest: u32, kind: u8, msg: u32) {
        let shape = self.spec.shape(0);
        self.nic.enqueue(PacketDesc {
            dest: self.spec.node_of(dest),
            len: shape.len,
            class: CLASS_RESPONSE,
            created: t,
            measured: true,
            tag: NodeTag {
                kind,
                flag: NO_FLAG,
                msg,
                size: 1,
                arg: 0,
            },
            payload: 0,
            ready: t,
        });
    }

    fn handle(&mut self, t: u64, f: &Flit) {
        let NodeTag {
            kind,
            flag,
            msg,
            size,
            arg,
        } = f.tag;
        if is_tree_kind(kind) {
            if let Some(c) = &mut self.coll {
                c.accept(t, f, &self.spec, &mut self.nic);
            }
            return;
        }
        // Packets carry nodes; the program speaks of PEs.
        let Some(src) = self.spec.pe_of(f.src()) else {
            return;
        };
        match kind {
            KIND_PUT | KIND_GET_RESP => {
                let key = (src, kind, msg);
                let got = self.partial.entry(key).or_insert(0);
                *got += 1;
                if *got < size {
                    return;
                }
                self.partial.remove(&key);
                if kind == KIND_PUT {
                    if flag != NO_FLAG {
                        self.flags[flag as usize] += 1;
                    }
                    self.reply(t, src, KIND_ACK, msg);
                } else {
                    self.gets_pending -= 1;
                }
            }
            KIND_ACK => self.acks_pending -= 1,
            KIND_GET_REQ => {
                // The adapter reads host memory: request up, data back down.
                let lat = self.spec.pcie.latency;
                let tag = NodeTag {
                    kind: KIND_GET_RESP,
                    flag: NO_FLAG,
                    msg,
                    size: 0,
                    arg: 0,
                };
                let node = self.spec.node_of(src);
                let start = t.saturating_add(lat);
                self.queue_message(t, start, lat, node, CLASS_RESPONSE, size, tag);
            }
            KIND_BARRIER => {
                let parity = (msg >> 8) & 1;
                let round = msg & 0xFF;
                self.tokens[parity as usize][round as usize] += 1;
            }
            KIND_ATOMIC_RESP => self.complete_atomic(size),
            k if k >= KIND_ATOMIC => {
                let Some(op) = AtomicKind::from_code(k - KIND_ATOMIC) else {
                    return;
                };
                let (old, done) = self.execute_atomic(t, op, flag, u64::from(msg), size, arg);
                let shape = self.spec.shape(8);
                self.nic.enqueue(PacketDesc {
                    dest: self.spec.node_of(src),
                    len: shape.len,
                    class: CLASS_RESPONSE,
                    created: t,
                    measured: true,
                    tag: NodeTag {
                        kind: KIND_ATOMIC_RESP,
                        flag: NO_FLAG,
                        msg: 0,
                        size: old,
                        arg: 0,
                    },
                    payload: shape.payload,
                    ready: done,
                });
            }
            _ => {}
        }
    }

    /// Executes an atomic that reached this adapter at `t`, after the atomics queued
    /// before it on the same variable; returns the old value and the cycle the
    /// adapter is done with it. (The issuer checked variable and word; a request for
    /// one that does not exist would read and write nothing.)
    fn execute_atomic(
        &mut self,
        t: u64,
        op: AtomicKind,
        var: VarId,
        word: u64,
        a: u64,
        b: u64,
    ) -> (u64, u64) {
        let Some(free) = self.atomic_free.get_mut(var as usize) else {
            return (0, t);
        };
        let done = t.max(*free).saturating_add(self.spec.atomic_latency);
        *free = done;
        let old = self.vars.get(var, word).unwrap_or(0);
        self.vars.set(var, word, op.apply(old, a, b));
        (old, done)
    }

    /// The pending atomic's old value is in host memory.
    fn complete_atomic(&mut self, old: u64) {
        if let Some(l) = self.atomic_result.take() {
            self.set_local(l, old as i64);
        }
        self.atomic_pending = false;
    }

    fn set_local(&mut self, slot: u16, v: i64) {
        let i = slot as usize;
        if i >= self.locals.len() {
            self.locals.resize(i + 1, 0);
        }
        self.locals[i] = v;
    }

    /// Stops the program at the current op: a statement could not be carried out.
    fn fail(&mut self, why: String) {
        self.failure = Some(why);
        self.wait = Wait::Failed;
    }

    /// Starts atomic `a` at cycle `t`: evaluates its values, sends the request (or
    /// hands it to the own adapter) and returns the cycle the host is done with it.
    fn start_atomic(&mut self, t: u64, a: &AtomicOp) -> Result<u64, String> {
        let (l, v) = (&self.locals, &self.vars);
        let dest = a.dest.eval(l, v)?;
        let word = a.word.eval(l, v)?;
        let (x, y) = (a.a.eval(l, v)? as u64, a.b.eval(l, v)? as u64);
        if dest < 0 || dest >= i64::from(self.spec.npes) {
            return Err(format!(
                "target PE {dest} does not exist ({} PEs)",
                self.spec.npes
            ));
        }
        let words = self.vars.layout().words(a.var);
        if word < 0 || word as u64 >= words as u64 {
            return Err(format!(
                "word {word} of `{}` does not exist ({words} words)",
                self.vars.layout().name(a.var)
            ));
        }
        let (dest, word) = (dest as u32, word as u64);
        let p = self.spec.clone();
        let payload = a.kind.request_bytes();
        let start = t.saturating_add(p.message_overhead);
        let done = self.pcie_down.transfer(start, u64::from(payload));
        let arrive = done.saturating_add(p.pcie.latency);
        self.atomic_pending = true;
        self.atomic_result = a.result;
        if dest == self.me {
            self.self_atomic = Some(SelfAtomic::Travelling {
                at: arrive,
                kind: a.kind,
                var: a.var,
                word,
                a: x,
                b: y,
            });
        } else {
            let shape = p.shape(payload);
            self.nic.enqueue(PacketDesc {
                dest: p.node_of(dest),
                len: shape.len,
                class: CLASS_REQUEST,
                created: t,
                measured: true,
                tag: NodeTag {
                    kind: KIND_ATOMIC + a.kind.code(),
                    flag: a.var,
                    // The word index: a PE has one atomic in flight, so the message
                    // id field is free for it.
                    msg: u32::try_from(word).unwrap_or(u32::MAX),
                    size: x,
                    arg: y,
                },
                payload: shape.payload,
                ready: arrive,
            });
        }
        Ok(done)
    }

    /// Moves an atomic to this PE's own variable on, if its time has come.
    fn advance_self_atomic(&mut self, t: u64) {
        while let Some(sa) = self.self_atomic.filter(|sa| sa.at() <= t) {
            self.self_atomic = match sa {
                SelfAtomic::Travelling {
                    at,
                    kind,
                    var,
                    word,
                    a,
                    b,
                } => {
                    let (old, done) = self.execute_atomic(at, kind, var, word, a, b);
                    Some(SelfAtomic::Returning {
                        at: done.saturating_add(self.spec.pcie.latency),
                        old,
                    })
                }
                SelfAtomic::Returning { old, .. } => {
                    self.complete_atomic(old);
                    None
                }
            };
        }
    }

    fn barrier_rounds(&self) -> u32 {
        let p = self.spec.npes;
        if p <= 1 {
            0
        } else {
            32 - (p - 1).leading_zeros()
        }
    }

    /// Runs the program from cycle `t` until it blocks, ends or keeps the host busy.
    fn run_program(&mut self, t: u64) {
        let ops = Arc::clone(&self.ops);
        while !self.finished && self.busy_until <= t {
            let Some(op) = ops.get(self.pc) else {
                self.finished = true;
                self.finished_at = Some(t);
                break;
            };
            self.wait = Wait::None;
            if let Some(tr) = &mut self.trace {
                tr.running(self.pc, t);
            }
            match *op {
                Op::Put { dest, bytes, flag } => {
                    if dest == self.me {
                        // A local copy: no network, no acknowledgement.
                        if let Some(f) = flag {
                            self.flags[f as usize] += 1;
                        }
                    } else {
                        let packets = bytes.div_ceil(self.spec.max_payload as u64).max(1);
                        let q = self.nic.queued();
                        if q > 0 && q + packets > self.spec.send_queue_packets {
                            self.wait = Wait::Queue;
                            return;
                        }
                        let id = self.next_msg;
                        self.next_msg = self.next_msg.wrapping_add(1);
                        self.acks_pending += 1;
                        let fl = flag.unwrap_or(NO_FLAG);
                        self.busy_until = self.send(t, dest, bytes, KIND_PUT, id, fl);
                        if self.spec.put_completion == PutCompletion::Injected {
                            // Completed (and traced) in `step` once the tail is out.
                            self.injecting_pc = self.pc;
                            self.wait = Wait::Injected(self.nic.accepted(CLASS_REQUEST));
                            self.pc += 1;
                            return;
                        }
                    }
                }
                Op::Get { dest, bytes } => {
                    if dest != self.me {
                        let id = self.next_msg;
                        self.next_msg = self.next_msg.wrapping_add(1);
                        self.gets_pending += 1;
                        let p = self.spec.clone();
                        let start = t.saturating_add(p.message_overhead);
                        let done = self.pcie_down.transfer(start, 0);
                        let shape = p.shape(0);
                        self.nic.enqueue(PacketDesc {
                            dest: p.node_of(dest),
                            len: shape.len,
                            class: CLASS_REQUEST,
                            created: t,
                            measured: true,
                            tag: NodeTag {
                                kind: KIND_GET_REQ,
                                flag: NO_FLAG,
                                msg: id,
                                size: bytes,
                                arg: 0,
                            },
                            payload: 0,
                            ready: done.saturating_add(p.pcie.latency),
                        });
                        self.busy_until = done;
                        if let Some(tr) = &mut self.trace {
                            tr.done(self.pc, op, done);
                        }
                        self.pc += 1;
                        self.wait = Wait::Gets;
                        return;
                    }
                }
                Op::Quiet => {
                    if self.acks_pending > 0 {
                        self.wait = Wait::Acks;
                        return;
                    }
                }
                Op::Barrier => {
                    if self.barrier_round.is_none() {
                        if self.acks_pending > 0 {
                            self.wait = Wait::Acks;
                            return;
                        }
                        self.barrier_round = Some(0);
                        self.barrier_sent = false;
                    }
                    let parity = (self.barrier_epoch & 1) as usize;
                    let rounds = self.barrier_rounds();
                    while let Some(r) = self.barrier_round.filter(|&r| r < rounds) {
                        if !self.barrier_sent {
                            let dest = (self.me + (1 << r)) % self.spec.npes;
                            let id = ((parity as u32) << 8) | r;
                            self.busy_until = self.send(t, dest, 0, KIND_BARRIER, id, NO_FLAG);
                            self.barrier_sent = true;
                            if self.busy_until > t {
                                return; // resumes in this barrier once the host is free
                            }
                        }
                        if self.tokens[parity][r as usize] == 0 {
                            self.wait = Wait::Barrier;
                            return;
                        }
                        self.tokens[parity][r as usize] -= 1;
                        self.barrier_round = Some(r + 1);
                        self.barrier_sent = false;
                    }
                    self.barrier_round = None;
                    self.barrier_epoch += 1;
                }
                Op::Compute { cycles } => self.busy_until = t + cycles,
                Op::Wait { flag } => {
                    if self.flags[flag as usize] == 0 {
                        self.wait = Wait::Flag(flag);
                        return;
                    }
                    self.flags[flag as usize] -= 1;
                }
                Op::Mark { id } => self.marks.push((id, t)),
                Op::Repeat { count, end } => {
                    if count == 0 {
                        self.pc = end as usize + 1;
                        continue;
                    }
                    self.loops.push(count);
                }
                Op::HCollective { ref coll, start } => {
                    if self.coll_wait.is_none() {
                        let Some(engine) = &mut self.coll else {
                            // Refused before the run (no `[collectives]`); skip.
                            self.pc += 1;
                            continue;
                        };
                        // A reduction of a variable contributes the PE's copy as it
                        // is now.
                        let coll = match coll.as_ref() {
                            Collective::Reduce {
                                root,
                                op,
                                var: Some(v),
                                ..
                            } => Arc::new(Collective::Reduce {
                                root: *root,
                                op: *op,
                                words: self.vars.words(*v).to_vec(),
                                var: Some(*v),
                            }),
                            _ => coll.clone(),
                        };
                        let (seq, host) = engine.post(t, coll, &self.spec, &mut self.pcie_down);
                        self.busy_until = host;
                        if start {
                            self.started.push_back((seq, self.pc as u32));
                        } else {
                            self.coll_wait = Some((seq, self.pc as u32));
                        }
                    }
                    if !self.finish_collective(t) {
                        return;
                    }
                }
                Op::HWait => {
                    if self.coll_wait.is_none() {
                        self.coll_wait = self.started.pop_front();
                    }
                    if !self.finish_collective(t) {
                        return;
                    }
                }
                Op::EndRepeat { start } => {
                    let left = self.loops.last_mut().expect("repeat stack matches");
                    *left -= 1;
                    if *left > 0 {
                        self.pc = start as usize + 1;
                        continue;
                    }
                    self.loops.pop();
                }
                Op::Atomic(ref a) => {
                    match self.start_atomic(t, a) {
                        Ok(done) => self.busy_until = done,
                        Err(e) => return self.fail(e),
                    }
                    if let Some(tr) = &mut self.trace {
                        tr.done(self.pc, op, self.busy_until);
                    }
                    self.pc += 1;
                    self.wait = Wait::Atomic;
                    return;
                }
                Op::Let { local, ref value } => match value.eval(&self.locals, &self.vars) {
                    Ok(v) => self.set_local(local, v),
                    Err(e) => return self.fail(e),
                },
                Op::If { ref cond, skip } => match cond.eval(&self.locals, &self.vars) {
                    Ok(0) => {
                        self.pc = skip as usize;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => return self.fail(e),
                },
                Op::Else { to } => {
                    self.pc = to as usize;
                    continue;
                }
                Op::EndIf => {}
                Op::While { ref cond, end } => match cond.eval(&self.locals, &self.vars) {
                    Ok(0) => {
                        self.pc = end as usize + 1;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => return self.fail(e),
                },
                Op::EndWhile { start } => {
                    self.pc = start as usize;
                    self.busy_until = t + 1;
                    continue;
                }
            }
            if let Some(tr) = &mut self.trace {
                tr.done(self.pc, op, self.busy_until.max(t));
            }
            self.pc += 1;
        }
    }
}

impl ShmemPe {
    /// Whether the collective the PE waits in (if any) is complete by cycle `t`; takes
    /// its result if so, else marks the PE as waiting.
    fn finish_collective(&mut self, t: u64) -> bool {
        let Some((seq, pc)) = self.coll_wait else {
            return true;
        };
        let Some(engine) = &mut self.coll else {
            return true;
        };
        match engine.take(seq, t, &self.spec) {
            Some(words) => {
                if let Some(at) = self.landed.iter().position(|&s| s == seq) {
                    self.landed.swap_remove(at);
                } else {
                    Self::write_result(&mut self.vars, &self.ops[pc as usize], &words);
                }
                for (i, w) in words.into_iter().enumerate() {
                    self.values.insert((pc, i as u32), w);
                }
                self.coll_wait = None;
                true
            }
            None => {
                self.wait = Wait::Collective;
                false
            }
        }
    }
}

impl ShmemPe {
    /// Writes the result `words` of the reduction `op` into its variable, if it
    /// reduces one and the result is for this PE (a reduction to another PE leaves no
    /// words here).
    fn write_result(vars: &mut Variables, op: &Op, words: &[u64]) {
        if let Op::HCollective { coll, .. } = op
            && let Collective::Reduce { var: Some(v), .. } = coll.as_ref()
        {
            let dst = vars.words_mut(*v);
            if !words.is_empty() && dst.len() == words.len() {
                dst.copy_from_slice(words);
            }
        }
    }

    /// Writes the results of started reductions of variables that have landed in the
    /// PE's memory by cycle `t` into their variables: the adapter writes them when they
    /// arrive, whether or not the PE waits for them yet.
    fn land_started(&mut self, t: u64) {
        let Some(engine) = &self.coll else { return };
        for &(seq, pc) in &self.started {
            let op = &self.ops[pc as usize];
            let is_var = matches!(op, Op::HCollective { coll, .. }
                if matches!(coll.as_ref(), Collective::Reduce { var: Some(_), .. }));
            if !is_var || self.landed.contains(&seq) {
                continue;
            }
            if let Some(words) = engine.landed(seq, t) {
                Self::write_result(&mut self.vars, op, words);
                self.landed.push(seq);
            }
        }
    }
}

impl Endpoint for ShmemPe {
    fn accept_flit(&mut self, at: u64, port: usize, vc: usize, flit: Flit) {
        self.nic.accept_flit(at, port, vc, flit)
    }
    fn accept_credit(&mut self, at: u64, port: usize, vc: usize) -> bool {
        self.nic.accept_credit(at, port, vc)
    }
    fn injected(&self) -> u64 {
        self.nic.injected()
    }

    fn first_wake(&self) -> Option<u64> {
        Some(0)
    }

    fn step(&mut self, t: u64, cx: &mut EndpointCtx) -> Option<u64> {
        let (heads, flits) = self.nic.step(t, cx.nic, cx.out, cx.delivered);
        cx.stats.packets_injected += heads;
        cx.stats.flits_injected += flits;
        let delivered = std::mem::take(cx.delivered);
        for (at, f) in &delivered {
            record_delivery(cx.stats, *at, f, (0, u64::MAX), cx.record_ids);
            self.handle(t, f);
        }
        *cx.delivered = delivered;
        cx.delivered.clear();
        self.advance_self_atomic(t);
        if self.gets_pending == 0 && self.wait == Wait::Gets
            || !self.atomic_pending && self.wait == Wait::Atomic
        {
            self.wait = Wait::None;
        }
        if let Some(c) = &mut self.coll {
            c.advance(t, &self.spec, &mut self.nic);
        }
        if !self.started.is_empty() {
            self.land_started(t);
        }
        if let Wait::Injected(n) = self.wait
            && self.nic.sent(CLASS_REQUEST) >= n
        {
            // Every request packet queued so far, the put's last one included, is in
            // the network: the put returns in this cycle.
            self.wait = Wait::None;
            if let Some(tr) = &mut self.trace {
                let pc = self.injecting_pc;
                tr.done(pc, &self.ops[pc], t);
            }
        }
        if !matches!(
            self.wait,
            Wait::Gets | Wait::Atomic | Wait::Failed | Wait::Injected(_)
        ) {
            self.run_program(t);
        }
        // The adapter may have work queued by the program in this very cycle.
        let mut next = self.nic.next_wake(t, cx.nic);
        let mut at = |x: u64| next = Some(next.map_or(x, |n: u64| n.min(x)));
        if !self.finished && self.busy_until > t && self.wait == Wait::None {
            at(self.busy_until);
        }
        if let Some(sa) = &self.self_atomic {
            at(sa.at());
        }
        if let Some(w) = self.coll.as_ref().and_then(|c| c.next_wake(t)) {
            at(w);
        }
        // A program waiting for room in the send queue needs no wake-up of its own:
        // the queue shrinks only when the adapter starts a packet, in a step of this
        // endpoint, which runs the program again right after.
        next
    }

    fn record_channels(&self, s: &mut crate::stats::ChannelStats) {
        self.nic.record_channels(s)
    }

    fn record_trace(&self, t: &mut crate::stats::trace::TraceData) {
        if let Some(tr) = &self.trace {
            tr.record(t);
        }
    }

    fn stop(&mut self, _t: u64) -> u64 {
        0
    }

    fn done(&self) -> bool {
        self.finished && !self.nic.busy() && !self.coll.as_ref().is_some_and(|c| c.busy())
    }

    fn describe_wait(&self) -> Option<String> {
        let mismatches = self
            .coll
            .as_ref()
            .map(|c| c.mismatches())
            .unwrap_or_default();
        if self.finished {
            if mismatches.is_empty() {
                return None;
            }
            return Some(format!(
                "PE {} (program ended): {}",
                self.me,
                mismatches.join("; ")
            ));
        }
        let what = match self.wait {
            Wait::None => format!("runs (busy until cycle {})", self.busy_until),
            Wait::Queue => return None,
            Wait::Atomic => "waits for the reply of an atomic".to_string(),
            Wait::Failed => format!(
                "stopped: {}",
                self.failure.as_deref().unwrap_or("a statement failed")
            ),
            Wait::Collective => match (&self.coll, self.coll_wait) {
                (Some(c), Some((seq, _))) => format!("waits in {}", c.describe(seq, &self.spec)),
                _ => "waits in a collective".into(),
            },
            Wait::Acks => format!("waits for {} put acknowledgement(s)", self.acks_pending),
            Wait::Gets => format!("waits for {} get(s)", self.gets_pending),
            Wait::Injected(_) => "waits for a put to leave the adapter".into(),
            Wait::Flag(f) => format!("waits for a signal on flag {f}"),
            Wait::Barrier => format!(
                "waits in barrier {} round {}",
                self.barrier_epoch,
                self.barrier_round.unwrap_or(0)
            ),
        };
        Some(format!("PE {} at op {}: {what}", self.me, self.pc + 1))
    }

    fn marks(&self) -> &[(u16, u64)] {
        &self.marks
    }

    fn variables(&self) -> &[u64] {
        self.vars.all()
    }

    fn values(&self) -> Vec<(u32, u32, u64)> {
        self.values
            .iter()
            .map(|(&(pc, i), &v)| (pc, i, v))
            .collect()
    }

    fn finished_at(&self) -> Option<u64> {
        self.finished_at
    }
}
