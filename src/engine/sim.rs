//! The run driver: builds the partitions, advances them window by window, runs the
//! warm-up / measurement / drain phases, watches for deadlock and checks conservation.

use super::Endpoint;
use super::comm::{Comm, LocalComm};
use super::partition::{Partition, Shared};
use super::wire;
use crate::config::Params;
use crate::config::spec::NicSpec;
use crate::core::message::Msg;
use crate::router::RouterSpec;
use crate::routing::Routing;
use crate::stats::Stats;
use crate::topology::Torus;
use std::fmt;
use std::time::{Duration, Instant};

/// Cycles between checks of the phase conditions and the watchdog. Fixed, so the
/// simulated end time does not depend on partitioning.
pub const CHECK_INTERVAL: u64 = 128;

#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Record every delivered packet id and verify exactly-once delivery at the end.
    pub check: bool,
    /// Number of partitions (slabs along the longest dimension).
    pub partitions: usize,
    /// Worker threads that advance partitions in parallel (1: the calling thread).
    pub threads: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check: false,
            partitions: 1,
            threads: 1,
        }
    }
}

/// Where a run is, for progress displays.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub cycle: u64,
    pub phase: Phase,
    /// Cycle at which the current phase is planned to end (drain: its limit).
    pub phase_end: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Warmup,
    Measure,
    Drain,
    Flush,
}

#[derive(Debug)]
pub struct Outcome {
    pub stats: Stats,
    /// Last simulated cycle (end of the final flush).
    pub cycles: u64,
    /// Cycles the measured packets took to drain after the measurement window.
    pub drain_cycles: u64,
    /// Measured packets were still undelivered after `max_drain_cycles`.
    pub saturated: bool,
    pub wall_seconds: f64,
    pub partitions: usize,
    pub lookahead: u64,
    /// Synchronisation windows the partitions ran (0 for one partition).
    pub windows: u64,
    /// Processes the run was split over.
    pub ranks: usize,
    /// Messages that crossed a partition boundary (all processes).
    pub boundary_messages: u64,
    /// Bytes of encoded messages sent between processes (all processes; the payload of
    /// the exchange, without the per-window counts).
    pub exchanged_bytes: u64,
    /// Seconds per process spent in collectives inside the window loop (mean over
    /// processes): the exchange and the next-event reduction, including the wait for
    /// the slowest process.
    pub comm_seconds: f64,
    /// Share of the worker time in the window loop not spent advancing partitions:
    /// waiting at the window barrier (load imbalance, too few partitions for the
    /// threads) plus communication. 0 for a serial run.
    pub sync_wait_fraction: f64,
    /// The partitioning: unidirectional links cut, and nodes per partition.
    pub layout: Layout,
}

/// How the torus was split: what the partitioning costs in communication (cut links)
/// and in balance (nodes per partition).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Layout {
    pub cut_links: usize,
    pub min_partition_nodes: usize,
    pub max_partition_nodes: usize,
}

/// What a program run produced.
#[derive(Debug)]
pub struct ProgramOutcome {
    pub stats: Stats,
    /// Cycle the last PE finished its program.
    pub end_cycle: u64,
    /// Last simulated cycle (network empty).
    pub cycles: u64,
    /// (node, mark id, cycle), sorted.
    pub marks: Vec<(u32, u16, u64)>,
    pub wall_seconds: f64,
    pub partitions: usize,
    pub windows: u64,
}

#[derive(Debug)]
pub enum SimError {
    /// Nothing can happen any more but some programs have not ended.
    Stalled {
        cycle: u64,
        waits: Vec<String>,
    },
    Deadlock {
        cycle: u64,
        in_flight: i64,
        last_delivery: u64,
        stuck: Vec<String>,
    },
    Conservation(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Deadlock {
                cycle,
                in_flight,
                last_delivery,
                stuck,
            } => {
                writeln!(
                    f,
                    "deadlock: no packet delivered since cycle {last_delivery} (now {cycle}) with {in_flight} packets in flight"
                )?;
                writeln!(
                    f,
                    "stuck channels ({} shown of {}):",
                    stuck.len().min(24),
                    stuck.len()
                )?;
                for s in stuck.iter().take(24) {
                    writeln!(f, "  {s}")?;
                }
                Ok(())
            }
            SimError::Conservation(m) => write!(f, "conservation violated: {m}"),
            SimError::Stalled { cycle, waits } => {
                writeln!(
                    f,
                    "the programs cannot go on: at cycle {cycle} nothing is in flight or scheduled, yet {} PE(s) have not finished",
                    waits.len()
                )?;
                for w in waits.iter().take(24) {
                    writeln!(f, "  {w}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SimError {}

/// Slabs along the longest dimension: few cut links, contiguous memory per partition.
pub fn slab_owner(torus: &Torus, parts: usize) -> Vec<usize> {
    let d = (0..torus.dims())
        .max_by_key(|&d| (torus.shape()[d], usize::MAX - d))
        .unwrap_or(0);
    let k = torus.shape()[d];
    let parts = parts.clamp(1, k);
    (0..torus.nodes())
        .map(|n| torus.coord(n, d) * parts / k)
        .collect()
}

/// Which rank owns partition `p` of `parts`: contiguous blocks, so neighbouring slabs
/// (which exchange the most) tend to share a process.
pub fn rank_of_partition(p: usize, parts: usize, ranks: usize) -> usize {
    p * ranks / parts
}

/// The partitions of this process, advanced in lock-step windows with those of the
/// other processes.
pub struct Engine<E: Endpoint> {
    /// This process's partitions.
    pub parts: Vec<Partition<E>>,
    pub sh: Shared,
    /// Global partition of every node.
    owner: Vec<usize>,
    /// Rank of every global partition.
    part_rank: Vec<usize>,
    /// Index in `parts` of every global partition owned here.
    part_local: Vec<usize>,
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

impl<E: Endpoint> Engine<E> {
    /// A single-process engine.
    pub fn new(
        p: &Params,
        classes: usize,
        opts: &RunOptions,
        make: impl FnMut(usize, &Torus, &NicSpec) -> E,
    ) -> Self {
        Self::with_comm(p, classes, opts, Box::new(LocalComm), make)
    }

    /// An engine that runs this rank's share of `opts.partitions` partitions, with the
    /// routing built from `p` (which must need no fallible table generation).
    pub fn with_comm(
        p: &Params,
        classes: usize,
        opts: &RunOptions,
        comm: Box<dyn Comm>,
        make: impl FnMut(usize, &Torus, &NicSpec) -> E,
    ) -> Self {
        let routing = Routing::new(p, &Torus::from_params(p), classes);
        Self::with_routing(p, routing, opts, comm, make)
    }

    /// An engine on a routing built (and checked) by the caller; its message classes
    /// are the routing's.
    pub fn with_routing(
        p: &Params,
        routing: Routing,
        opts: &RunOptions,
        comm: Box<dyn Comm>,
        mut make: impl FnMut(usize, &Torus, &NicSpec) -> E,
    ) -> Self {
        let torus = routing.torus().clone();
        let classes = routing.network().classes as usize;
        let rspec = RouterSpec::new(p);
        let nspec = NicSpec::new(p, classes);
        let sh = Shared {
            routing,
            lookahead: rspec.to_next_router.min(rspec.credit_latency),
            rspec,
            nspec,
            window: (p.warmup_cycles, p.warmup_cycles + p.measure_cycles),
            record_ids: opts.check,
        };
        let owner = slab_owner(&torus, opts.partitions.max(comm.size()));
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
        let lookahead = sh.lookahead;
        let pool = (opts.threads > 1).then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(opts.threads)
                .build()
                .expect("a thread pool can be created")
        });
        Engine {
            parts,
            sh,
            owner,
            part_rank,
            part_local,
            nodes: torus.nodes(),
            lookahead,
            now: 0,
            pool,
            comm,
            windows: 0,
            remote_messages: 0,
            boundary_messages: 0,
            threads: opts.threads.max(1),
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
            let timed = |p: &mut Partition<E>| {
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
            local.extend(self.comm.exchange(remote));
            self.comm_time += t.elapsed();
        }
        for m in local {
            let pi = self.part_local[self.owner[m.node() as usize]];
            self.parts[pi].deliver(m, &self.sh);
        }
    }

    /// Counters of all partitions of all processes, merged (on every process).
    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        let np = self.sh.routing.torus().network_ports();
        for p in &self.parts {
            s.merge(&p.stats_with_links(self.nodes, np));
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

    fn local_sum(&self, f: impl Fn(&Partition<E>) -> i64) -> i64 {
        self.parts.iter().map(f).sum()
    }

    /// Packets in flight over the whole network.
    pub fn in_flight(&self) -> i64 {
        self.comm.all_sum(self.local_sum(|p| p.flow_balance()))
    }

    fn last_delivery(&self) -> u64 {
        let l = self
            .parts
            .iter()
            .map(|p| p.stats.last_delivery)
            .max()
            .unwrap_or(0);
        self.comm.all_max(l)
    }

    fn measured_pending(&self) -> bool {
        self.comm.all_sum(self.local_sum(|p| {
            p.stats.measured_packets_created as i64 - p.stats.measured_packets_delivered as i64
        })) > 0
    }

    fn watchdog(&self, limit: u64, injectors: usize) -> Result<(), SimError> {
        let inf = self.in_flight();
        let last = self.last_delivery();
        if inf > 0 && self.now.saturating_sub(last) > limit {
            let mine: Vec<String> = self
                .parts
                .iter()
                .flat_map(|p| p.describe_stuck(&self.sh, injectors))
                .collect();
            let stuck = self.gather_lines(mine);
            return Err(SimError::Deadlock {
                cycle: self.now,
                in_flight: inf,
                last_delivery: last,
                stuck,
            });
        }
        Ok(())
    }

    /// Runs to `end` in check intervals, with the watchdog, reporting progress after
    /// every interval; stops early when `done` holds (a global condition).
    fn run_phase(
        &mut self,
        end: u64,
        p: &Params,
        phase: Phase,
        progress: &mut dyn FnMut(Progress),
        done: &dyn Fn(&Self) -> bool,
    ) -> Result<bool, SimError> {
        while self.now < end {
            if done(self) {
                return Ok(true);
            }
            let next = ((self.now / CHECK_INTERVAL + 1) * CHECK_INTERVAL).min(end);
            self.run_until(next);
            self.watchdog(p.watchdog_cycles, p.injectors)?;
            progress(Progress {
                cycle: self.now,
                phase,
                phase_end: end,
            });
        }
        Ok(done(self))
    }

    /// Stops traffic creation everywhere and runs until the network is empty.
    pub fn flush(
        &mut self,
        p: &Params,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), SimError> {
        for part in &mut self.parts {
            part.stop_traffic();
        }
        let limit = self.now + p.max_drain_cycles.max(p.watchdog_cycles) * 4 + 1_000_000;
        let flushed = self.run_phase(limit, p, Phase::Flush, progress, &|e: &Self| {
            e.in_flight() == 0
        })?;
        if !flushed {
            return Err(SimError::Conservation(format!(
                "{} packets still in flight at cycle {limit}, long after traffic stopped",
                self.in_flight()
            )));
        }
        Ok(())
    }

    /// Warm-up, measurement, drain of the measured packets, then a flush with traffic
    /// stopped until the network is empty; then the conservation check.
    pub fn run_phases(
        &mut self,
        p: &Params,
        check: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Outcome, SimError> {
        let wall = Instant::now();
        let never = |_: &Self| false;
        self.run_phase(p.warmup_cycles, p, Phase::Warmup, progress, &never)?;
        let w_end = p.warmup_cycles + p.measure_cycles;
        self.run_phase(w_end, p, Phase::Measure, progress, &never)?;
        let drained = self.run_phase(
            w_end + p.max_drain_cycles,
            p,
            Phase::Drain,
            progress,
            &|e: &Self| !e.measured_pending(),
        )?;
        let drain_cycles = self.now - w_end;
        self.flush(p, progress)?;
        let stats = self.stats();
        self.verify_conservation(&stats, check)?;
        let wall_seconds = wall.elapsed().as_secs_f64();
        // Execution figures, summed over processes (collectives: every rank gets here).
        let ns = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let workers = self.threads.min(self.parts.len()).max(1) as u32;
        let capacity = self.comm.all_sum(ns(self.loop_time * workers)) as f64;
        let busy = self.comm.all_sum(ns(self.busy_time)) as f64;
        let comm = self.comm.all_sum(ns(self.comm_time)) as f64;
        let remote = self.comm.all_sum(self.remote_messages as i64) as u64;
        let boundary = self.comm.all_sum(self.boundary_messages as i64) as u64;
        Ok(Outcome {
            stats,
            cycles: self.now,
            drain_cycles,
            saturated: !drained,
            wall_seconds,
            partitions: self.partitions(),
            lookahead: self.lookahead,
            windows: self.windows,
            ranks: self.comm.size(),
            boundary_messages: boundary,
            exchanged_bytes: remote * wire::MSG_BYTES as u64,
            comm_seconds: comm / 1e9 / self.comm.size() as f64,
            sync_wait_fraction: if capacity > 0.0 {
                (1.0 - busy / capacity).max(0.0)
            } else {
                0.0
            },
            layout: self.layout(),
        })
    }

    /// Cut links and the load balance of the partitioning.
    pub fn layout(&self) -> Layout {
        let t = self.sh.routing.torus();
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

    /// Runs node programs to their end and until the network is empty.
    pub fn run_programs(
        &mut self,
        p: &Params,
        check: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ProgramOutcome, SimError> {
        let wall = Instant::now();
        loop {
            let unfinished = self.comm.all_sum(self.local_sum(|p| p.unfinished()));
            if unfinished == 0 && self.in_flight() == 0 {
                break;
            }
            let local_next = self.local_next_event();
            if self.comm.all_min(local_next) == u64::MAX {
                let mine: Vec<String> = self.parts.iter().flat_map(|p| p.waits()).collect();
                let waits = self.gather_lines(mine);
                return Err(SimError::Stalled {
                    cycle: self.now,
                    waits,
                });
            }
            let next = (self.now / CHECK_INTERVAL + 1) * CHECK_INTERVAL;
            self.run_until(next);
            self.watchdog(p.watchdog_cycles, p.injectors)?;
            progress(Progress {
                cycle: self.now,
                phase: Phase::Measure,
                phase_end: self.now,
            });
        }
        let stats = self.stats();
        self.verify_conservation(&stats, check)?;
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
        Ok(ProgramOutcome {
            stats,
            end_cycle,
            cycles: self.now,
            marks,
            wall_seconds: wall.elapsed().as_secs_f64(),
            partitions: self.partitions(),
            windows: self.windows,
        })
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

    /// Packets injected per node, over all processes.
    fn injected_per_node(&self) -> Vec<u32> {
        let mut v = vec![0u32; self.nodes];
        let mine: Vec<(u32, u32)> = self
            .parts
            .iter()
            .flat_map(|p| p.injected_per_node())
            .collect();
        let blob = serde_json::to_vec(&mine).expect("counts serialise");
        for b in self.comm.all_gather_bytes(blob) {
            let o: Vec<(u32, u32)> = serde_json::from_slice(&b).expect("counts deserialise");
            for (node, n) in o {
                v[node as usize] = n;
            }
        }
        v
    }

    /// Every injected packet was delivered; with `check`, exactly once (from the ids).
    pub fn verify_conservation(&self, s: &Stats, check: bool) -> Result<(), SimError> {
        if s.packets_injected != s.packets_delivered || s.flits_injected != s.flits_delivered {
            return Err(SimError::Conservation(format!(
                "{} packets ({} flits) injected, {} ({} flits) delivered",
                s.packets_injected, s.flits_injected, s.packets_delivered, s.flits_delivered
            )));
        }
        if !check {
            return Ok(());
        }
        let injected = self.injected_per_node();
        let mut ids = s.delivered_ids.clone();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(SimError::Conservation(format!(
                "packet {}:{} delivered twice",
                w[0] >> 32,
                w[0] & 0xffff_ffff
            )));
        }
        let mut per_src = vec![0u32; self.nodes];
        for &id in &ids {
            let (src, seq) = ((id >> 32) as usize, (id & 0xffff_ffff) as u32);
            if seq >= injected[src] {
                return Err(SimError::Conservation(format!(
                    "packet {src}:{seq} was delivered but never injected"
                )));
            }
            per_src[src] += 1;
        }
        // Ids are unique and below their source's count, and the counts match: each
        // injected packet arrived exactly once.
        if let Some(node) = (0..self.nodes).find(|&n| per_src[n] != injected[n]) {
            return Err(SimError::Conservation(format!(
                "node {node} injected {} packets but {} were delivered",
                injected[node], per_src[node]
            )));
        }
        Ok(())
    }
}
