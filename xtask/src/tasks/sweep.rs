//! `cargo xtask sweep`: every lab in the account, found by its tags whether or not any local file
//! knows it, cleaned up exactly as `cleanup` does (`lab_core::fleet::sweep`); `--expired` only
//! those past their expiry, `--dry-run` lists them and changes nothing, `--json` for scripts.

use anyhow::{Result, bail};
use lab_core::fleet::sweep::{SweepOptions, sweep};
use lab_core::output::SweepAction as Action;
use lab_core::output::report::Report;

use crate::flags::{Global, SweepArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: SweepArgs) -> Result<()> {
    let ui = Ui::new(global.explain, args.json.json);
    let target = crate::tasks::target(global).await?;
    let options = SweepOptions {
        expired_only: args.expired,
        dry_run: args.dry_run.dry_run,
        force: global.force,
    };
    let doc = sweep(&target, options, &ui).await?;
    let failed: Vec<String> = doc
        .labs
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.lab)))
        .collect();
    if args.json.json {
        println!("{:#}", serde_json::to_value(&doc)?);
    } else if doc.labs.is_empty() {
        ui.line("sweep: no lab in this account");
    } else {
        let verb = if doc.dry_run { "would remove" } else { "removed" };
        let removed = |a: &Action| matches!(a, Action::Removed | Action::WouldRemove);
        let count = doc.labs.iter().filter(|r| removed(&r.action)).count();
        ui.line(&format!("sweep: {verb} {count} of {} labs", doc.labs.len()));
    }
    if !failed.is_empty() {
        bail!(
            "sweep did not finish: {}; run it again, or cleanup with --lab",
            failed.join("; ")
        );
    }
    Ok(())
}
