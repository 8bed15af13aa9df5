//! High-level entry points used by the CLI, the benchmarks and the tests.

use crate::config::ConfigError;
use crate::config::Params;
use crate::core::flit::CLASSES;
use crate::engine::comm::{Comm, LocalComm};
use crate::engine::sim::{Engine, RunOptions};
use crate::experiment::phases::{
    Outcome, ProgramOutcome, Progress, SimError, run_phases, run_programs,
};
use crate::node::op::Op;
use crate::node::shmem::{ShmemPe, ShmemSpec};
use crate::node::variables::Variables;
use crate::routing::{Routing, deadlock};
use crate::topology::Torus;
use crate::traffic::pattern::DestinationPicker;
use crate::traffic::program::Program;
use crate::traffic::synthetic::SyntheticEndpoint;
use std::fmt;
use std::sync::Arc;

#[derive(Debug)]
pub enum RunError {
    /// The routing configuration can deadlock (a cycle in the channel dependency graph).
    UnsafeRouting(Vec<String>),
    /// The routing cannot be built or is unsafe for another reason than a cycle.
    Routing(String),
    Sim(SimError),
    Config(ConfigError),
    Program(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::UnsafeRouting(cycle) => {
                writeln!(
                    f,
                    "the routing configuration can deadlock: its channel dependency graph has a cycle:"
                )?;
                for c in cycle.iter().take(16) {
                    writeln!(f, "  {c}")?;
                }
                if cycle.len() > 16 {
                    writeln!(f, "  ... ({} channels in all)", cycle.len())?;
                }
                write!(
                    f,
                    "use routing.deadlock_avoidance = \"dateline\" (with an even number of VCs) or \"bubble\""
                )
            }
            RunError::Routing(e) => write!(f, "{e}"),
            RunError::Sim(e) => write!(f, "{e}"),
            RunError::Config(e) => write!(f, "{e}"),
            RunError::Program(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Builds the routing of `p` (table generation included) for `classes` message classes.
pub fn build_routing(p: &Params, classes: usize) -> Result<Routing, RunError> {
    let torus = Torus::from_params(p);
    Routing::build(p, &torus, classes).map_err(|e| RunError::Routing(e.0))
}

/// Checks a routing for deadlock freedom (see [`deadlock::check`]).
pub fn check_built(r: &Routing, classes: usize) -> Result<deadlock::CdgReport, RunError> {
    let rep = deadlock::check(r, classes);
    if let Some(p) = &rep.problem {
        return Err(RunError::Routing(p.clone()));
    }
    match &rep.cycle {
        Some(c) => Err(RunError::UnsafeRouting(c.clone())),
        None => Ok(rep),
    }
}

/// Builds the routing of `p` and checks it for deadlock freedom.
pub fn check_routing(p: &Params, classes: usize) -> Result<deadlock::CdgReport, RunError> {
    check_built(&build_routing(p, classes)?, classes)
}

/// The routing a run uses: built, and checked unless the user skipped the check.
fn prepare_routing(p: &Params, classes: usize, skip_check: bool) -> Result<Routing, RunError> {
    let r = build_routing(p, classes)?;
    if !skip_check {
        check_built(&r, classes)?;
    }
    Ok(r)
}

/// Runs the synthetic traffic of `p`: warm-up, measurement, drain.
pub fn run_synthetic(
    p: &Params,
    opts: &RunOptions,
    skip_deadlock_check: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome, RunError> {
    run_synthetic_on(p, opts, Box::new(LocalComm), skip_deadlock_check, progress)
}

/// [`run_synthetic`] for one process of a multi-process run: `comm` connects it to the
/// others, and every process returns the same (merged) outcome.
pub fn run_synthetic_on(
    p: &Params,
    opts: &RunOptions,
    comm: Box<dyn Comm>,
    skip_deadlock_check: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome, RunError> {
    p.check_synthetic().map_err(RunError::Config)?;
    let packets = opts.check.then(|| {
        let cycles = p.warmup_cycles.saturating_add(p.measure_cycles) as f64;
        (p.injection_rate * p.nodes() as f64 * cycles / p.packet_flits as f64) as u64
    });
    super::memory::check(&super::memory::estimate(p, None, packets)).map_err(RunError::Program)?;
    let classes = p.subnetworks;
    let routing = prepare_routing(p, classes, skip_deadlock_check)?;
    let picker = DestinationPicker::for_params(p);
    let opts = &RunOptions {
        channel_window: (p.warmup_cycles, p.warmup_cycles + p.measure_cycles),
        ..opts.clone()
    };
    let mut engine = Engine::with_routing(p, routing, opts, comm, |node, torus, nic| {
        SyntheticEndpoint::new(node, p, torus, nic, &picker)
    });
    run_phases(&mut engine, p, opts.check, progress).map_err(RunError::Sim)
}

/// Runs node programs (one per PE) to completion on the network of `p`.
pub fn run_program(
    p: &Params,
    program: &Program,
    opts: &RunOptions,
    comm: Box<dyn Comm>,
    skip_deadlock_check: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<ProgramOutcome, RunError> {
    run_program_owned(
        p,
        program.clone(),
        opts,
        comm,
        skip_deadlock_check,
        progress,
    )
}

/// [`run_program`] taking the program over: the PEs get its op lists without a copy,
/// which matters when they are large (an SpMV alltoall on 16,384 nodes has 85 M puts,
/// 2 GB).
pub fn run_program_owned(
    p: &Params,
    program: Program,
    opts: &RunOptions,
    comm: Box<dyn Comm>,
    skip_deadlock_check: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<ProgramOutcome, RunError> {
    let p = p.for_programs().map_err(RunError::Config)?;
    program.validate().map_err(|e| RunError::Program(e.0))?;
    super::memory::check(&super::memory::estimate(&p, Some(&program), None))
        .map_err(RunError::Program)?;
    if program.ops.len() != p.pes() {
        return Err(RunError::Program(format!(
            "the program is for {} PEs but the torus has {} live nodes{}",
            program.ops.len(),
            p.pes(),
            if p.pes() < p.nodes() {
                format!(" ({} failed)", p.nodes() - p.pes())
            } else {
                String::new()
            }
        )));
    }
    let routing = prepare_routing(&p, CLASSES, skip_deadlock_check)?;
    let uses = program.ops.iter().enumerate().find_map(|(pe, ops)| {
        ops.iter()
            .position(|o| matches!(o, Op::HCollective { .. } | Op::HWait))
            .map(|i| (pe, i))
    });
    if let (Some((pe, i)), None) = (uses, &p.collectives) {
        return Err(RunError::Program(format!(
            "PE {pe}, op {}: hardware collectives need a [collectives] section in the config (e.g. --set collectives.root=0)",
            i + 1
        )));
    }
    let trees = routing.network().trees.clone();
    let spec = Arc::new(ShmemSpec::new(&p).with_trees(&p, trees));
    let ops: Vec<Arc<Vec<Op>>> = program.ops.into_iter().map(Arc::new).collect();
    let idle = Arc::new(Vec::new());
    let layout = program.variables.clone();
    let init = &program.initial;
    let mut engine = Engine::with_routing(&p, routing, opts, comm, |node, _, nic| {
        let (ops, vars) = match spec.pe_of(node as u32) {
            Some(pe) => (
                ops[pe as usize].clone(),
                Variables::new(
                    layout.clone(),
                    init.get(pe as usize).cloned().unwrap_or_default(),
                ),
            ),
            None => (idle.clone(), Variables::default()),
        };
        ShmemPe::new(node, spec.clone(), ops, vars, nic)
    });
    let mut o = run_programs(&mut engine, &p, opts.check, progress).map_err(RunError::Sim)?;
    // Marks are recorded per node; report them per PE.
    for m in &mut o.marks {
        m.0 = spec.pe_of(m.0).unwrap_or(m.0);
    }
    o.marks.sort_unstable();
    for v in &mut o.values {
        v.0 = spec.pe_of(v.0).unwrap_or(v.0);
    }
    o.values.sort_unstable();
    Ok(o)
}
