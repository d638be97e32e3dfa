//! The emulator's Python side, pinned and installed: moto (and the test tools) in a project-local
//! virtualenv, made and filled by uv, which pip installs once. A lock keeps two runs (or test
//! binaries) from installing at once.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// What the emulator needs in the virtualenv, pinned: all `cargo xtask demo` installs.
pub const EMULATOR_REQUIREMENTS: [&str; 1] = ["moto[server]==5.2.5"];
/// What the tests and CI add, pinned and resolved together with the emulator: the aws CLI (tests
/// prove it reads our profiles), cfn-lint (CI lints the template), ruff (CI lints the emulator's
/// Python) and pytest (runs the emulator's own tests).
pub const TEST_TOOL_REQUIREMENTS: [&str; 5] = [
    "moto[server]==5.2.5",
    "awscli==1.46.3",
    "cfn-lint==1.58.0",
    "ruff==0.17.5",
    "pytest==9.2.0",
];
/// The installer, from PyPI: it makes the virtualenv and installs into it several times faster
/// than pip.
pub const UV_REQUIREMENT: &str = "uv==0.13.9";

/// The project-local Python virtualenv holding moto and the aws CLI.
#[derive(Debug, Clone)]
pub struct Venv {
    pub dir: PathBuf,
}

impl Venv {
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.join("bin").join(name)
    }

    /// The file that records what was installed for `requirements`; it is written last, so it
    /// exists only after a complete install.
    pub fn marker(&self, requirements: &[&str]) -> PathBuf {
        let name = if requirements == TEST_TOOL_REQUIREMENTS.as_slice() {
            "sts-lab-test-tools.txt"
        } else {
            "sts-lab-emulator.txt"
        };
        self.dir.join(name)
    }

    /// Whether `requirements` were installed here, exactly.
    pub fn has(&self, requirements: &[&str]) -> bool {
        fs::read_to_string(self.marker(requirements)).is_ok_and(|m| m == requirements.join("\n"))
            && self.bin("python").exists()
    }

    /// Whether the emulator is installed (the test tools may or may not be).
    pub fn is_installed(&self) -> bool {
        self.has(&EMULATOR_REQUIREMENTS) || self.has(&TEST_TOOL_REQUIREMENTS)
    }
}

/// [`install`] from async code: on the runtime's blocking threads, since it waits for the
/// install lock and for uv.
pub async fn install_async(venv: &Venv, requirements: &'static [&'static str]) -> Result<()> {
    let venv = venv.clone();
    tokio::task::spawn_blocking(move || install(&venv, requirements))
        .await
        .context("the install stopped")?
}

/// Installs `requirements` (pinned) into `venv` unless they are there: uv (pinned, from PyPI, into
/// a `uv` folder beside the virtualenv) makes the virtualenv and installs into it, several times
/// faster than pip, showing its progress on stderr.
pub fn install(venv: &Venv, requirements: &[&str]) -> Result<()> {
    if venv.has(requirements) {
        return Ok(());
    }
    let parent = venv.dir.parent().context("the virtualenv has no parent folder")?;
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let lock = fs::File::create(parent.join("install.lock")).context("cannot create the install lock")?;
    lock.lock().context("cannot lock the install")?;
    if venv.has(requirements) {
        return Ok(());
    }
    let started = Instant::now();
    let uv = ensure_uv(&parent.join("uv"))?;
    eprintln!(
        "installing {} into {} (once)",
        requirements.join(" "),
        venv.dir.display()
    );
    let python = venv.bin("python");
    if !python.exists() {
        let mut cmd = Command::new(&uv);
        cmd.args(["venv", "--quiet", "--python", "python3"]).arg(&venv.dir);
        run(cmd, "uv cannot create the Python virtualenv; is python3 installed?")?;
    }
    let mut cmd = Command::new(&uv);
    cmd.args(["pip", "install"]);
    // The test tools are started hundreds of times (every aws command): compile their bytecode
    // now, whatever PYTHONDONTWRITEBYTECODE says. The emulator alone writes its own on first start.
    if requirements == TEST_TOOL_REQUIREMENTS.as_slice() {
        cmd.arg("--compile-bytecode");
    }
    cmd.arg("--python").arg(&python).args(requirements);
    run(cmd, "uv could not install the emulator; check that PyPI is reachable")?;
    fs::write(venv.marker(requirements), requirements.join("\n"))?;
    eprintln!(
        "✓ installed {} in {:.1} s",
        requirements.join(" "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// uv, installed once with the system's pip into `dir`.
fn ensure_uv(dir: &Path) -> Result<PathBuf> {
    let (bin, marker) = (dir.join("bin").join("uv"), dir.join("sts-lab-uv.txt"));
    if bin.exists() && fs::read_to_string(&marker).is_ok_and(|m| m == UV_REQUIREMENT) {
        return Ok(bin);
    }
    eprintln!(
        "installing {UV_REQUIREMENT}, the Python installer, into {}",
        dir.display()
    );
    let _ = fs::remove_dir_all(dir);
    let mut cmd = Command::new("python3");
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--root-user-action=ignore",
        "--quiet",
        "--target",
    ])
    .arg(dir)
    .arg(UV_REQUIREMENT);
    run(
        cmd,
        "pip could not install uv; is python3 with pip installed, and PyPI reachable?",
    )?;
    fs::write(&marker, UV_REQUIREMENT)?;
    Ok(bin)
}

/// Runs `cmd`, its output on stderr (stdout may be an `eval`); `fix` says what to check when it fails.
fn run(mut cmd: Command, fix: &str) -> Result<()> {
    let status = cmd
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .status()
        .with_context(|| format!("cannot run {}: {fix}", cmd.get_program().display()))?;
    if !status.success() {
        bail!("{fix} ({} exited with {status})", cmd.get_program().display());
    }
    Ok(())
}
