//! `cargo xtask emulator install|start|stop|status|env`: the local AWS emulator.

use anyhow::{Context, Result};
use lab_core::emulator::{EMULATOR_REQUIREMENTS, TEST_TOOL_REQUIREMENTS};

use crate::flags::{EmulatorAction, Global};
use crate::local::{install, mode};
use crate::project;

pub async fn run(_global: &Global, action: EmulatorAction) -> Result<()> {
    let home = project::emulator_home();
    match action {
        EmulatorAction::Install { test_tools } => {
            let requirements: &[&str] = if test_tools {
                &TEST_TOOL_REQUIREMENTS
            } else {
                &EMULATOR_REQUIREMENTS
            };
            install(&project::venv(), requirements)?;
            println!("emulator installed in {}", project::venv().dir.display());
        }
        EmulatorAction::Start { port, realistic } => {
            let was = home.running();
            let (home, running) = crate::local::ensure_running(port, Some(realistic)).await?;
            if was.is_some() {
                println!(
                    "emulator already running on {} (pid {})",
                    running.endpoint(),
                    running.pid
                );
            }
            println!(
                "use it: eval \"$(cargo xtask emulator env)\", or pass --local; logs: {}",
                home.log().display()
            );
        }
        EmulatorAction::Stop => {
            if home.stop()? {
                println!("emulator stopped");
            } else {
                println!("no emulator was running");
            }
        }
        EmulatorAction::Status => match home.running() {
            Some(r) => {
                println!(
                    "running on {} (pid {}, {} mode)",
                    r.endpoint(),
                    r.pid,
                    mode(r.realistic)
                );
                println!("credentials: {}", home.files().credentials.display());
                println!("config: {}", home.files().config.display());
            }
            None => println!("not running; start it with: cargo xtask emulator start"),
        },
        EmulatorAction::Env => {
            let running = home
                .running()
                .context("the emulator is not running; start it with `cargo xtask emulator start`")?;
            for line in home.env_lines(running) {
                println!("{line}");
            }
        }
    }
    Ok(())
}
