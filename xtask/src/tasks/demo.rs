//! `cargo xtask demo`: the whole lab on the local emulator, every step shown; exits 0 only when
//! every step passed and nothing of the lab is left.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use lab_core::lab::{self, Lab};
use lab_core::names::DEFAULT_SESSION_NAME;
use lab_core::report::{Stdout, fmt_elapsed};

use crate::flags::Global;
use crate::project;

pub async fn run(global: &Global) -> Result<()> {
    let started = Instant::now();
    let names = project::lab_names(global)?;
    let home = project::emulator_home();
    let was_running = home.running().is_some();
    let (home, running) = super::emulator::ensure_running(None).await?;
    let result = phases(global, home.target(running), names).await;
    if !was_running {
        home.stop()?;
        println!("stopped the emulator it started");
    }
    result?;
    println!(
        "demo passed: setup, assume, verify and cleanup in {}",
        fmt_elapsed(started.elapsed())
    );
    Ok(())
}

async fn phases(global: &Global, target: lab_core::target::Target, names: lab_core::names::LabNames) -> Result<()> {
    println!("== connect");
    let mut lab = Lab::connect(target, names, &Stdout).await?;
    lab.force = global.force;
    println!("== setup");
    let setup = lab::setup(&lab, &Stdout).await.context("setup failed");
    let rest = match setup {
        Ok(_) => assume_and_verify(&lab).await,
        Err(e) => Err(e),
    };
    // Cleanup runs whatever happened before it.
    println!("== cleanup");
    let cleanup = lab::cleanup(&lab, &Stdout).await.context("cleanup failed");
    rest?;
    cleanup?;
    let left = lab::inventory(&lab).await?;
    if !left.is_empty() {
        bail!("the emulator still holds: {}", left.lines(&lab.names).join(", "));
    }
    println!("✓ the emulator holds nothing of the lab: no user, key, policy, stack, role, bucket or profile");
    Ok(())
}

async fn assume_and_verify(lab: &Lab) -> Result<()> {
    println!("== assume");
    lab::assume(lab, DEFAULT_SESSION_NAME, None, &Stdout)
        .await
        .context("assume failed")?;
    println!("== verify");
    let checks = lab::verify(lab).await?;
    println!("{}", lab::checks_table(&checks));
    if checks.iter().any(|c| !c.passed) {
        bail!("verify failed");
    }
    Ok(())
}
