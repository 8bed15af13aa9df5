//! `torsim plot`: pictures of a result file written earlier.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use torsim::report::heatmap::{LinkMap, draw};

#[derive(Args)]
pub struct PlotArgs {
    #[command(subcommand)]
    what: PlotKind,
}

#[derive(Subcommand)]
enum PlotKind {
    /// Link-utilisation heatmap of a result written with `--link-stats`.
    Links {
        /// Result file (JSON) of `torsim run ... --link-stats --out FILE`.
        result: PathBuf,
        /// SVG file to write [default: the result's name with `-links.svg`].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(args: PlotArgs) -> Result<(), String> {
    let PlotKind::Links { result, out } = args.what;
    let text = std::fs::read_to_string(&result)
        .map_err(|e| format!("cannot read {}: {e}", result.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a result file: {e}", result.display()))?;
    let stem = result
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result".into());
    let out = out.unwrap_or_else(|| result.with_file_name(format!("{stem}-links.svg")));
    let title = format!("link utilisation: {stem}");
    let map =
        LinkMap::from_result(&doc, &title).map_err(|e| format!("{}: {e}", result.display()))?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let cells = draw(&out, &map)?;
    println!("{}: {cells} links", out.display());
    for (name, u) in map.hottest(5) {
        println!("  {name} {:.1}%", 100.0 * u);
    }
    Ok(())
}
