//! A run's phases on top of the engine: warm-up, measurement, drain of the measured
//! packets, flush with traffic stopped; and node programs run to their end. Both check
//! for deadlock at every interval (`watchdog`) and conservation at the end
//! (`conservation`).

use super::conservation::verify_conservation;
use super::watchdog::watchdog;
use crate::config::Params;
use crate::engine::Endpoint;
use crate::engine::component::RouterModel;
use crate::engine::sim::{Engine, Layout};
use crate::stats::Stats;
use std::fmt;
use std::time::Instant;

/// Cycles between checks of the phase conditions and the watchdog. Fixed, so the
/// simulated end time does not depend on partitioning.
pub const CHECK_INTERVAL: u64 = 128;

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
    /// The symmetric variables at the end, every word, per PE (empty without any).
    pub variables: Vec<Vec<u64>>,
    /// Results of collectives: (node, op index, element, value), sorted; a
    /// reduction's words, a broadcast's bytes received. Only the latest run of an op
    /// in a loop is kept.
    pub values: Vec<(u32, u32, u32, u64)>,
    pub wall_seconds: f64,
    pub partitions: usize,
    pub windows: u64,
    /// The synchronisation window in cycles.
    pub lookahead: u64,
    /// Processes the run was split over.
    pub ranks: usize,
    /// As in [`Outcome`].
    pub boundary_messages: u64,
    /// As in [`Outcome`].
    pub exchanged_bytes: u64,
    /// As in [`Outcome`].
    pub comm_seconds: f64,
    /// As in [`Outcome`].
    pub sync_wait_fraction: f64,
    /// The partitioning: unidirectional links cut, and nodes per partition.
    pub layout: Layout,
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
    /// The programs were still running at `simulation.max_program_cycles`.
    CycleLimit {
        cycle: u64,
        waits: Vec<String>,
    },
}

/// The first few PEs' waits, then how many more there are.
fn list_waits(f: &mut fmt::Formatter<'_>, waits: &[String]) -> fmt::Result {
    for w in waits.iter().take(4) {
        write!(f, "; {w}")?;
    }
    if waits.len() > 4 {
        write!(f, "; and {} more", waits.len() - 4)?;
    }
    Ok(())
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
            SimError::CycleLimit { cycle, waits } => {
                write!(
                    f,
                    "the programs had not ended at cycle {cycle}, the limit simulation.max_program_cycles ({} PE(s) unfinished; a loop that never ends, such as a spin on a lock nobody releases?)",
                    waits.len()
                )?;
                list_waits(f, waits)
            }
            SimError::Stalled { cycle, waits } => {
                write!(
                    f,
                    "the programs cannot go on: at cycle {cycle} nothing is in flight or scheduled, yet {} PE(s) have not finished",
                    waits.len()
                )?;
                list_waits(f, waits)
            }
        }
    }
}

impl std::error::Error for SimError {}

/// Runs `e` to `end` in check intervals, with the watchdog, reporting progress after
/// every interval; stops early when `done` holds (a global condition).
fn run_phase<E: Endpoint, R: RouterModel>(
    e: &mut Engine<E, R>,
    end: u64,
    p: &Params,
    phase: Phase,
    progress: &mut dyn FnMut(Progress),
    done: &dyn Fn(&Engine<E, R>) -> bool,
) -> Result<bool, SimError> {
    while e.now() < end {
        if done(e) {
            return Ok(true);
        }
        let next = ((e.now() / CHECK_INTERVAL + 1) * CHECK_INTERVAL).min(end);
        e.run_until(next);
        watchdog(e, p.watchdog_cycles, p.injectors)?;
        progress(Progress {
            cycle: e.now(),
            phase,
            phase_end: end,
        });
    }
    Ok(done(e))
}

/// Stops traffic creation everywhere and runs until the network is empty.
pub fn flush<E: Endpoint, R: RouterModel>(
    e: &mut Engine<E, R>,
    p: &Params,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), SimError> {
    e.stop_traffic();
    let limit = e.now() + p.max_drain_cycles.max(p.watchdog_cycles) * 4 + 1_000_000;
    let flushed = run_phase(e, limit, p, Phase::Flush, progress, &|e: &Engine<E, R>| {
        e.in_flight() == 0
    })?;
    if !flushed {
        return Err(SimError::Conservation(format!(
            "{} packets still in flight at cycle {limit}, long after traffic stopped",
            e.in_flight()
        )));
    }
    Ok(())
}

/// Warm-up, measurement, drain of the measured packets, then a flush with traffic
/// stopped until the network is empty; then the conservation check (exactly once with
/// `check`, which needs the engine to record delivered ids).
pub fn run_phases<E: Endpoint, R: RouterModel>(
    e: &mut Engine<E, R>,
    p: &Params,
    check: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome, SimError> {
    let wall = Instant::now();
    let never = |_: &Engine<E, R>| false;
    run_phase(e, p.warmup_cycles, p, Phase::Warmup, progress, &never)?;
    let w_end = p.warmup_cycles + p.measure_cycles;
    run_phase(e, w_end, p, Phase::Measure, progress, &never)?;
    let drained = run_phase(
        e,
        w_end + p.max_drain_cycles,
        p,
        Phase::Drain,
        progress,
        &|e: &Engine<E, R>| !e.measured_pending(),
    )?;
    let drain_cycles = e.now() - w_end;
    flush(e, p, progress)?;
    let stats = e.stats();
    verify_conservation(e, &stats, check)?;
    let wall_seconds = wall.elapsed().as_secs_f64();
    // Execution figures, summed over processes (collectives: every rank gets here).
    let x = e.execution();
    Ok(Outcome {
        stats,
        cycles: e.now(),
        drain_cycles,
        saturated: !drained,
        wall_seconds,
        partitions: e.partitions(),
        lookahead: e.lookahead(),
        windows: e.windows,
        ranks: e.ranks(),
        boundary_messages: x.boundary_messages,
        exchanged_bytes: x.exchanged_bytes,
        comm_seconds: x.comm_seconds,
        sync_wait_fraction: x.sync_wait_fraction,
        layout: e.layout(),
    })
}

/// Runs node programs to their end and until the network is empty.
pub fn run_programs<E: Endpoint, R: RouterModel>(
    e: &mut Engine<E, R>,
    p: &Params,
    check: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<ProgramOutcome, SimError> {
    let wall = Instant::now();
    loop {
        if e.unfinished() == 0 && e.in_flight() == 0 {
            break;
        }
        if e.next_event() == u64::MAX {
            return Err(SimError::Stalled {
                cycle: e.now(),
                waits: e.waits(),
            });
        }
        if e.now() >= p.max_program_cycles {
            return Err(SimError::CycleLimit {
                cycle: e.now(),
                waits: e.waits(),
            });
        }
        let next = ((e.now() / CHECK_INTERVAL + 1) * CHECK_INTERVAL).min(p.max_program_cycles);
        e.run_until(next);
        watchdog(e, p.watchdog_cycles, p.injectors)?;
        progress(Progress {
            cycle: e.now(),
            phase: Phase::Measure,
            phase_end: e.now(),
        });
    }
    let stats = e.stats();
    verify_conservation(e, &stats, check)?;
    let (marks, end_cycle) = e.marks();
    let variables = e.variables().into_iter().map(|(_, v)| v).collect();
    let values = e.values();
    let wall_seconds = wall.elapsed().as_secs_f64();
    // Execution figures, summed over processes (collectives: every rank gets here).
    let x = e.execution();
    Ok(ProgramOutcome {
        stats,
        end_cycle,
        cycles: e.now(),
        marks,
        variables,
        values,
        wall_seconds,
        partitions: e.partitions(),
        windows: e.windows,
        lookahead: e.lookahead(),
        ranks: e.ranks(),
        boundary_messages: x.boundary_messages,
        exchanged_bytes: x.exchanged_bytes,
        comm_seconds: x.comm_seconds,
        sync_wait_fraction: x.sync_wait_fraction,
        layout: e.layout(),
    })
}
