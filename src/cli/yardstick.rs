//! The yardstick: a deliberately minimal, cycle-stepped torus loop that lives outside
//! this project. `torsim bench` builds it and runs it beside torsim on the same cases,
//! interleaved, so that torsim's speed is stated as a ratio measured on the same machine
//! in the same minute: on shared, noisy machines absolute rates alone mean little.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where to find the yardstick's sources when `--yardstick` is not given: the
/// `TORSIM_YARDSTICK` environment variable, else a `shared/yardstick` directory beside
/// the source tree this binary was built from.
pub fn default_source() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TORSIM_YARDSTICK") {
        return Some(PathBuf::from(dir));
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("shared")
        .join("yardstick");
    beside.join("Cargo.toml").is_file().then_some(beside)
}

/// A built yardstick binary.
pub struct Yardstick {
    bin: PathBuf,
}

impl Yardstick {
    /// Builds the yardstick from its source directory `src` (holding its Cargo.toml)
    /// into `target/yardstick` of this source tree: its own directory may be
    /// read-only.
    pub fn build(src: &Path) -> Result<Yardstick, String> {
        let manifest = src.join("Cargo.toml");
        if !manifest.is_file() {
            return Err(format!(
                "no yardstick at {} (expected a Cargo.toml there)",
                src.display()
            ));
        }
        let target = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("yardstick");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .map_err(|e| format!("cannot run cargo to build the yardstick: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "building the yardstick at {} failed: {}",
                src.display(),
                err.lines().last().unwrap_or("no message")
            ));
        }
        let bin = target.join("release").join("yardstick");
        if !bin.is_file() {
            return Err(format!("the yardstick build left no {}", bin.display()));
        }
        Ok(Yardstick { bin })
    }

    /// Runs the yardstick on a torus of `dims` at `rate` for `cycles` measured cycles
    /// and returns its flit-hops per second.
    pub fn flit_hops_per_second(
        &self,
        dims: &[usize],
        rate: f64,
        cycles: u64,
    ) -> Result<f64, String> {
        let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
        let out = Command::new(&self.bin)
            .args(["--dims", &dims.join(","), "--rate", &rate.to_string()])
            .args(["--cycles", &cycles.to_string()])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        if !out.status.success() {
            return Err(format!(
                "the yardstick failed on {}: {}",
                dims.join("x"),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        parse_rate(&String::from_utf8_lossy(&out.stdout))
            .ok_or_else(|| "the yardstick printed no `flit-hops/s` line".to_string())
    }
}

/// The `flit-hops/s  12.80 M` line of the yardstick's output, in flit-hops per second.
fn parse_rate(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("flit-hops/s"))?;
    let mut words = line.split_whitespace().skip(1);
    let value: f64 = words.next()?.parse().ok()?;
    let scale = match words.next() {
        Some("k") | Some("K") => 1e3,
        Some("M") => 1e6,
        Some("G") => 1e9,
        _ => 1.0,
    };
    Some(value * scale)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_rate_line() {
        let text =
            "flit-hops         2599249\nflit-hops/s       12.80 M\nrouter-cycles/s   31.51 M\n";
        assert_eq!(super::parse_rate(text), Some(12.80e6));
        assert_eq!(super::parse_rate("flit-hops 5\n"), None);
    }
}
