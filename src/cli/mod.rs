//! Command-line interface: argument parsing and the subcommands.

mod bench;
mod collectives;
mod link_stats;
mod par;
mod plot;
mod program;
mod routes;
mod spmv;
mod sweep;
mod trace;
mod yardstick;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use par::Par;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use torsim::config::{self, Config, Params};
use torsim::engine::partitioning;
use torsim::engine::sim::RunOptions;
use torsim::experiment::phases::{Phase, Progress};
use torsim::experiment::run::{RunError, check_routing, run_synthetic_on};
use torsim::experiment::validate;
use torsim::report;
use torsim::topology::{Torus, graph};
use torsim::traffic::micro::{Micro, MicroParams};

#[derive(Parser)]
#[command(
    name = "torsim",
    version,
    about = "Cycle-accurate simulator of multidimensional-torus interconnects"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Args, Clone)]
pub struct ConfigArgs {
    /// Config file (TOML).
    config: PathBuf,
    /// Override a config key, e.g. `--set traffic.injection_rate=0.3` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a config and print a summary; `--out` writes the JSON result.
    Run {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Write the JSON result here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Verify that every injected packet is delivered exactly once.
        #[arg(long)]
        check: bool,
        /// Worker threads (per MPI rank); each advances its own partitions.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Split the network into this many partitions (slabs of the longest
        /// dimension, blocks beyond its length); default: one per thread (per thread
        /// of every rank under MPI).
        #[arg(long)]
        partitions: Option<usize>,
        /// Print the JSON result on stdout instead of the summary.
        #[arg(long)]
        json: bool,
        /// Run even if the static deadlock check fails (to watch the watchdog catch it).
        #[arg(long, hide = true)]
        skip_deadlock_check: bool,
        /// Collect per-channel statistics (links, input VCs, crossbars, adapters): the
        /// `links`, `routers` and `nodes` sections of the JSON, and CSV tables beside
        /// `--out`.
        #[arg(long)]
        link_stats: bool,
        /// Write a packet trace (Chrome/Perfetto trace-event JSON) to this file.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Trace at most this many packets (the earliest created) and operations per
        /// PE [default: 100, or every packet of --trace-window].
        #[arg(long, value_name = "N")]
        trace_packets: Option<usize>,
        /// Trace the packets created (and operations started) in cycles A..B.
        #[arg(long, value_name = "A:B")]
        trace_window: Option<String>,
    },
    /// Run a parameter sweep; writes a CSV, a JSON array of results, and SVG plots of latency
    /// and of accepted against offered throughput.
    Sweep(sweep::SweepArgs),
    /// Print the torus geometry: nodes, hop counts, diameter, bisection.
    Topology {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Print the graph in Graphviz dot format instead.
        #[arg(long)]
        dot: bool,
    },
    /// Check the routing configuration for deadlock freedom (channel dependency graph).
    Check {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Print a packet's path hop by hop (`--from A --to B`) or route statistics over all
    /// pairs (`--summary`).
    Routes(routes::RoutesArgs),
    /// Measure simulator speed on standard cases.
    Bench(bench::BenchArgs),
    /// Run one microbenchmark on the ShmemPE node model (`--list` names them).
    Micro {
        /// Benchmark name, e.g. neighbor-latency.
        #[arg(required_unless_present = "list")]
        name: Option<String>,
        /// Config file (TOML).
        #[arg(required_unless_present = "list")]
        config: Option<PathBuf>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// List the benchmarks.
        #[arg(long)]
        list: bool,
    },
    /// SpMV exchanges (alltoall, allgather) over a range of node counts.
    Spmv(Box<spmv::SpmvArgs>),
    /// Zero-load latency of software and hardware barriers and of hardware allreduces
    /// over a range of node counts (CSV, JSON, SVG plots).
    Collectives(collectives::CollectivesArgs),
    /// Draw a picture of a result file (`plot links RESULT.json`: a link-utilisation heatmap).
    Plot(plot::PlotArgs),
    /// Compare the model with measured (or planned) hardware figures.
    Validate {
        /// Config to validate [default: the one the reference names].
        config: Option<PathBuf>,
        /// Reference figures [default: validation/prototype-3x3.toml].
        reference: Option<PathBuf>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Write the table as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Loads and resolves a config, or prints the error.
pub fn load(args: &ConfigArgs) -> Result<(Config, Params), String> {
    config::load(&args.config, &args.set).map_err(|e| e.to_string())
}

/// Progress of a long simulation when stderr is not a terminal (a batch job, `nohup`),
/// where no progress bar is drawn: a line at most once a minute (or every
/// `$TORSIM_PROGRESS_SECONDS`), so a run of an hour says how far it got instead of
/// nothing until it ends. Short runs print nothing.
pub struct ProgressLog {
    what: String,
    start: std::time::Instant,
    last: std::time::Instant,
    every: std::time::Duration,
    on: bool,
}

impl ProgressLog {
    /// A log for the run described by `what`; silent on a terminal and on every MPI
    /// rank but `root`.
    pub fn new(what: impl Into<String>, root: bool) -> ProgressLog {
        let now = std::time::Instant::now();
        let every = std::env::var("TORSIM_PROGRESS_SECONDS")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(std::time::Duration::from_secs(60), |s| {
                std::time::Duration::from_secs_f64(s.min(1e9))
            });
        ProgressLog {
            what: what.into(),
            start: now,
            last: now,
            every,
            on: root && !std::io::stderr().is_terminal(),
        }
    }

    /// The run has reached `cycle` (in `phase`, for synthetic runs, whose phases mean
    /// something): prints a line if one is due.
    pub fn at(&mut self, cycle: u64, phase: Option<Phase>) {
        if self.on && self.last.elapsed() >= self.every {
            self.last = std::time::Instant::now();
            eprintln!(
                "torsim: {}: {}cycle {cycle} after {:.1} min",
                self.what,
                phase.map_or(String::new(), |p| format!("{} ", phase_name(p))),
                self.start.elapsed().as_secs_f64() / 60.0
            );
        }
    }
}

/// A progress bar on a terminal, nothing otherwise (see [`ProgressLog`]).
pub fn progress_bar(len: u64, msg: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {pos}/{len} {elapsed_precise} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(msg.to_string());
    Some(pb)
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Warmup => "warm-up",
        Phase::Measure => "measure",
        Phase::Drain => "drain",
        Phase::Flush => "flush",
    }
}

pub fn main() -> i32 {
    // No input may end in a backtrace: a panic is a bug, reported in one line with the
    // exit code of any failure.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "torsim: internal error{at}: {} (a bug in torsim; please report it with the input)",
            what.replace('\n', " ")
        );
        std::process::exit(1);
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let par = match processes(&cli.cmd) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("torsim: {msg}");
            return 1;
        }
    };
    let code = match run_command(cli.cmd, &par) {
        Ok(()) => 0,
        Err(msg) => {
            // Every rank fails with the same error (see `par`); one copy is enough.
            // One line, whatever the error: its detail lines are joined.
            if par.is_root() {
                let parts: Vec<&str> = msg
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                eprintln!("torsim: {}", parts.join("; "));
            }
            1
        }
    };
    // `par` is dropped on return, which finalises MPI before `main` calls
    // `process::exit` (exiting skips destructors).
    code
}

/// Prints `--help` or `--version` (exit 0), or a usage error as one line (exit 1, like
/// every other failure).
fn usage_error(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("torsim: a command is needed; see `torsim --help`");
            1
        }
        _ => {
            // clap's message without its usage and hint lines, joined into one line.
            let text = e.render().to_string();
            let what: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                .filter(|l| !l.is_empty())
                .collect();
            let what = what.join(" ");
            let what = what.strip_prefix("error: ").unwrap_or(&what);
            eprintln!("torsim: {what}; see `torsim --help`");
            1
        }
    }
}

/// The simulating commands join the MPI job when built with the `mpi` feature (a job
/// of one process without a launcher); the others run on their own.
#[cfg(feature = "mpi")]
fn processes(cmd: &Command) -> Result<Par, String> {
    match cmd {
        Command::Run { .. } | Command::Sweep(_) | Command::Bench(_) | Command::Spmv(_) => {
            Par::init_mpi()
        }
        _ => Ok(Par::serial()),
    }
}

/// `path` without `dir/..` detours (`validation/../configs/x.toml` is
/// `configs/x.toml`), for messages; purely lexical, like the path the user would write.
fn tidy_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Whether `path` is a validation reference (it has `[[metric]]` entries).
fn is_reference(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .is_some_and(|t| t.contains_key("metric"))
}

/// Without MPI support a launcher's tasks would each run the whole simulation and
/// write the same files: refuse, naming the variable that gave the job away.
#[cfg(not(feature = "mpi"))]
fn processes(_: &Command) -> Result<Par, String> {
    if let Some((var, n)) = par::launched_tasks(|k| std::env::var(k).ok()) {
        return Err(format!(
            "started as one of {n} tasks ({var}) but built without MPI: every task would \
             run the same serial simulation; rebuild with `cargo build --release --features mpi` \
             (or start a single task)"
        ));
    }
    Ok(Par::serial())
}

/// The run's partitioning as asked for, or as close as the torus allows, with a
/// one-line note on stderr (rank 0 only) when it differs from what was asked: the
/// torus is cut into slabs of its longest dimension and, beyond its length, into
/// blocks (`torsim::engine::partitioning`), so some counts cannot be made exactly, and
/// a thread without a partition has nothing to do.
pub fn run_options(
    params: &Params,
    check: bool,
    threads: usize,
    partitions: Option<usize>,
    par: &Par,
    quiet: bool,
) -> Result<RunOptions, String> {
    if threads == 0 || partitions == Some(0) {
        return Err("--threads and --partitions must be at least 1".into());
    }
    let asked = partitions.unwrap_or(threads.saturating_mul(par.size()));
    let shape = params
        .shape
        .iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join("x");
    let cuts = partitioning::grid(&params.shape, asked.max(par.size()));
    let parts: usize = cuts.iter().product();
    let per_rank = parts.div_ceil(par.size());
    if !quiet && par.is_root() {
        if parts != asked {
            eprintln!(
                "torsim: note: {asked} partitions asked for; a {shape} torus is cut into {parts} instead ({} pieces: slabs of the longest dimension, then blocks)",
                partitioning::describe(&cuts)
            );
        }
        if threads > per_rank {
            eprintln!(
                "torsim: note: {threads} threads per process but only {per_rank} partition(s) each; running {per_rank} thread(s)"
            );
        }
    }
    // The engine applies the same cap; `asked` is passed on so that a sweep over
    // shapes splits every point as far as it can.
    // Threads beyond the partitions would only idle (the engine caps them per point
    // as well, where a sweep changes the shape).
    Ok(RunOptions {
        check,
        partitions: asked,
        threads: threads.min(per_rank.max(1)),
        ..Default::default()
    })
}

/// Writes an output file atomically (see [`report::atomic`]).
fn write_file(path: &Path, text: &str) -> Result<(), String> {
    report::atomic::write_atomic(path, text.as_bytes())
}

fn run_command(cmd: Command, par: &Par) -> Result<(), String> {
    match cmd {
        Command::Run {
            cfg,
            out,
            check,
            threads,
            partitions,
            json,
            skip_deadlock_check,
            link_stats,
            trace,
            trace_packets,
            trace_window,
        } => {
            let trace_spec = trace::spec(trace.as_deref(), trace_packets, trace_window.as_deref())?;
            let (config, params) = par.agree(load(&cfg))?;
            par.same_everywhere(
                "config",
                &serde_json::to_vec(&config).map_err(|e| e.to_string())?,
            )?;
            let opts = RunOptions {
                link_stats,
                trace: trace_spec,
                ..run_options(&params, check, threads, partitions, par, false)?
            };
            if let Some(file) = &config.workload.program {
                return program::run(
                    &cfg,
                    &config,
                    &params,
                    file,
                    &opts,
                    program::Output {
                        out: out.as_deref(),
                        json,
                        skip_deadlock_check,
                        trace: trace.as_deref(),
                    },
                    par,
                );
            }
            let total = params.warmup_cycles + params.measure_cycles;
            let pb = if par.is_root() {
                progress_bar(total, "warm-up")
            } else {
                None
            };
            let mut log = ProgressLog::new("run", par.is_root());
            let mut progress = |pr: Progress| {
                if let Some(pb) = &pb {
                    pb.set_message(phase_name(pr.phase));
                    pb.set_length(total.max(pr.cycle));
                    pb.set_position(pr.cycle);
                }
                log.at(pr.cycle, Some(pr.phase));
            };
            let outcome = run_synthetic_on(
                &params,
                &opts,
                par.comm(),
                skip_deadlock_check,
                &mut progress,
            )
            .map_err(|e| match e {
                RunError::Sim(s) => s.to_string(),
                other => other.to_string(),
            });
            if let Some(pb) = &pb {
                pb.finish_and_clear();
            }
            let outcome = outcome?;
            if !par.is_root() {
                // Rank 0 writes; the others wait to learn whether that worked, so the
                // whole job fails if it did not.
                return if par.any(false) {
                    Err("rank 0 failed to write the result".into())
                } else {
                    Ok(())
                };
            }
            let v = report::result_json(&config, &params, &outcome, opts.threads);
            let written = match &out {
                Some(path) => write_file(
                    path,
                    &(serde_json::to_string_pretty(&v).expect("JSON") + "\n"),
                )
                .and_then(|()| link_stats::write_csv(path, &v).map(|_| ())),
                None => Ok(()),
            };
            let traced = match &trace {
                Some(path) => written.and_then(|()| trace::write(path, &params, &outcome.stats)),
                None => written.map(|()| String::new()),
            };
            let written = traced.as_ref().map(|_| ()).map_err(Clone::clone);
            if par.any(written.is_err()) {
                return written;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&v).expect("JSON"));
            } else {
                // The config's name describes the file; overrides may have changed what
                // it names (the shape, the routing), so the summary's title says so.
                let mut titled = config.clone();
                if let Some(name) = &config.name
                    && !cfg.set.is_empty()
                {
                    titled.name = Some(format!("{name}, with --set {}", cfg.set.join(" --set ")));
                }
                print!("{}", report::summary(&titled, &params, &outcome, &v));
                print!("{}", link_stats::summary(&v));
                print!("{}", traced.unwrap_or_default());
                if outcome.saturated {
                    eprintln!(
                        "torsim: warning: the network is saturated at this load; latency figures cover only the packets that drained"
                    );
                }
            }
            Ok(())
        }
        Command::Sweep(args) => sweep::run(args, par),
        Command::Topology { cfg, dot } => {
            let (_, params) = load(&cfg)?;
            let t = Torus::from_params(&params);
            if dot {
                print!("{}", graph::to_dot(&t));
                return Ok(());
            }
            println!(
                "torus         {} ({} dimensions)",
                t.shape_string(),
                t.dims()
            );
            println!("nodes         {}", t.nodes());
            println!(
                "router ports  {} network + {} injector(s) + {} ejector(s)",
                t.network_ports(),
                params.injectors,
                params.ejectors
            );
            println!(
                "links         {} unidirectional",
                t.nodes() * t.network_ports()
            );
            println!("diameter      {} hops", t.diameter());
            println!(
                "average hops  {:.4} (uniform random, distinct pairs)",
                t.average_distance()
            );
            println!("bisection     {} bidirectional links", t.bisection_links());
            println!(
                "uniform bound {:.4} flits/node/cycle (bisection, one flit/cycle/link)",
                (4.0 * t.bisection_links() as f64 / t.nodes() as f64).min(params.injectors as f64)
            );
            println!(
                "zero-load     {} cycles at the average hop count ({} cycles per router)",
                params.zero_load_latency(
                    t.average_distance().round() as u64,
                    params.packet_flits as u64
                ),
                params.router_delay()
            );
            Ok(())
        }
        Command::Check { cfg } => {
            let (_, params) = load(&cfg)?;
            let r = check_routing(&params, 1).map_err(|e| e.to_string())?;
            println!(
                "deadlock-free: the channel dependency graph ({} vertices, {} dependencies{}) has no cycle",
                r.channels,
                r.dependencies,
                if params.deadlock_avoidance == torsim::config::schema::DeadlockAvoidance::Bubble {
                    ", rings contracted under bubble flow control"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Command::Routes(args) => routes::run(args),
        Command::Bench(args) => {
            if par.size() > 1 {
                return Err(
                    "`torsim bench` measures one process; run it without mpirun/srun".into(),
                );
            }
            bench::run(args)
        }
        Command::Spmv(args) => spmv::run(*args, par),
        Command::Collectives(args) => collectives::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Micro {
            name,
            config,
            set,
            list,
        } => {
            if list {
                for m in Micro::ALL {
                    println!("{:<20} {}", m.name(), m.unit());
                }
                return Ok(());
            }
            let (Some(name), Some(config)) = (name, config) else {
                return Err("give a benchmark name and a config".into());
            };
            let m = Micro::parse(&name).ok_or_else(|| {
                format!("unknown benchmark `{name}`; `torsim micro --list` names them")
            })?;
            let (_, params) = load(&ConfigArgs { config, set })?;
            let v = validate::run_micro(&params, m, &MicroParams::default())
                .map_err(|e| e.to_string())?;
            println!("{} = {v:.4} {}", m.name(), m.unit());
            Ok(())
        }
        Command::Validate {
            config,
            reference,
            set,
            out,
        } => {
            // A lone argument that is a reference file (it lists metrics) is the reference.
            let (config, reference) = match (config, reference) {
                (Some(c), None) if is_reference(&c) => (None, Some(c)),
                other => other,
            };
            let rpath = reference.unwrap_or_else(|| PathBuf::from("validation/prototype-3x3.toml"));
            let r = validate::Reference::load(&rpath)?;
            let cpath = match (config, &r.config) {
                (Some(c), _) => c,
                (None, Some(c)) => tidy_path(&rpath.parent().unwrap_or(Path::new(".")).join(c)),
                (None, None) => {
                    return Err(format!("{}: names no config; give one", rpath.display()));
                }
            };
            let (_, params) = load(&ConfigArgs {
                config: cpath.clone(),
                set,
            })?;
            let rows = validate::validate(&params, &r, &MicroParams::default())
                .map_err(|e| e.to_string())?;
            println!(
                "validation of {} against {}",
                cpath.display(),
                rpath.display()
            );
            println!("source: {}", r.source);
            print!("{}", validate::table(&rows));
            if let Some(path) = &out {
                let v = serde_json::json!({
                    "config": cpath.display().to_string(),
                    "reference": rpath.display().to_string(),
                    "source": r.source,
                    "rows": rows,
                    "git_revision": torsim::core::GIT_REVISION,
                });
                write_file(
                    path,
                    &(serde_json::to_string_pretty(&v).expect("JSON") + "\n"),
                )?;
            }
            let bad: Vec<&str> = rows
                .iter()
                .filter(|r| !r.ok)
                .map(|r| r.benchmark.as_str())
                .collect();
            if bad.is_empty() {
                Ok(())
            } else {
                Err(format!("out of tolerance: {}", bad.join(", ")))
            }
        }
    }
}
