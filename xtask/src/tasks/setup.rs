//! `cargo xtask setup`: the user, its key and profile, the checks as the user, the stack and the
//! user's `StsAssumePolicy`; with `--dry-run`, the plan only.

use anyhow::{Context, Result};
use lab_core::aws::error::hint;
use lab_core::lab::LabOptions;
use lab_core::output::report::Report;

use crate::flags::{Global, SetupArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: SetupArgs) -> Result<()> {
    let ui = Ui::new(global.explain, false);
    let lab = super::connect(global, LabOptions::default().ttl(args.ttl.ttl), &ui).await?;
    if args.dry_run.dry_run {
        let plan = lab_core::lab::plan::plan_setup(&lab)
            .await
            .context("cannot plan setup")?;
        super::print_plan(&ui, "setup", &plan);
        return Ok(());
    }
    let outcome = lab_core::lab::setup(&lab, &ui).await.map_err(|e| {
        hint(
            e,
            format!(
                "setup stopped; run it again to finish, or `{}` to start over",
                lab_core::output::command::xtask("cleanup")
            ),
        )
    })?;
    ui.line(&format!(
        "setup done: profile [{}] may assume {}",
        lab.names.user_profile, outcome.role_arn
    ));
    ui.line(&format!(
        "the lab expires at {}: after that AWS refuses every Allow it wrote; setup again renews it, cleanup ends it now",
        lab_core::model::expiry::text(Some(&outcome.expires), lab.now().await?)
    ));
    ui.line(&format!("next: {}", lab_core::output::command::xtask("assume")));
    Ok(())
}
