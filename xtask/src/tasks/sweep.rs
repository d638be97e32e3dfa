//! `cargo xtask sweep`: every lab in the account, found by its tags whether or not any local file
//! knows it, cleaned up exactly as `cleanup` does; `--expired` only those past their expiry,
//! `--dry-run` lists them and changes nothing, `--json` for scripts. One lab that cannot be
//! reached or cleaned is reported, and the sweep goes on with the others.

use anyhow::{Result, bail};
use lab_core::aws::error::one_line;
use lab_core::aws::target::Target;
use lab_core::fleet::sweep::FoundLab;
use lab_core::lab::{self, Lab};
use lab_core::model::expiry;
use lab_core::output::report::Report;
use lab_core::output::{Expiry, SweepAction as Action, SweepDoc, SweepRow};

use crate::flags::{Global, SweepArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: SweepArgs) -> Result<()> {
    let ui = Ui::new(global.explain, args.json);
    let target = crate::tasks::target(global).await?;
    let admin = target.admin().await?;
    let found = lab_core::fleet::sweep::find_labs(&admin.iam).await?;
    let mut rows: Vec<SweepRow> = Vec::new();
    let mut failed = Vec::new();
    for lab_found in found {
        let name = lab_found.names.lab.clone();
        let row = sweep_one(global, &args, &target, &lab_found, &ui).await;
        if let Some(e) = &row.error {
            failed.push(format!("{name}: {e}"));
        }
        rows.push(row);
    }
    let removed = |a: &Action| matches!(a, Action::Removed | Action::WouldRemove);
    if args.json {
        let doc = SweepDoc {
            dry_run: args.dry_run,
            expired_only: args.expired,
            labs: rows,
        };
        println!("{:#}", serde_json::to_value(doc)?);
    } else if rows.is_empty() {
        ui.line("sweep: no lab in this account");
    } else {
        let verb = if args.dry_run { "would remove" } else { "removed" };
        let count = rows.iter().filter(|r| removed(&r.action)).count();
        ui.line(&format!("sweep: {verb} {count} of {} labs", rows.len()));
    }
    if !failed.is_empty() {
        bail!(
            "sweep did not finish: {}; run it again, or cleanup with --lab",
            failed.join("; ")
        );
    }
    Ok(())
}

/// Sweeps one lab in its own region; any failure is this lab's row, never the sweep's end.
async fn sweep_one(global: &Global, args: &SweepArgs, target: &Target, found: &FoundLab, ui: &Ui) -> SweepRow {
    let name = &found.names.lab;
    // The endpoint's time; when it cannot be read the lab's row says why.
    let (now, clock) = match target.now().await {
        Ok(now) => (now, Ok(())),
        Err(e) => (lab_core::model::expiry::machine_now(), Err(e)),
    };
    let mut holds = Vec::new();
    let mut expires = found.expires.clone();
    let result: Result<Action> = async {
        clock?;
        // Each lab in its own region, whatever --region says.
        let mut lab_target = target.clone();
        lab_target.region = found.region.clone();
        let mut lab = Lab::connect(lab_target, found.names.clone(), ui).await?;
        lab.force = global.force;
        let inventory = lab::inventory(&lab).await?;
        holds = inventory.lines(&lab.names);
        expires = inventory.expires().map(str::to_owned).or(expires.clone());
        let expired = expires.as_deref().and_then(|at| expiry::has_passed(at, now)) == Some(true);
        Ok(if args.expired && !expired {
            Action::KeptNotExpired
        } else if args.dry_run {
            Action::WouldRemove
        } else {
            lab::cleanup(&lab, ui).await?;
            Action::Removed
        })
    }
    .await;
    let (action, error) = match result {
        Ok(a) => (a, None),
        Err(e) => (Action::Failed, Some(one_line(&e))),
    };
    let when = expiry::text(expires.as_deref(), now);
    let what = match &error {
        Some(e) => format!("failed: {e}"),
        None => action.text().to_owned(),
    };
    let row = format!(
        "lab {name} in {}, {when}: {what}; holds {}",
        found.region.as_deref().unwrap_or("an unrecorded region"),
        if holds.is_empty() {
            "unknown".to_owned()
        } else {
            holds.join(", ")
        }
    );
    if action == Action::Failed {
        ui.outcome(false, &row);
    } else {
        ui.line(&format!("• {row}"));
    }
    SweepRow {
        lab: name.clone(),
        region: found.region.clone(),
        expires: expires.as_deref().map(|at| Expiry::new(at, now)),
        holds,
        action,
        error,
    }
}
