//! One module per task, each with a `run` function.

pub mod assume;
pub mod bench;
pub mod bench_class;
pub mod bench_realistic;
pub mod class;
pub mod cleanup;
pub mod demo;
pub mod emulator;
pub mod setup;
pub mod status;
pub mod sweep;
pub mod verify;

use anyhow::Result;
use lab_core::lab::Lab;
use lab_core::report::Report;

use crate::flags::Global;
use crate::project;

/// Checks the lab name, resolves the target and connects as the admin.
pub async fn connect(global: &Global, report: &dyn Report) -> Result<Lab> {
    let names = project::lab_names(global)?;
    let target = project::target(global).await?;
    let mut lab = Lab::connect(target, names, report).await?;
    lab.force = global.force;
    Ok(lab)
}

/// Prints a plan of `--dry-run`.
pub fn print_plan(report: &dyn Report, what: &str, plan: &[lab_core::status::Change]) {
    report.line(&format!("plan for {what} (dry run: nothing was changed):"));
    for change in plan {
        report.line(&change.line());
    }
}
