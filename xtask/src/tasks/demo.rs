//! `cargo xtask demo`: the whole lab on the local emulator, every step shown; exits 0 only when
//! every step passed and nothing of the lab is left.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use lab_core::emulator::{Home, Running};
use lab_core::lab::{self, Lab};
use lab_core::model::names::DEFAULT_SESSION_NAME;
use lab_core::output::report::{Report, fmt_elapsed};

use crate::flags::{DemoArgs, Global};
use crate::project;
use crate::ui::Ui;

pub async fn run(global: &Global, args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let names = project::lab_names(global)?;
    let home = project::emulator_home();
    let was_running = home.running().is_some();
    let (home, running) = crate::local::ensure_running(None, Some(args.realistic)).await?;
    let ui = Ui::new(global.explain, false);
    let result = phases(global, &ui, (&home, running), names, args.disarm).await;
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

async fn phases(
    global: &Global,
    ui: &Ui,
    (home, running): (&Home, Running),
    names: lab_core::model::names::LabNames,
    disarm: bool,
) -> Result<()> {
    ui.line("== connect");
    let mut lab = Lab::connect(home.target(running), names, ui).await?;
    lab.force = global.force;
    if disarm {
        lab.ttl_seconds = super::disarm::TTL_SECONDS;
    }
    ui.line("== setup");
    let setup = lab::setup(&lab, ui).await.context("setup failed");
    let rest = match setup {
        Ok(_) => assume_and_verify(&lab, ui).await,
        Err(e) => Err(e),
    };
    let rest = match rest {
        Ok(()) if disarm => super::disarm::show(&lab, ui, (home, running)).await,
        other => other,
    };
    // Cleanup runs whatever happened before it.
    ui.line("== cleanup");
    let cleanup = lab::cleanup(&lab, ui).await.context("cleanup failed");
    rest?;
    cleanup?;
    let left = lab::inventory(&lab).await?;
    if !left.is_empty() {
        bail!("the emulator still holds: {}", left.lines(&lab.names).join(", "));
    }
    ui.outcome(
        true,
        "the emulator holds nothing of the lab: no user, key, policy, stack, role, bucket or profile",
    );
    Ok(())
}

async fn assume_and_verify(lab: &Lab, ui: &Ui) -> Result<()> {
    ui.line("== assume");
    lab::assume(lab, DEFAULT_SESSION_NAME, None, ui)
        .await
        .context("assume failed")?;
    ui.line("== verify");
    let checks = lab::verify(lab, ui).await?;
    lab::show_checks(&checks, ui);
    if checks.iter().any(|c| !c.passed) {
        bail!("verify failed");
    }
    Ok(())
}
