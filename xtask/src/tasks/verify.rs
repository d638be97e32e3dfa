//! `cargo xtask verify`: the table of checks; exits non-zero when any fails.

use anyhow::{Result, bail};

use crate::flags::Global;

pub async fn run(global: &Global) -> Result<()> {
    let lab = super::connect(global).await?;
    let checks = lab_core::lab::verify(&lab).await?;
    println!("{}", lab_core::lab::checks_table(&checks));
    let failed = checks.iter().filter(|c| !c.passed).count();
    if failed > 0 {
        bail!(
            "{failed} of {} checks failed; run `cargo xtask{} setup` and `assume` again, then verify",
            checks.len(),
            super::setup::lab_flag(global)
        );
    }
    println!("all {} checks passed", checks.len());
    Ok(())
}
