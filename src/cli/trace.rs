//! `--trace FILE`: which packets to trace, and writing the trace-event file.

use super::write_file;
use std::path::Path;
use torsim::config::Params;
use torsim::stats::Stats;
use torsim::stats::trace::TraceSpec;
use torsim::topology::Torus;

/// Packets traced when neither `--trace-packets` nor `--trace-window` is given.
pub const DEFAULT_PACKETS: usize = 100;

/// The trace requested by `--trace`, `--trace-packets N` and `--trace-window A:B`
/// (cycles; packets created in `A..B`); `None` without `--trace`.
pub fn spec(
    file: Option<&Path>,
    packets: Option<usize>,
    window: Option<&str>,
) -> Result<Option<TraceSpec>, String> {
    if file.is_none() {
        if packets.is_some() || window.is_some() {
            return Err("--trace-packets and --trace-window need --trace FILE".into());
        }
        return Ok(None);
    }
    let window = match window {
        None => (0, u64::MAX),
        Some(w) => {
            let bad = || format!("--trace-window {w}: expected A:B, cycles with A < B");
            let (a, b) = w.split_once(':').ok_or_else(bad)?;
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b.trim().parse().map_err(|_| bad())?;
            if a >= b {
                return Err(bad());
            }
            (a, b)
        }
    };
    let limit = match (packets, window) {
        (Some(0), _) => return Err("--trace-packets must be at least 1".into()),
        (Some(n), _) => n,
        // A window alone traces every packet created in it.
        (None, (0, u64::MAX)) => DEFAULT_PACKETS,
        (None, _) => usize::MAX,
    };
    Ok(Some(TraceSpec { limit, window }))
}

/// Writes the trace of a finished run to `path`; returns a one-line summary.
pub fn write(path: &Path, params: &Params, stats: &Stats) -> Result<String, String> {
    let Some(t) = &stats.trace else {
        return Ok(String::new());
    };
    let torus = Torus::from_params(params);
    let doc = torsim::report::trace::trace_json(t, &torus, params.injectors);
    write_file(path, &(serde_json::to_string(&doc).expect("JSON") + "\n"))?;
    Ok(format!(
        "  trace        {} packets, {} operations in {} (open in ui.perfetto.dev)\n",
        t.packets(),
        t.ops.len(),
        path.display()
    ))
}
