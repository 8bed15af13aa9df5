//! Output of the per-channel statistics (`--link-stats`): CSV tables beside the JSON
//! result and the hottest links in the summary.

use super::write_file;
use serde_json::Value;
use std::path::{Path, PathBuf};
use torsim::report::channels::{channel_csv, hottest_links};

/// `dir/stem-suffix.csv` for a result written to `dir/stem.json`.
fn beside(out: &Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result".into());
    out.with_file_name(format!("{stem}-{suffix}.csv"))
}

/// Writes the CSV tables of `doc`'s per-channel sections beside `out` (the JSON
/// result); returns the files written.
pub fn write_csv(out: &Path, doc: &Value) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for (name, text) in channel_csv(doc).unwrap_or_default() {
        let path = beside(out, name);
        write_file(&path, &text)?;
        written.push(path);
    }
    Ok(written)
}

/// Summary lines: the busiest link directions of `doc`.
pub fn summary(doc: &Value) -> String {
    let hot = hottest_links(doc, 5);
    if hot.is_empty() {
        return String::new();
    }
    let list: Vec<String> = hot
        .iter()
        .map(|(l, u)| format!("{l} {:.1}%", 100.0 * u))
        .collect();
    format!("  hottest links {}\n", list.join(", "))
}

/// Writes the per-channel statistics of one program run (an SpMV exchange) as
/// `base.json` (the `link_stats`, `links`, `routers` and `nodes` sections), CSV tables
/// beside it and a heatmap `base-links.svg`; returns the files written.
pub fn write_exchange(
    base: &Path,
    params: &torsim::config::Params,
    stats: &torsim::stats::Stats,
    cycles: u64,
    title: &str,
) -> Result<Vec<String>, String> {
    let sections = torsim::report::channels::channel_sections(params, stats, cycles)
        .ok_or("the run collected no per-channel statistics")?;
    let doc = Value::Object(
        sections
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    );
    let json_path = PathBuf::from(format!("{}.json", base.display()));
    write_file(
        &json_path,
        &(serde_json::to_string_pretty(&doc).expect("JSON") + "\n"),
    )?;
    let mut files = vec![json_path.clone()];
    files.extend(write_csv(&json_path, &doc)?);
    let svg = beside(&json_path, "links").with_extension("svg");
    let map = torsim::report::heatmap::LinkMap::from_result(&doc, title)?;
    torsim::report::heatmap::draw(&svg, &map)?;
    files.push(svg);
    Ok(files.iter().map(|p| p.display().to_string()).collect())
}
