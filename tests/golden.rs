//! Golden results: a short synthetic-traffic run of every shipped config, compared with
//! the stored result document in `tests/golden/<config-stem>.json`.
//!
//! Any change of model behaviour moves at least one of these files, so it shows up in
//! review. To accept a change on purpose, regenerate them and say why in the commit:
//!
//! ```text
//! TORSIM_UPDATE_GOLDEN=1 cargo test --release --test golden
//! ```

use serde_json::Value;
use std::path::{Path, PathBuf};
use torsim::config::load;
use torsim::engine::sim::RunOptions;
use torsim::experiment::run::run_synthetic;
use torsim::report::{result_json, strip_wall_clock};

/// Settings shared by every golden run: short, low load, deterministic.
const COMMON: &[&str] = &[
    "simulation.warmup_cycles=200",
    "simulation.measure_cycles=1000",
    "traffic.injection_rate=0.1",
];

/// Top-level keys that depend on the build rather than on the model.
const BUILD_KEYS: &[&str] = &["torsim_version", "git_revision"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn configs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("configs"))
        .expect("read configs/")
        .map(|e| e.expect("configs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no configs found under configs/");
    v
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// The stripped result document of the golden run of `config`.
fn golden_run(config: &Path) -> Value {
    let stem = stem(config);
    // Every shipped config must run as it is: no per-config overrides here.
    let overrides: Vec<String> = COMMON.iter().map(|s| s.to_string()).collect();
    let (c, p) = load(config, &overrides).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let opts = RunOptions {
        check: true,
        partitions: 1,
        threads: 1,
        ..Default::default()
    };
    let o = run_synthetic(&p, &opts, false, &mut |_| {})
        .unwrap_or_else(|e| panic!("{stem}: run failed: {e}"));
    let mut v = result_json(&c, &p, &o, 1);
    strip_wall_clock(&mut v);
    if let Value::Object(m) = &mut v {
        for k in BUILD_KEYS {
            m.remove(*k);
        }
    }
    v
}

/// Numbers read back from JSON may differ from the written ones in the last bit (the
/// parser does not round-trip every float exactly); anything beyond that is a change.
fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if a == b {
        return true;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_f64() || b.is_f64() => {
            x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        _ => false,
    }
}

/// JSON paths whose values differ between `want` and `got`.
fn diff(want: &Value, got: &Value, path: &str, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, a) in x {
                match y.get(k) {
                    Some(b) => diff(a, b, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing from the run")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("{path}.{k}: new in the run"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (a, b)) in x.iter().zip(y).enumerate() {
                diff(a, b, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if same_number(a, b) => {}
        _ if want != got => out.push(format!("{path}: golden {want}, now {got}")),
        _ => {}
    }
}

/// Compares (or rewrites) the golden file of one config; returns a failure message.
fn check(config: &Path, update: bool) -> Option<String> {
    let stem = stem(config);
    let rel = format!("tests/golden/{stem}.json");
    let file = root().join(&rel);
    let got = golden_run(config);
    let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
    if update {
        std::fs::create_dir_all(file.parent().unwrap()).expect("create tests/golden/");
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        return None;
    }
    let want: Value = match std::fs::read_to_string(&file) {
        Ok(t) => serde_json::from_str(&t)
            .unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", file.display())),
        Err(e) => return Some(format!("{stem}: no golden file {rel} ({e})\n")),
    };
    let mut d = Vec::new();
    diff(&want, &got, "", &mut d);
    if d.is_empty() {
        return None;
    }
    let shown = 8;
    let mut msg = format!(
        "{stem} (configs/{stem}.toml): {} key(s) differ from {rel}:\n",
        d.len()
    );
    for line in d.iter().take(shown) {
        msg += &format!("    {line}\n");
    }
    if d.len() > shown {
        msg += &format!("    ... and {} more\n", d.len() - shown);
    }
    Some(msg)
}

#[test]
fn every_config_matches_its_golden_result() {
    let update = std::env::var("TORSIM_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let configs = configs();
    // The big configs dominate; two workers keep the whole file short on a small machine.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut failures: Vec<(usize, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut f = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(c) = configs.get(i) else { break };
                        if let Some(m) = check(c, update) {
                            f.push((i, m));
                        }
                    }
                    f
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("golden worker"))
            .collect()
    });
    failures.sort();
    assert!(
        failures.is_empty(),
        "golden results changed:\n{}\nIf the change is intended, regenerate with\n    \
         TORSIM_UPDATE_GOLDEN=1 cargo test --release --test golden\nand say in the commit \
         message why the results moved.",
        failures.iter().map(|(_, m)| m.as_str()).collect::<String>()
    );
}
