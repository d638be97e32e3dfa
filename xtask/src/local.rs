//! The local emulator on demand: installed (pinned, with uv) into the project's virtualenv, and
//! started when a task needs it and none runs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use lab_core::emulator::{EMULATOR_REQUIREMENTS, Home, Options, Running, TEST_TOOL_REQUIREMENTS, UV_REQUIREMENT, Venv};
use xshell::{Shell, cmd};

use crate::project;

/// Installs `requirements` (pinned) into `venv` unless they are there: uv (pinned, from PyPI, into
/// `.lab/uv`) makes the virtualenv and installs into it, several times faster than pip, showing
/// its progress (a line per package in a pipe). A lock keeps two runs (or test binaries) from
/// installing at once.
pub fn install(venv: &Venv, requirements: &[&str]) -> Result<()> {
    if venv.has(requirements) {
        return Ok(());
    }
    let parent = venv.dir.parent().context("the virtualenv has no parent folder")?;
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let lock = File::create(parent.join("install.lock")).context("cannot create the install lock")?;
    lock.lock().context("cannot lock the install")?;
    if venv.has(requirements) {
        return Ok(());
    }
    let started = Instant::now();
    let sh = Shell::new()?;
    let uv = ensure_uv(&sh, &parent.join("uv"))?;
    eprintln!(
        "installing {} into {} (once)",
        requirements.join(" "),
        venv.dir.display()
    );
    let (dir, python) = (&venv.dir, venv.bin("python"));
    if !python.exists() {
        cmd!(sh, "{uv} venv --quiet --python python3 {dir}")
            .quiet()
            .run()
            .context("uv cannot create the Python virtualenv; is python3 installed?")?;
    }
    // The test tools are started hundreds of times (every aws command): compile their bytecode
    // now, whatever PYTHONDONTWRITEBYTECODE says. The emulator alone writes its own on first start.
    let compile = (requirements == TEST_TOOL_REQUIREMENTS.as_slice()).then_some("--compile-bytecode");
    cmd!(sh, "{uv} pip install {compile...} --python {python} {requirements...}")
        .quiet()
        .run()
        .context("uv could not install the emulator; check that PyPI is reachable")?;
    std::fs::write(venv.marker(requirements), requirements.join("\n"))?;
    eprintln!(
        "✓ installed {} in {:.1} s",
        requirements.join(" "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// uv, installed once with the system's pip into `dir`.
fn ensure_uv(sh: &Shell, dir: &Path) -> Result<PathBuf> {
    let (bin, marker) = (dir.join("bin").join("uv"), dir.join("sts-lab-uv.txt"));
    if bin.exists() && std::fs::read_to_string(&marker).is_ok_and(|m| m == UV_REQUIREMENT) {
        return Ok(bin);
    }
    eprintln!(
        "installing {UV_REQUIREMENT}, the Python installer, into {}",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(dir);
    cmd!(
        sh,
        "python3 -m pip install --disable-pip-version-check --root-user-action=ignore --quiet --target {dir} {UV_REQUIREMENT}"
    )
    .quiet()
    .run()
    .context("pip could not install uv; is python3 with pip installed, and PyPI reachable?")?;
    std::fs::write(&marker, UV_REQUIREMENT)?;
    Ok(bin)
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
    install(&venv, &EMULATOR_REQUIREMENTS)?;
    let port = project::emulator_port(port)?;
    let options = Options {
        realistic: realistic.unwrap_or(false),
        settings: Vec::new(),
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
