//! One module per task, each with a `run` function.

pub mod assume;
pub mod bench;
pub mod challenge;
pub mod class;
pub mod cleanup;
pub mod demo;
pub mod emulator;
pub mod lesson;
pub mod room;
pub mod setup;
pub mod status;
pub mod sweep;
pub mod trail;
pub mod verify;
pub mod watch;
pub mod why;

use anyhow::Result;
use lab_core::aws::target::Target;
use lab_core::lab::{Lab, LabOptions};
use lab_core::output::report::Report;

use crate::flags::Global;
use crate::project;

/// Checks the lab name, resolves the target and connects as the admin, the lab built whole
/// with `options` and the global `--force`.
pub async fn connect(global: &Global, options: LabOptions, report: &dyn Report) -> Result<Lab> {
    let names = project::lab_names(global)?;
    let target = crate::tasks::target(global).await?;
    Lab::connect(target, names, options.force(global.force), report).await
}

/// Prints a plan of `--dry-run`.
pub fn print_plan(report: &dyn Report, what: &str, plan: &[lab_core::lab::plan::Change]) {
    report.line(&format!("plan for {what} (dry run: nothing was changed):"));
    for change in plan {
        report.line(&change.line());
    }
}

/// The target of the global flags: the emulator for `--local` (started if needed), else the
/// standard AWS environment.
pub async fn target(global: &Global) -> Result<Target> {
    let target = if global.local {
        let (home, running) = crate::local::ensure_running(None, None).await?;
        let mut target = home.target(running);
        if global.region.is_some() {
            target.region.clone_from(&global.region);
        }
        target
    } else {
        Target::from_env(global.profile.clone(), global.region.clone())?
    };
    let mut target = target;
    target.allow_insecure_endpoint = global.allow_insecure_endpoint;
    target.recognize_endpoint().await?;
    if global.verbose {
        let endpoint = match target.endpoint.emulator() {
            Some(control) => format!("sts-lab's emulator at {}", control.base),
            None => std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "AWS".to_owned()),
        };
        eprintln!(
            "target: endpoint {endpoint}, credentials {}, config {}",
            target.files.credentials.display(),
            target.files.config.display()
        );
    }
    Ok(target)
}
