//! The window engine: builds the partitions, advances them window by window (exchanging
//! boundary messages, jumping over idle time) and offers what the experiment layer
//! needs to drive a run: advancing to a cycle, stopping traffic, global counters,
//! stuck-channel descriptions, delivered ids. Run phases, the deadlock watchdog and the
//! conservation check are in `crate::experiment`.

use super::Endpoint;
use super::comm::Comm;
use super::component::RouterModel;
use super::partition::{Partition, Shared};
use super::partitioning::{self, peer_ranks, rank_of_partition};
use super::wire;
use crate::config::spec::NicSpec;
use crate::core::message::Msg;
use crate::router::Router;
use crate::stats::Stats;
use crate::topology::Torus;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Record every delivered packet id and verify exactly-once delivery at the end.
    pub check: bool,
    /// Number of partitions (slabs of the longest dimension, blocks beyond its
    /// length: see `super::partitioning`).
    pub partitions: usize,
    /// Worker threads that advance partitions in parallel (1: the calling thread).
    pub threads: usize,
    /// Collect per-channel statistics (links, input VCs, crossbars, adapters).
    pub link_stats: bool,
    /// The cycles they cover, `[from, to)`: a synthetic run counts its measurement
    /// window, a program run everything.
    pub channel_window: (u64, u64),
    /// Trace packets and operations (`--trace`).
    pub trace: Option<crate::stats::trace::TraceSpec>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check: false,
            partitions: 1,
            threads: 1,
            link_stats: false,
            channel_window: (0, u64::MAX),
            trace: None,
        }
    }
}

/// How a run executed, summed over processes: what the partitioning cost in
/// communication and waiting.
#[derive(Clone, Debug)]
pub struct Execution {
    /// Messages that crossed a partition boundary (all processes).
    pub boundary_messages: u64,
    /// Bytes of encoded messages sent between processes (all processes; the payload of
    /// the exchange, without the per-window counts).
    pub exchanged_bytes: u64,
    /// Seconds per process spent in collectives inside the window loop (mean over
    /// processes).
    pub comm_seconds: f64,
    /// Share of the worker time in the window loop not spent advancing partitions.
    pub sync_wait_fraction: f64,
}

/// How the torus was split: what the partitioning costs in communication (cut links)
/// and in balance (nodes per partition).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Layout {
    pub cut_links: usize,
    pub min_partition_nodes: usize,
    pub max_partition_nodes: usize,
}

/// The partitions of this process, advanced in lock-step windows with those of the
/// other processes. Generic over the endpoints and the routers it runs (the shipped
/// router by default; its constructors are in `routers.rs`).
pub struct Engine<E: Endpoint, R: RouterModel = Router> {
    /// This process's partitions.
    pub parts: Vec<Partition<E, R>>,
    pub sh: Shared<R>,
    torus: Torus,
    /// Global partition of every node.
    owner: Vec<usize>,
    /// Rank of every global partition.
    part_rank: Vec<usize>,
    /// Index in `parts` of every global partition owned here.
    part_local: Vec<usize>,
    /// Other ranks owning a node linked to a node of this rank (ascending): the only
    /// ranks this one exchanges messages with.
    peers: Vec<usize>,
    nodes: usize,
    lookahead: u64,
    now: u64,
    pool: Option<rayon::ThreadPool>,
    comm: Box<dyn Comm>,
    /// Synchronisation windows run so far.
    pub windows: u64,
    /// Messages this process sent to other processes.
    pub remote_messages: u64,
    /// Messages that crossed a partition boundary here (to this or another process).
    pub boundary_messages: u64,
    /// Worker threads of this process (for the synchronisation figures).
    threads: usize,
    /// Time in the window loop, in partition work (summed over partitions), and in
    /// collectives, on this process. Measured, not modelled, so `performance` can say
    /// where a parallel run's time goes.
    loop_time: Duration,
    busy_time: Duration,
    comm_time: Duration,
}

impl<E: Endpoint, R: RouterModel> Engine<E, R> {
    /// An engine that runs this rank's share of `opts.partitions` partitions of
    /// `torus`, its components built by `R::new` and `make`.
    pub fn build(
        torus: Torus,
        sh: Shared<R>,
        opts: &RunOptions,
        comm: Box<dyn Comm>,
        mut make: impl FnMut(usize, &Torus, &NicSpec) -> E,
    ) -> Self {
        let owner = partitioning::owner(&torus, opts.partitions.max(comm.size()));
        let nparts = owner.iter().max().map_or(1, |m| m + 1);
        let part_rank: Vec<usize> = (0..nparts)
            .map(|pi| rank_of_partition(pi, nparts, comm.size()))
            .collect();
        let mut part_local = vec![usize::MAX; nparts];
        let mut parts = Vec::new();
        for pi in 0..nparts {
            if part_rank[pi] != comm.rank() {
                continue;
            }
            let nodes: Vec<u32> = (0..torus.nodes())
                .filter(|&n| owner[n] == pi)
                .map(|n| n as u32)
                .collect();
            part_local[pi] = parts.len();
            parts.push(Partition::new(nodes, torus.nodes(), &sh, |g| {
                make(g, &torus, &sh.nspec)
            }));
        }
        let peers = peer_ranks(&torus, &owner, &part_rank, comm.rank());
        let lookahead = sh.lookahead;
        // A worker without a partition would only idle: no more workers than this
        // process has partitions, however many threads were asked for.
        let workers = opts.threads.min(parts.len());
        let pool = (workers > 1).then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()
                .expect("a thread pool can be created")
        });
        Engine {
            parts,
            sh,
            owner,
            part_rank,
            part_local,
            peers,
            nodes: torus.nodes(),
            torus,
            lookahead,
            now: 0,
            pool,
            comm,
            windows: 0,
            remote_messages: 0,
            boundary_messages: 0,
            threads: workers.max(1),
            loop_time: Duration::ZERO,
            busy_time: Duration::ZERO,
            comm_time: Duration::ZERO,
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// Total partitions over all processes.
    pub fn partitions(&self) -> usize {
        self.part_rank.len()
    }

    /// The earliest cycle any partition of this process has work (`u64::MAX`: none).
    fn local_next_event(&self) -> u64 {
        self.parts
            .iter()
            .filter_map(|p| p.next_event())
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Advances every partition to `end`, window by window; jumps over idle time.
    pub fn run_until(&mut self, end: u64) {
        if self.partitions() == 1 && self.comm.size() == 1 {
            self.parts[0].run_until(end, &self.sh);
            self.now = end;
            return;
        }
        let loop_start = Instant::now();
        while self.now < end {
            let local_next = self.local_next_event();
            let t = Instant::now();
            let next = self.comm.all_min(local_next);
            self.comm_time += t.elapsed();
            let start = if next < end { next.max(self.now) } else { end };
            let w_end = if start >= end {
                end
            } else {
                (start + self.lookahead).min(end)
            };
            let sh = &self.sh;
            // Each partition times its own work; the sum against the loop time gives
            // the share of worker time lost at the window barrier.
            let timed = |p: &mut Partition<E, R>| {
                let t = Instant::now();
                p.run_until(w_end, sh);
                t.elapsed()
            };
            self.busy_time += match &self.pool {
                Some(pool) => pool.install(|| {
                    use rayon::prelude::*;
                    self.parts.par_iter_mut().map(timed).sum::<Duration>()
                }),
                None => self.parts.iter_mut().map(timed).sum(),
            };
            self.windows += 1;
            self.exchange();
            self.now = w_end;
        }
        self.loop_time += loop_start.elapsed();
    }

    /// Delivers the messages that crossed partition boundaries during the window.
    fn exchange(&mut self) {
        let mut remote: Vec<Vec<Msg>> = vec![Vec::new(); self.comm.size()];
        let mut local: Vec<Msg> = Vec::new();
        for p in &mut self.parts {
            for m in p.outbox.drain(..) {
                let r = self.part_rank[self.owner[m.node() as usize]];
                if r == self.comm.rank() {
                    local.push(m);
                } else {
                    remote[r].push(m);
                }
            }
        }
        let sent_remote = remote.iter().map(|v| v.len() as u64).sum::<u64>();
        self.boundary_messages += local.len() as u64 + sent_remote;
        if self.comm.size() > 1 {
            self.remote_messages += sent_remote;
            let t = Instant::now();
            assert!(
                (0..remote.len()).all(|r| remote[r].is_empty() || self.peers.contains(&r)),
                "a message for a rank this one shares no link with"
            );
            local.extend(self.comm.exchange(remote, &self.peers));
            self.comm_time += t.elapsed();
        }
        for m in local {
            let pi = self.part_local[self.owner[m.node() as usize]];
            self.parts[pi].deliver(m);
        }
    }

    /// Counters of all partitions of all processes, merged (on every process).
    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        let np = self.torus.network_ports();
        for p in &self.parts {
            s.merge(&p.stats_with_links(self.nodes, np, &self.sh));
        }
        if self.comm.size() == 1 {
            return s;
        }
        let blob = serde_json::to_vec(&s).expect("stats serialise");
        let mut all = Stats::default();
        for b in self.comm.all_gather_bytes(blob) {
            let o: Stats = serde_json::from_slice(&b).expect("stats from a peer deserialise");
            all.merge(&o);
        }
        all
    }

    fn local_sum(&self, f: impl Fn(&Partition<E, R>) -> i64) -> i64 {
        self.parts.iter().map(f).sum()
    }

    /// Packets in flight over the whole network.
    pub fn in_flight(&self) -> i64 {
        self.comm.all_sum(self.local_sum(|p| p.flow_balance()))
    }

    /// Latest cycle a packet was delivered, over the whole network.
    pub fn last_delivery(&self) -> u64 {
        let l = self
            .parts
            .iter()
            .map(|p| p.stats.last_delivery)
            .max()
            .unwrap_or(0);
        self.comm.all_max(l)
    }

    /// Whether measured packets are still undelivered anywhere.
    pub fn measured_pending(&self) -> bool {
        self.comm.all_sum(self.local_sum(|p| {
            p.stats.measured_packets_created as i64 - p.stats.measured_packets_delivered as i64
        })) > 0
    }

    /// The earliest cycle any partition of any process has work (`u64::MAX`: none).
    pub fn next_event(&self) -> u64 {
        self.comm.all_min(self.local_next_event())
    }

    /// Stops traffic creation at every endpoint from the current cycle on.
    pub fn stop_traffic(&mut self) {
        for part in &mut self.parts {
            part.stop_traffic();
        }
    }

    /// Endpoints whose work is not complete, over all processes.
    pub fn unfinished(&self) -> i64 {
        self.comm.all_sum(self.local_sum(|p| p.unfinished()))
    }

    /// Channels holding flits that cannot move, one line each, from every process in
    /// rank order (`injectors` per node).
    pub fn stuck_channels(&self, injectors: usize) -> Vec<String> {
        let mine: Vec<String> = self
            .parts
            .iter()
            .flat_map(|p| p.describe_stuck(&self.sh, injectors))
            .collect();
        self.gather_lines(mine)
    }

    /// What blocked endpoints wait for, from every process in rank order.
    pub fn waits(&self) -> Vec<String> {
        let mine: Vec<String> = self.parts.iter().flat_map(|p| p.waits()).collect();
        self.gather_lines(mine)
    }

    /// Every recorded (node, mark id, cycle) over all processes, sorted, and the
    /// latest cycle an endpoint's program ended.
    pub fn marks(&self) -> (Vec<(u32, u16, u64)>, u64) {
        let (mine, end) =
            self.parts
                .iter()
                .map(|p| p.marks())
                .fold((Vec::new(), 0u64), |(mut v, e), (m, x)| {
                    v.extend(m);
                    (v, e.max(x))
                });
        let end_cycle = self.comm.all_max(end);
        let mut marks: Vec<(u32, u16, u64)> = Vec::new();
        let blob = serde_json::to_vec(&mine).expect("marks serialise");
        for b in self.comm.all_gather_bytes(blob) {
            let o: Vec<(u32, u16, u64)> = serde_json::from_slice(&b).expect("marks deserialise");
            marks.extend(o);
        }
        marks.sort_unstable();
        (marks, end_cycle)
    }

    /// The symmetric variables of every endpoint that has any, over all processes, by
    /// global node, sorted.
    pub fn variables(&self) -> Vec<(u32, Vec<u64>)> {
        self.gather_sorted(self.parts.iter().flat_map(|p| p.variables()).collect())
    }

    /// Every (node, op index, element, value) the endpoints produced (the results of
    /// collectives), over all processes, sorted.
    pub fn values(&self) -> Vec<(u32, u32, u32, u64)> {
        self.gather_sorted(self.parts.iter().flat_map(|p| p.values()).collect())
    }

    /// Gathers every process's `mine` into one sorted list, the same on every process.
    fn gather_sorted<T>(&self, mine: Vec<T>) -> Vec<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Ord,
    {
        let blob = serde_json::to_vec(&mine).expect("plain records serialise");
        let mut all: Vec<T> = Vec::new();
        for b in self.comm.all_gather_bytes(blob) {
            let o: Vec<T> = serde_json::from_slice(&b).expect("records of this build deserialise");
            all.extend(o);
        }
        all.sort_unstable();
        all
    }

    /// Cut links and the load balance of the partitioning.
    pub fn layout(&self) -> Layout {
        let t = &self.torus;
        let cut_links = (0..t.nodes())
            .map(|n| {
                (0..t.network_ports())
                    .filter(|&p| self.owner[n] != self.owner[t.neighbor(n, p)])
                    .count()
            })
            .sum();
        let mut sizes = vec![0usize; self.partitions()];
        for &o in &self.owner {
            sizes[o] += 1;
        }
        Layout {
            cut_links,
            min_partition_nodes: sizes.iter().copied().min().unwrap_or(0),
            max_partition_nodes: sizes.iter().copied().max().unwrap_or(0),
        }
    }

    /// Nodes of the whole network.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The synchronisation window in cycles.
    pub fn lookahead(&self) -> u64 {
        self.lookahead
    }

    /// Processes the run is split over.
    pub fn ranks(&self) -> usize {
        self.comm.size()
    }

    /// How the run executed, summed over processes (a collective: every process must
    /// call it).
    pub fn execution(&self) -> Execution {
        let ns = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let workers = self.threads.min(self.parts.len()).max(1) as u32;
        let capacity = self.comm.all_sum(ns(self.loop_time * workers)) as f64;
        let busy = self.comm.all_sum(ns(self.busy_time)) as f64;
        let comm = self.comm.all_sum(ns(self.comm_time)) as f64;
        let remote = self.comm.all_sum(self.remote_messages as i64) as u64;
        let boundary = self.comm.all_sum(self.boundary_messages as i64) as u64;
        Execution {
            boundary_messages: boundary,
            exchanged_bytes: remote * wire::MSG_BYTES as u64,
            comm_seconds: comm / 1e9 / self.comm.size() as f64,
            sync_wait_fraction: if capacity > 0.0 {
                (1.0 - busy / capacity).max(0.0)
            } else {
                0.0
            },
        }
    }

    /// Lines from every process, in rank order.
    fn gather_lines(&self, mine: Vec<String>) -> Vec<String> {
        self.comm
            .all_gather_bytes(mine.join("\n").into_bytes())
            .into_iter()
            .flat_map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Packets injected per node (their ids are `0 .. n` in the low word), over all
    /// processes.
    pub fn injected_per_node(&self) -> Vec<u64> {
        let mut v = vec![0u64; self.nodes];
        let mine: Vec<(u32, u64)> = self
            .parts
            .iter()
            .flat_map(|p| p.injected_per_node())
            .collect();
        let blob = serde_json::to_vec(&mine).expect("counts serialise");
        for b in self.comm.all_gather_bytes(blob) {
            let o: Vec<(u32, u64)> = serde_json::from_slice(&b).expect("counts deserialise");
            for (node, n) in o {
                v[node as usize] = n;
            }
        }
        v
    }
}
