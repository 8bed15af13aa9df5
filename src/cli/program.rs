//! `torsim run` for configs whose `[workload]` names a program file.

use super::{ConfigArgs, ProgressLog, phase_name, progress_bar, write_file};
use std::path::Path;
use torsim::config::{Config, Params};
use torsim::engine::sim::RunOptions;
use torsim::experiment::phases::Progress;
use torsim::experiment::run::run_program;
use torsim::report;
use torsim::traffic::program::Program;

/// Resolves `file` relative to the config's directory, as users expect of paths in a
/// config, falling back to the working directory.
pub fn resolve(cfg: &ConfigArgs, file: &str) -> std::path::PathBuf {
    let rel = cfg.config.parent().unwrap_or(Path::new(".")).join(file);
    if rel.exists() {
        rel
    } else {
        Path::new(file).to_path_buf()
    }
}

/// How the results of a run are to be produced.
pub struct Output<'a> {
    pub out: Option<&'a Path>,
    pub json: bool,
    pub skip_deadlock_check: bool,
    /// Write the packet trace here.
    pub trace: Option<&'a Path>,
}

pub fn run(
    cfg: &ConfigArgs,
    config: &Config,
    params: &Params,
    file: &str,
    opts: &RunOptions,
    o: Output,
    par: &super::par::Par,
) -> Result<(), String> {
    let Output {
        out,
        json,
        skip_deadlock_check,
        trace,
    } = o;
    let path = resolve(cfg, file);
    let program = par.agree(
        Program::load(&path, params.pes(), params.clock_hz, &[]).map_err(|e| e.to_string()),
    )?;
    let pb = if par.is_root() {
        progress_bar(0, "program")
    } else {
        None
    };
    let mut log = ProgressLog::new("program", par.is_root());
    let mut progress = |pr: Progress| {
        if let Some(pb) = &pb {
            pb.set_message(phase_name(pr.phase));
            pb.set_length(pr.cycle);
            pb.set_position(pr.cycle);
        }
        log.at(pr.cycle, None);
    };
    let outcome = run_program(
        params,
        &program,
        opts,
        par.comm(),
        skip_deadlock_check,
        &mut progress,
    );
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let outcome = outcome.map_err(|e| e.to_string())?;
    if !par.is_root() {
        return Ok(());
    }
    let v = report::program_json(config, params, &outcome, &program, &path, opts.threads);
    if let Some(path) = out {
        write_file(
            path,
            &(serde_json::to_string_pretty(&v).expect("JSON") + "\n"),
        )?;
        super::link_stats::write_csv(path, &v)?;
    }
    let traced = match trace {
        Some(t) => super::trace::write(t, params, &outcome.stats)?,
        None => String::new(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&v).expect("JSON"));
    } else {
        print!(
            "{}",
            report::program_summary(params, &outcome, &program, &path)
        );
        print!("{}", super::link_stats::summary(&v));
        print!("{traced}");
    }
    Ok(())
}
