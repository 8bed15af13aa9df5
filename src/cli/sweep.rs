//! `torsim sweep`: run a config over a range of one parameter.

use clap::Args;

#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub cfg: super::ConfigArgs,
}

pub fn run(_a: SweepArgs) -> Result<(), String> {
    Err("not yet".into())
}
