//! The local emulator on demand: installed into the project's virtualenv and started when a task
//! needs it and none runs.

use anyhow::{Result, bail};
use lab_core::emulator::install::install_async;
use lab_core::emulator::{EMULATOR_REQUIREMENTS, Home, Options, Running};

use crate::project;

/// The running emulator, started (and installed) first if needed; `realistic` asks for a mode
/// (None: whichever runs, plain when none does).
pub async fn ensure_running(port: Option<u16>, realistic: Option<bool>) -> Result<(Home, Running)> {
    let home = project::emulator_home();
    if let Some(running) = home.running().await {
        if let Some(wanted) = realistic
            && wanted != running.realistic
        {
            bail!(
                "the emulator already runs in {} mode on {}; stop it first with `{}`",
                mode(running.realistic),
                running.endpoint(),
                lab_core::output::command::xtask("emulator stop")
            );
        }
        return Ok((home, running));
    }
    let venv = project::venv();
    install_async(&venv, &EMULATOR_REQUIREMENTS).await?;
    let port = project::emulator_port(port)?;
    let options = Options {
        realistic: realistic.unwrap_or(false),
        ..Options::default()
    };
    let (running, _child) = home.start(&venv, port, &options).await?;
    eprintln!(
        "✓ started the emulator on {} (pid {}, IAM enforced, {} mode)",
        running.endpoint(),
        running.pid,
        mode(running.realistic)
    );
    if running.realistic {
        eprintln!(
            "  realistic: new keys refused for seconds, stacks in progress for seconds, IAM propagating; set STS_LAB_KEY_DELAY, STS_LAB_STACK_DELAY, STS_LAB_PROPAGATION_DELAY … to change the delays"
        );
    }
    Ok((home, running))
}

pub fn mode(realistic: bool) -> &'static str {
    if realistic { "realistic" } else { "plain" }
}
