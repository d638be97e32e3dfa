//! `cargo xtask verify`: the table of checks, or with `--json` one JSON document; exits non-zero
//! when any check fails.

use anyhow::{Result, bail};
use lab_core::output::report::Report;

use crate::flags::{Global, JsonArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: JsonArgs) -> Result<()> {
    let ui = Ui::new(global.explain, args.json);
    let lab = super::connect(global, Default::default(), &ui).await?;
    let checks = lab_core::lab::verify(&lab, &ui).await?;
    let failed = checks.iter().filter(|c| !c.passed).count();
    if args.json {
        let doc = serde_json::to_value(lab_core::output::VerifyDoc {
            lab: lab.names.lab.clone(),
            passed: failed == 0,
            checks: checks.clone(),
        })?;
        println!("{doc:#}");
    } else {
        lab_core::lab::show_checks(&checks, &ui);
    }
    if failed > 0 {
        bail!(
            "{failed} of {} checks failed; run `{}` and `assume` again, then verify",
            checks.len(),
            lab_core::output::command::xtask("setup")
        );
    }
    if !args.json {
        ui.line(&format!("all {} checks passed", checks.len()));
    }
    Ok(())
}
