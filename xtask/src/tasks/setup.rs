//! `cargo xtask setup`: the user, its key and profile, the checks as the user, the stack and the
//! user's `StsAssumePolicy`.

use anyhow::{Context, Result};
use lab_core::report::Stdout;

use crate::flags::{Global, SetupArgs};

pub async fn run(global: &Global, _args: SetupArgs) -> Result<()> {
    let lab = super::connect(global).await?;
    let outcome = lab_core::lab::setup(&lab, &Stdout)
        .await
        .context("setup stopped; run it again, or `cargo xtask cleanup`")?;
    println!(
        "setup done: profile [{}] may assume {}",
        lab.names.user_profile, outcome.role_arn
    );
    println!("next: cargo xtask{} assume", lab_flag(global));
    Ok(())
}

/// The flags that select this lab, to repeat in a hint.
pub fn lab_flag(global: &Global) -> String {
    let mut out = String::new();
    if global.local {
        out.push_str(" --local");
    }
    if let Some(lab) = &global.lab {
        out.push_str(&format!(" --lab {lab}"));
    }
    out
}
