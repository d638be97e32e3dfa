//! `cargo xtask cleanup`: delete everything the lab made; safe to run twice or after a half setup;
//! with `--dry-run`, the plan only.

use anyhow::{Context, Result};
use lab_core::output::report::Report;

use crate::flags::{DryRunArgs, Global};
use crate::ui::Ui;

pub async fn run(global: &Global, args: DryRunArgs) -> Result<()> {
    let ui = Ui::new(global.explain, false);
    let lab = super::connect(global, Default::default(), &ui).await?;
    if args.dry_run {
        let plan = lab_core::lab::plan::plan_cleanup(&lab)
            .await
            .context("cannot plan cleanup")?;
        super::print_plan(&ui, "cleanup", &plan);
        return Ok(());
    }
    lab_core::lab::cleanup(&lab, &ui).await?;
    ui.line(&format!("cleanup done: nothing of lab {} is left", lab.names.lab));
    Ok(())
}
