//! `cargo xtask emulator install|start|stop|status|env`: the local AWS emulator.

use std::fs::File;

use anyhow::{Context, Result, bail};
use lab_core::emulator::{Home, Options, PIP_REQUIREMENTS, Running, Venv};
use xshell::{Shell, cmd};

use crate::flags::{EmulatorAction, Global};
use crate::project;

pub async fn run(_global: &Global, action: EmulatorAction) -> Result<()> {
    let home = project::emulator_home();
    match action {
        EmulatorAction::Install => {
            install(&project::venv())?;
            println!("emulator installed in {}", project::venv().dir.display());
        }
        EmulatorAction::Start { port, realistic } => {
            let was = home.running();
            let (home, running) = ensure_running(port, Some(realistic)).await?;
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

/// Installs the pinned emulator and aws CLI into `venv` unless they are there; a lock keeps two
/// runs (or test binaries) from installing at once.
pub fn install(venv: &Venv) -> Result<()> {
    if venv.is_installed() {
        return Ok(());
    }
    let parent = venv.dir.parent().context("the virtualenv has no parent folder")?;
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let lock = File::create(parent.join("install.lock")).context("cannot create the install lock")?;
    lock.lock().context("cannot lock the install")?;
    if venv.is_installed() {
        return Ok(());
    }
    eprintln!(
        "installing {} into {} (once)",
        PIP_REQUIREMENTS.join(" "),
        venv.dir.display()
    );
    let sh = Shell::new()?;
    let dir = &venv.dir;
    cmd!(sh, "python3 -m venv --clear {dir}")
        .run()
        .context("cannot create the Python virtualenv; is python3 with the venv module installed?")?;
    let pip = venv.bin("pip");
    let requirements = PIP_REQUIREMENTS;
    cmd!(
        sh,
        "{pip} install --disable-pip-version-check --quiet {requirements...}"
    )
    .run()
    .context("pip could not install the emulator; check that PyPI is reachable")?;
    std::fs::write(venv.marker(), PIP_REQUIREMENTS.join("\n"))?;
    Ok(())
}

/// The running emulator, started (and installed) first if needed; `realistic` asks for a mode
/// (None: whichever runs, plain when none does).
pub async fn ensure_running(port: Option<u16>, realistic: Option<bool>) -> Result<(Home, Running)> {
    let home = project::emulator_home();
    if let Some(running) = home.running() {
        if let Some(wanted) = realistic
            && wanted != running.realistic
        {
            bail!(
                "the emulator already runs in {} mode on {}; stop it first with `cargo xtask emulator stop`",
                mode(running.realistic),
                running.endpoint()
            );
        }
        return Ok((home, running));
    }
    let venv = project::venv();
    install(&venv)?;
    let port = project::emulator_port(port)?;
    let options = Options {
        realistic: realistic.unwrap_or(false),
        settings: Vec::new(),
    };
    let (running, _child) = home.start(&venv, port, &options).await?;
    println!(
        "✓ started the emulator on {} (pid {}, IAM enforced, {} mode)",
        running.endpoint(),
        running.pid,
        mode(running.realistic)
    );
    if running.realistic {
        println!(
            "  realistic: new keys refused for seconds, stacks in progress for seconds, IAM propagating; set STS_LAB_KEY_DELAY, STS_LAB_STACK_DELAY, STS_LAB_PROPAGATION_DELAY … to change the delays"
        );
    }
    Ok((home, running))
}

fn mode(realistic: bool) -> &'static str {
    if realistic { "realistic" } else { "plain" }
}
