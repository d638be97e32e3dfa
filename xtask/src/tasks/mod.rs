//! One module per task, each with a `run` function.

pub mod assume;
pub mod bench;
pub mod cleanup;
pub mod demo;
pub mod emulator;
pub mod setup;
pub mod verify;

use anyhow::Result;
use lab_core::lab::Lab;
use lab_core::report::Stdout;

use crate::flags::Global;
use crate::project;

/// Checks the lab name, resolves the target and connects as the admin.
pub async fn connect(global: &Global) -> Result<Lab> {
    let names = project::lab_names(global)?;
    let target = project::target(global).await?;
    let mut lab = Lab::connect(target, names, &Stdout).await?;
    lab.force = global.force;
    Ok(lab)
}
