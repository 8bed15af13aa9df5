//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use torsim::config::{Config, Params, load_str};
use torsim::engine::sim::RunOptions;
use torsim::experiment::phases::Outcome;
use torsim::experiment::run::run_synthetic;
use torsim::report::{result_json, strip_wall_clock};

/// The reference 8x8 config shipped with the crate; tests derive variants with `--set`
/// overrides so that the baseline stays the documented one.
pub const REFERENCE: &str = include_str!("../../configs/torus-8x8.toml");

/// The reference config with `--set`-style overrides applied.
pub fn reference(overrides: &[&str]) -> (Config, Params) {
    config_with(REFERENCE, overrides)
}

/// `text` with `--set`-style overrides applied; panics with the loader's message.
pub fn config_with(text: &str, overrides: &[&str]) -> (Config, Params) {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_str(text, None, &o).unwrap_or_else(|e| panic!("config {overrides:?}: {e}"))
}

/// Runs synthetic traffic with the static deadlock check on; panics on any error.
pub fn run(p: &Params, partitions: usize, check: bool) -> Outcome {
    run_synthetic(
        p,
        &RunOptions {
            check,
            partitions,
            threads: 1,
            ..Default::default()
        },
        false,
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// The result document without its machine-dependent keys.
pub fn stripped_json(c: &Config, p: &Params, o: &Outcome) -> Value {
    let mut v = result_json(c, p, o, 1);
    strip_wall_clock(&mut v);
    v
}

/// Accepted throughput in flits/node/cycle, as the result file reports it.
pub fn accepted(c: &Config, p: &Params, o: &Outcome) -> f64 {
    result_json(c, p, o, 1)["traffic"]["accepted_flits_per_node_cycle"]
        .as_f64()
        .expect("accepted throughput")
}

/// Writes `text` to a fresh file named `name` in `dir`.
pub fn write_config(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create temp config");
    f.write_all(text.as_bytes()).expect("write temp config");
    path
}

/// Runs the `torsim` binary built for these tests.
pub fn torsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_torsim"))
        .args(args)
        .output()
        .expect("spawn torsim")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// JSON paths whose values differ between `a` and `b`, for a precise failure report.
pub fn json_diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => json_diff(va, vb, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing on the right")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing on the left"));
            }
        }
        _ if a != b => out.push(format!("{path}: {a} != {b}")),
        _ => {}
    }
}
