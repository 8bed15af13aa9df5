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
