//! `cargo xtask emulator install|start|stop|status|env`: the local AWS emulator.

use anyhow::{Context, Result};
use lab_core::emulator::{EMULATOR_REQUIREMENTS, TEST_TOOL_REQUIREMENTS};

use crate::flags::{EmulatorAction, Global};
use lab_core::emulator::Home;
use lab_core::emulator::install::install_async;

use crate::local::mode;
use crate::project;

pub async fn run(_global: &Global, action: EmulatorAction) -> Result<()> {
    let home = project::emulator_home();
    match action {
        EmulatorAction::Install { test_tools } => install(test_tools).await,
        EmulatorAction::Start { port, realistic } => start(&home, port, realistic).await,
        EmulatorAction::Decide => {
            let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
            lab_core::model::serve::serve(stdin.lock(), stdout.lock()).context("the evaluator's pipe failed")
        }
        EmulatorAction::Stop => stop(&home).await,
        EmulatorAction::Status => {
            status(&home).await;
            Ok(())
        }
        EmulatorAction::Clock { to } => clock(&home, to).await,
        EmulatorAction::Env => {
            let running = running(&home).await?;
            for line in export_lines(&home.env_vars(running)) {
                println!("{line}");
            }
            Ok(())
        }
    }
}

async fn install(test_tools: bool) -> Result<()> {
    let requirements: &'static [&'static str] = if test_tools {
        &TEST_TOOL_REQUIREMENTS
    } else {
        &EMULATOR_REQUIREMENTS
    };
    install_async(&project::venv(), requirements).await?;
    println!("emulator installed in {}", project::venv().dir.display());
    Ok(())
}

async fn start(home: &Home, port: Option<u16>, realistic: bool) -> Result<()> {
    let was = home.running().await;
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
    Ok(())
}

async fn stop(home: &Home) -> Result<()> {
    // Its state lives in its process: say which labs go with it.
    let labs = match home.running().await {
        Some(running) => labs_of(home, running).await,
        None => Vec::new(),
    };
    if !home.stop().await? {
        println!("no emulator was running");
        return Ok(());
    }
    println!("emulator stopped");
    if !labs.is_empty() {
        println!(
            "the labs it held are gone with it: {}; their profiles stay in {}: `cargo xtask --local cleanup --lab NAME` removes them (the emulator starts again, empty)",
            labs.join(", "),
            home.files().credentials.display()
        );
    }
    Ok(())
}

async fn status(home: &Home) {
    match home.running().await {
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
    }
}

async fn clock(home: &Home, to: Option<lab_core::emulator::ClockMove>) -> Result<()> {
    let control = running(home).await?.control();
    let clock = match to {
        Some(to) => control.set_clock(to.offset_from(control.clock().await?.offset)).await?,
        None => control.clock().await?,
    };
    println!("{}", clock_line(&clock));
    Ok(())
}

/// The emulator running here, or what to do.
async fn running(home: &Home) -> Result<lab_core::emulator::Running> {
    home.running()
        .await
        .context("the emulator is not running; start it with `cargo xtask emulator start`")
}

/// "2026-12-01T19:00:00Z (2 h ahead of this machine)".
fn clock_line(clock: &lab_core::emulator::Clock) -> String {
    let ahead = clock.offset.round() as i64;
    match ahead {
        0 => format!("{} (this machine's time)", clock.now),
        _ => format!(
            "{} ({} ahead of this machine; `cargo xtask emulator clock now` puts it back)",
            clock.now,
            humantime::format_duration(std::time::Duration::from_secs(ahead.unsigned_abs()))
        ),
    }
}

/// The emulator's environment as `export` lines for a shell (`eval "$(cargo xtask emulator env)"`).
fn export_lines(vars: &[(&str, String)]) -> Vec<String> {
    vars.iter()
        .map(|(k, v)| format!("export {k}={}", lab_core::output::shell::quote(v)))
        .collect()
}

/// The labs the running emulator holds (none when it cannot be asked).
async fn labs_of(home: &Home, running: lab_core::emulator::Running) -> Vec<String> {
    let Ok(admin) = home.target(running).admin().await else {
        return Vec::new();
    };
    lab_core::fleet::sweep::find_labs(&admin.iam)
        .await
        .map(|labs| labs.into_iter().map(|l| l.names.lab).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use lab_core::emulator::{Home, Running};

    use super::*;

    #[test]
    fn export_lines_point_everything_at_the_emulator() {
        let home = Home {
            dir: PathBuf::from("/tmp/x y"),
        };
        let running = Running {
            pid: 1,
            port: 5055,
            realistic: false,
        };
        let lines = export_lines(&home.env_vars(running));
        assert!(lines.contains(&"export AWS_ENDPOINT_URL=http://127.0.0.1:5055".to_owned()));
        assert!(lines.contains(&"export AWS_SHARED_CREDENTIALS_FILE='/tmp/x y/aws/credentials'".to_owned()));
        assert!(lines.contains(&"export AWS_PROFILE=lab-admin".to_owned()));
        assert_eq!(lines.len(), 6);
    }
}
