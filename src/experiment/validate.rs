//! Validation against measured (or planned) figures of real hardware.
//!
//! A reference file lists figures with their source and a tolerance; each is produced
//! by one microbenchmark ([`crate::traffic::micro`]) and compared. Figures that a model
//! parameter was fitted to are marked, so a reader can tell checks from predictions.

use crate::config::Params;
use crate::engine::comm::LocalComm;
use crate::engine::sim::RunOptions;
use crate::experiment::run::{RunError, run_program};
use crate::topology::Torus;
use crate::traffic::micro::{self, Micro, MicroParams};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Comparison {
    /// Within `tolerance_percent` of the value.
    #[default]
    About,
    /// At least the value (a planned minimum).
    AtLeast,
    /// At most the value (a planned maximum).
    AtMost,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRef {
    /// Microbenchmark that produces the figure (see `torsim micro --list`).
    pub benchmark: String,
    pub value: f64,
    pub unit: String,
    #[serde(default = "default_tolerance")]
    pub tolerance_percent: f64,
    #[serde(default)]
    pub comparison: Comparison,
    /// The config parameter fitted to this figure, if any.
    #[serde(default)]
    pub fitted: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

fn default_tolerance() -> f64 {
    10.0
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Config to validate when none is given, relative to the reference file.
    #[serde(default)]
    pub config: Option<String>,
    pub source: String,
    pub metric: Vec<MetricRef>,
}

impl Reference {
    pub fn load(path: &Path) -> Result<Reference, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let r: Reference = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            format!(
                "{}:{}: {}",
                path.display(),
                line.unwrap_or(0),
                e.message().trim()
            )
        })?;
        for m in &r.metric {
            let b = Micro::parse(&m.benchmark).ok_or_else(|| {
                format!("{}: unknown benchmark `{}`", path.display(), m.benchmark)
            })?;
            if b.unit() != m.unit {
                return Err(format!(
                    "{}: `{}` is measured in {}, not {}",
                    path.display(),
                    m.benchmark,
                    b.unit(),
                    m.unit
                ));
            }
        }
        Ok(r)
    }
}

/// One line of the validation table.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub benchmark: String,
    pub unit: String,
    pub reference: f64,
    pub simulated: f64,
    pub deviation_percent: f64,
    pub comparison: Comparison,
    pub tolerance_percent: f64,
    pub ok: bool,
    pub fitted: Option<String>,
}

/// Runs one microbenchmark and returns its figure.
pub fn run_micro(p: &Params, m: Micro, mp: &MicroParams) -> Result<f64, RunError> {
    let t = Torus::from_params(p);
    let prog = micro::program(m, &t, mp);
    let o = run_program(
        p,
        &prog,
        &RunOptions::default(),
        Box::new(LocalComm),
        false,
        &mut |_| {},
    )?;
    micro::evaluate(m, &t, mp, &prog, &o.marks, p.clock_hz).map_err(RunError::Program)
}

/// Runs every metric of `r` on `p`.
pub fn validate(p: &Params, r: &Reference, mp: &MicroParams) -> Result<Vec<Row>, RunError> {
    let mut rows = Vec::new();
    for m in &r.metric {
        let b = Micro::parse(&m.benchmark).expect("checked when loaded");
        let sim = run_micro(p, b, mp)?;
        let dev = (sim - m.value) / m.value * 100.0;
        let ok = match m.comparison {
            Comparison::About => dev.abs() <= m.tolerance_percent,
            Comparison::AtLeast => sim >= m.value * (1.0 - m.tolerance_percent / 100.0),
            Comparison::AtMost => sim <= m.value * (1.0 + m.tolerance_percent / 100.0),
        };
        rows.push(Row {
            benchmark: m.benchmark.clone(),
            unit: m.unit.clone(),
            reference: m.value,
            simulated: sim,
            deviation_percent: dev,
            comparison: m.comparison,
            tolerance_percent: m.tolerance_percent,
            ok,
            fitted: m.fitted.clone(),
        });
    }
    Ok(rows)
}

/// The table as text, with mean and max absolute deviation.
pub fn table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<20} {:>14} {:>12} {:>12} {:>9}  {:<18} {}\n",
        "metric", "unit", "reference", "simulated", "dev %", "criterion", "result"
    );
    for r in rows {
        let crit = match r.comparison {
            Comparison::About => format!("within {}%", r.tolerance_percent),
            Comparison::AtLeast => "at least".to_string(),
            Comparison::AtMost => "at most".to_string(),
        };
        s += &format!(
            "{:<20} {:>14} {:>12.3} {:>12.3} {:>+9.2}  {:<18} {}{}\n",
            r.benchmark,
            r.unit,
            r.reference,
            r.simulated,
            r.deviation_percent,
            crit,
            if r.ok { "ok" } else { "OUT OF TOLERANCE" },
            r.fitted
                .as_ref()
                .map(|f| format!("  (fitted: {f})"))
                .unwrap_or_default()
        );
    }
    let devs: Vec<f64> = rows.iter().map(|r| r.deviation_percent.abs()).collect();
    if !devs.is_empty() {
        s += &format!(
            "mean |deviation| {:.2}%, max |deviation| {:.2}%\n",
            devs.iter().sum::<f64>() / devs.len() as f64,
            devs.iter().cloned().fold(0.0, f64::max)
        );
    }
    s
}
