//! The run driver: builds the partitions, advances them window by window, runs the
//! warm-up / measurement / drain phases, watches for deadlock and checks conservation.

use super::Endpoint;
use super::message::Msg;
use super::partition::{Partition, Shared};
use crate::config::Params;
use crate::node::nic::NicSpec;
use crate::router::RouterSpec;
use crate::routing::Routing;
use crate::stats::Stats;
use crate::topology::Torus;
use std::fmt;
use std::time::Instant;

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
}

#[derive(Debug)]
pub enum SimError {
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

/// A set of partitions advanced in lock-step windows.
pub struct Engine<E: Endpoint> {
    pub parts: Vec<Partition<E>>,
    pub sh: Shared,
    owner: Vec<usize>,
    lookahead: u64,
    now: u64,
    pool: Option<rayon::ThreadPool>,
    /// Synchronisation windows run so far.
    pub windows: u64,
}

impl<E: Endpoint> Engine<E> {
    pub fn new(
        p: &Params,
        classes: usize,
        opts: &RunOptions,
        mut make: impl FnMut(usize, &Torus, &NicSpec) -> E,
    ) -> Self {
        let torus = Torus::new(&p.shape);
        let rspec = RouterSpec::new(p);
        let nspec = NicSpec::new(p, classes);
        let sh = Shared {
            routing: Routing::new(p, &torus, classes),
            lookahead: rspec.to_next_router.min(rspec.credit_latency),
            rspec,
            nspec,
            window: (p.warmup_cycles, p.warmup_cycles + p.measure_cycles),
            record_ids: opts.check,
        };
        let owner = slab_owner(&torus, opts.partitions);
        let nparts = owner.iter().max().map_or(1, |m| m + 1);
        let parts = (0..nparts)
            .map(|pi| {
                let nodes: Vec<u32> = (0..torus.nodes())
                    .filter(|&n| owner[n] == pi)
                    .map(|n| n as u32)
                    .collect();
                Partition::new(nodes, torus.nodes(), &sh, |g| make(g, &torus, &sh.nspec))
            })
            .collect();
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
            lookahead,
            now: 0,
            pool,
            windows: 0,
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn lookahead(&self) -> u64 {
        self.lookahead
    }

    /// Advances every partition to `end`, window by window; jumps over idle time.
    pub fn run_until(&mut self, end: u64) {
        if self.parts.len() == 1 {
            self.parts[0].run_until(end, &self.sh);
            self.now = end;
            return;
        }
        while self.now < end {
            let next = self.parts.iter().filter_map(|p| p.next_event()).min();
            let start = match next {
                Some(n) if n < end => n.max(self.now),
                _ => end,
            };
            let w_end = if start >= end {
                end
            } else {
                (start + self.lookahead).min(end)
            };
            let sh = &self.sh;
            match &self.pool {
                Some(pool) => pool.install(|| {
                    use rayon::prelude::*;
                    self.parts
                        .par_iter_mut()
                        .for_each(|p| p.run_until(w_end, sh));
                }),
                None => self.parts.iter_mut().for_each(|p| p.run_until(w_end, sh)),
            }
            self.windows += 1;
            self.exchange();
            self.now = w_end;
        }
    }

    fn exchange(&mut self) {
        let mut moved: Vec<Msg> = Vec::new();
        for p in &mut self.parts {
            moved.append(&mut p.outbox);
        }
        for m in moved {
            let o = self.owner[m.node() as usize];
            self.parts[o].deliver(m, &self.sh);
        }
    }

    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for p in &self.parts {
            s.merge(&p.stats);
        }
        s
    }

    pub fn in_flight(&self) -> i64 {
        self.parts.iter().map(|p| p.flow_balance()).sum()
    }

    fn last_delivery(&self) -> u64 {
        self.parts
            .iter()
            .map(|p| p.stats.last_delivery)
            .max()
            .unwrap_or(0)
    }

    fn measured_pending(&self) -> bool {
        let (c, d) = self.parts.iter().fold((0, 0), |(c, d), p| {
            (
                c + p.stats.measured_packets_created,
                d + p.stats.measured_packets_delivered,
            )
        });
        d < c
    }

    fn watchdog(&self, limit: u64, injectors: usize) -> Result<(), SimError> {
        let inf = self.in_flight();
        let last = self.last_delivery();
        if inf > 0 && self.now.saturating_sub(last) > limit {
            let stuck = self
                .parts
                .iter()
                .flat_map(|p| p.describe_stuck(&self.sh, injectors))
                .collect();
            return Err(SimError::Deadlock {
                cycle: self.now,
                in_flight: inf,
                last_delivery: last,
                stuck,
            });
        }
        Ok(())
    }

    /// Runs to `end` in check intervals, with the watchdog, calling `each` after every
    /// interval; stops early when `done` holds.
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
        for part in &mut self.parts {
            part.stop_traffic();
        }
        let limit = self.now + p.max_drain_cycles.max(p.watchdog_cycles) * 4 + 1_000_000;
        let flushed = self.run_phase(limit, p, Phase::Flush, progress, &|e: &Self| {
            e.in_flight() == 0
        })?;
        if !flushed {
            return Err(SimError::Conservation(format!(
                "{} packets still in flight {} cycles after traffic stopped",
                self.in_flight(),
                limit
            )));
        }
        let stats = self.stats();
        verify_conservation(self, &stats, check)?;
        Ok(Outcome {
            stats,
            cycles: self.now,
            drain_cycles,
            saturated: !drained,
            wall_seconds: wall.elapsed().as_secs_f64(),
            partitions: self.parts.len(),
            lookahead: self.lookahead,
            windows: self.windows,
        })
    }
}

fn verify_conservation<E: Endpoint>(e: &Engine<E>, s: &Stats, check: bool) -> Result<(), SimError> {
    if s.packets_injected != s.packets_delivered || s.flits_injected != s.flits_delivered {
        return Err(SimError::Conservation(format!(
            "{} packets ({} flits) injected, {} ({} flits) delivered",
            s.packets_injected, s.flits_injected, s.packets_delivered, s.flits_delivered
        )));
    }
    if !check {
        return Ok(());
    }
    let mut ids = s.delivered_ids.clone();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(SimError::Conservation(format!(
            "packet {}:{} delivered twice",
            w[0] >> 32,
            w[0] & 0xffff_ffff
        )));
    }
    let mut per_src = vec![0u32; e.owner.len()];
    for &id in &ids {
        per_src[(id >> 32) as usize] += 1;
    }
    for part in &e.parts {
        for (node, injected) in part.injected_per_node() {
            let got = per_src[node as usize];
            if got != injected {
                return Err(SimError::Conservation(format!(
                    "node {node} injected {injected} packets but {got} were delivered"
                )));
            }
        }
    }
    // Unique ids, per-source counts equal, and every id below its source's count:
    // each injected packet arrived exactly once.
    let injected: Vec<u32> = {
        let mut v = vec![0u32; e.owner.len()];
        for part in &e.parts {
            for (node, n) in part.injected_per_node() {
                v[node as usize] = n;
            }
        }
        v
    };
    if let Some(&id) = ids
        .iter()
        .find(|&&id| (id & 0xffff_ffff) as u32 >= injected[(id >> 32) as usize])
    {
        return Err(SimError::Conservation(format!(
            "packet {}:{} was never injected",
            id >> 32,
            id & 0xffff_ffff
        )));
    }
    Ok(())
}
