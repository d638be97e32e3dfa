//! `cargo xtask sweep`: every lab in the account, found by its tags whether or not any local file
//! knows it, cleaned up exactly as `cleanup` does; `--expired` only those past their expiry,
//! `--dry-run` lists them and changes nothing, `--json` for scripts.

use anyhow::{Result, bail};
use lab_core::expiry;
use lab_core::lab::{self, Lab, now_secs};
use lab_core::report::Report;
use serde_json::{Value, json};

use crate::flags::{Global, SweepArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: SweepArgs) -> Result<()> {
    let ui = Ui::new(global.explain, args.json);
    let target = crate::project::target(global).await?;
    let admin = target.admin().await?;
    let found = lab_core::sweep::find_labs(&admin.iam).await?;
    let now = now_secs();
    let mut rows: Vec<Value> = Vec::new();
    let mut failed = Vec::new();
    for lab_found in found {
        let name = lab_found.names.lab.clone();
        // Each lab in its own region, whatever --region says.
        let mut lab_target = target.clone();
        lab_target.region = lab_found.region.clone();
        let mut lab = Lab::connect(lab_target, lab_found.names.clone(), &ui).await?;
        lab.force = global.force;
        let inventory = lab::inventory(&lab).await?;
        let expires = inventory.expires().map(str::to_owned);
        let secs = expires.as_deref().and_then(expiry::parse_utc);
        let expired = secs.is_some_and(|s| s <= now);
        let when = match (&expires, secs) {
            (Some(at), Some(s)) => format!("{at}, {}", expiry::describe(s, now)),
            _ => "no expiry recorded".to_owned(),
        };
        let holds = inventory.lines(&lab.names);
        let action = if args.expired && !expired {
            "kept (not expired)"
        } else if args.dry_run {
            "would remove"
        } else {
            match lab::cleanup(&lab, &ui).await {
                Ok(()) => "removed",
                Err(e) => {
                    failed.push(format!("{name}: {}", lab_core::error::one_line(&e)));
                    "failed"
                }
            }
        };
        ui.line(&format!(
            "{} lab {name} ({}, {when}): {action}; holds {}",
            if action == "failed" { "✗" } else { "•" },
            lab_found.region.as_deref().unwrap_or("region not recorded"),
            holds.join(", ")
        ));
        rows.push(json!({
            "lab": name,
            "region": lab_found.region,
            "expires": expires,
            "expired": expired,
            "holds": holds,
            "action": action,
        }));
    }
    if args.json {
        println!(
            "{:#}",
            json!({ "dry_run": args.dry_run, "expired_only": args.expired, "labs": rows })
        );
    } else if rows.is_empty() {
        ui.line("sweep: no lab in this account");
    } else {
        let verb = if args.dry_run { "would remove" } else { "removed" };
        let count = rows
            .iter()
            .filter(|r| r["action"] == "removed" || r["action"] == "would remove")
            .count();
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
