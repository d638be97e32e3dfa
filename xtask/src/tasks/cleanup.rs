//! `cargo xtask cleanup`: delete everything the lab made; safe to run twice or after a half setup.

use anyhow::Result;
use lab_core::report::Stdout;

use crate::flags::Global;

pub async fn run(global: &Global) -> Result<()> {
    let lab = super::connect(global).await?;
    lab_core::lab::cleanup(&lab, &Stdout).await?;
    println!("cleanup done: nothing of lab {} is left", lab.names.lab);
    Ok(())
}
