//! `cargo xtask demo`: the whole lab on the local emulator, every step shown; exits 0 only when
//! every step passed and nothing of the lab is left. `--disarm` adds lesson `expiry` on a lab of
//! 30 minutes: a session still open past the lab's expiry refused S3 by the lab's own condition.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use lab_core::emulator::{Home, Running};
use lab_core::lab::{self, AssumeOptions, Lab, LabOptions};
use lab_core::lessons;
use lab_core::model::expiry::Ttl;
use lab_core::output::report::{Report, fmt_elapsed};

use crate::flags::{DemoArgs, Global};
use crate::project;
use crate::ui::Ui;

/// The `--disarm` demo lab's time to live: shorter than a session (an hour), so that a session
/// outlives the lab and loses S3 by the lab's own conditions, not by its own end.
const DISARM_TTL_SECONDS: i64 = 30 * 60;

pub async fn run(global: &Global, args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let names = project::lab_names(global)?;
    let home = project::emulator_home();
    let was_running = home.running().await.is_some();
    let (home, running) = crate::local::ensure_running(None, Some(args.realistic)).await?;
    let ui = Ui::new(global.explain, false);
    let result = phases(global, &ui, (&home, running), names, args.disarm).await;
    if !was_running {
        home.stop().await?;
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
    let mut options = LabOptions::default().force(global.force);
    if disarm {
        options = options.ttl(Ttl::of_seconds(DISARM_TTL_SECONDS));
    }
    let lab = Lab::connect(home.target(running), names, options, ui).await?;
    ui.line("== setup");
    let setup = lab::setup(&lab, ui).await.context("setup failed");
    let rest = match setup {
        Ok(_) => assume_and_verify(&lab, ui).await,
        Err(e) => Err(e),
    };
    let rest = match rest {
        Ok(()) if disarm => disarms_itself(&lab, ui).await,
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

/// Lesson expiry on the demo lab: the same lesson a learner runs.
async fn disarms_itself(lab: &Lab, ui: &Ui) -> Result<()> {
    ui.line(&format!(
        "== the lab disarms itself (lesson expiry: {})",
        lessons::EXPIRY.summary()
    ));
    let doc = lessons::run(lab, lessons::EXPIRY, ui)
        .await
        .context("lesson expiry failed")?;
    let failed = doc.checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        bail!(
            "{failed} of {} checks of lesson expiry are not as expected",
            doc.checks.len()
        );
    }
    Ok(())
}

async fn assume_and_verify(lab: &Lab, ui: &Ui) -> Result<()> {
    ui.line("== assume");
    lab::assume(lab, &AssumeOptions::default(), ui)
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
