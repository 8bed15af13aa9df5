//! `torsim bench`: simulator speed on standard cases.

use clap::Args;

#[derive(Args)]
pub struct BenchArgs {}

pub fn run(_a: BenchArgs) -> Result<(), String> {
    Err("not yet".into())
}
