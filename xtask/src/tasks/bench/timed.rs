//! The built xtask binary run against one emulator, timed, for the `--realistic` and `--class`
//! benches.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lab_core::emulator::{Home, Running};

/// The built xtask binary run against one emulator, as a user runs it: the emulator's
/// environment and nothing else of AWS from this shell; for the `--realistic` and `--class`
/// benches.
pub(super) struct Timed {
    exe: std::path::PathBuf,
    env: Vec<(String, String)>,
}

impl Timed {
    pub(super) fn new(home: &Home, running: Running) -> Result<Self> {
        let env = home
            .env_vars(running)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Ok(Self {
            exe: std::env::current_exe().context("cannot find the xtask binary")?,
            env,
        })
    }

    /// Runs `xtask args` and returns how long it took; a failure is an error with its stderr.
    pub(super) async fn run(&self, args: &[&str]) -> Result<Duration> {
        let mut cmd = tokio::process::Command::new(&self.exe);
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("STS_LAB_") {
                cmd.env_remove(k);
            }
        }
        let started = Instant::now();
        let output = cmd.args(args).envs(self.env.iter().cloned()).output().await?;
        if !output.status.success() {
            bail!(
                "xtask {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(started.elapsed())
    }
}
