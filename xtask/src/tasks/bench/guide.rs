//! `cargo xtask bench` (the default): the lab as a user runs it (four xtask processes) against the
//! guide's aws CLI script and the same calls from one boto3 process, on one emulator reset
//! between runs; prints medians, spreads, ratios and API request counts.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lab_core::emulator::{Home, Running};
use lab_core::output::report::fmt_elapsed;
use tokio::process::Command;

use super::ways::{Samples, Way};
use crate::project;

/// The three ways, `rounds` times each, on the emulator started for the bench.
pub(super) async fn run(rounds: usize) -> Result<()> {
    let venv = project::venv();
    // The guide's flow needs the aws CLI.
    let (home, running, child) = super::start(
        &venv,
        "bench",
        &lab_core::emulator::TEST_TOOL_REQUIREMENTS,
        &Default::default(),
    )
    .await?;
    let result = run_rounds(&home, running, rounds).await;
    super::stop(child).await;
    result
}

/// The environment the three ways run in: the emulator's, a scratch HOME, the guide's files, and
/// nothing else of AWS from this shell.
struct Ways {
    env: Vec<(String, String)>,
    strip: Vec<String>,
    exe: PathBuf,
    root: PathBuf,
}

impl Ways {
    fn new(home: &Home, running: Running) -> Result<Self> {
        let root = project::project_root();
        let work = home.dir.join("work");
        std::fs::create_dir_all(&work)?;
        let mut env: Vec<(String, String)> = home
            .env_vars(running)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let strip = std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| (k.starts_with("AWS_") || k.starts_with("STS_LAB_")) && !env.iter().any(|(e, _)| e == k))
            .collect();
        let path = std::env::var("PATH").unwrap_or_default();
        let file = |p: &str| root.join(p).display().to_string();
        env.extend([
            ("HOME".to_owned(), work.display().to_string()),
            ("TEMPLATE".to_owned(), file("infra/template.yaml")),
            ("POLICY".to_owned(), file("infra/policy.json")),
            ("WORK".to_owned(), work.display().to_string()),
            (
                "PATH".to_owned(),
                format!("{}:{path}", project::venv().bin("").display()),
            ),
        ]);
        let exe = std::env::current_exe().context("cannot find the xtask binary")?;
        Ok(Self { env, strip, exe, root })
    }

    /// Runs `program args` in the ways' environment, its output discarded; fails with its stderr.
    async fn exec(&self, program: &std::path::Path, args: &[&str], what: &str) -> Result<()> {
        let mut command = Command::new(program);
        for k in &self.strip {
            command.env_remove(k);
        }
        let out = command.args(args).envs(self.env.iter().cloned()).output().await?;
        if !out.status.success() {
            bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(())
    }

    /// Runs `way` once: its time and, for sts-lab, the requests of each of its four processes.
    /// sts-lab's time is its four processes' own, from start to exit: the bench's counting of
    /// requests between them (it reads the emulator's log) is not the lab's time.
    async fn run(&self, way: Way, home: &Home) -> Result<(Duration, Vec<usize>)> {
        let mut phases = Vec::new();
        let mut elapsed = Duration::ZERO;
        let mut timed = async |program: &std::path::Path, args: &[&str], what: &str| {
            let started = Instant::now();
            self.exec(program, args, what).await?;
            elapsed += started.elapsed();
            anyhow::Ok(())
        };
        match way {
            Way::Xtask => {
                for task in ["setup", "assume", "verify", "cleanup"] {
                    let at = home.requests_served()?;
                    timed(&self.exe, &[task], &format!("xtask {task}")).await?;
                    phases.push(home.requests_served()? - at);
                }
            }
            Way::Cli => {
                let script = self.root.join("bench/guide.sh").display().to_string();
                timed("bash".as_ref(), &[&script], "the guide's script").await?;
            }
            Way::Boto3 => {
                let script = self.root.join("bench/guide_boto3.py").display().to_string();
                let python = project::venv().bin("python");
                timed(&python, &[&script], "the boto3 script").await?;
            }
        }
        Ok((elapsed, phases))
    }
}

async fn run_rounds(home: &Home, running: Running, rounds: usize) -> Result<()> {
    let runner = Ways::new(home, running)?;
    println!(
        "bench: {rounds} rounds of each way, alternating, on one emulator ({}) reset before every run",
        running.endpoint()
    );
    let ways = [Way::Xtask, Way::Cli, Way::Boto3];
    let mut samples: Vec<Samples> = ways.iter().map(|_| Samples::default()).collect();
    let mut phase_requests: Vec<Vec<usize>> = vec![Vec::new(); 4];
    // Round 0 warms the emulator up (moto loads each service's code on first use); not counted.
    for round in 0..=rounds {
        for i in 0..ways.len() {
            // Rotate the order each round, so no way always runs first after a reset.
            let idx = (i + round) % ways.len();
            let way = ways[idx];
            home.reset(running).await?;
            let before = home.requests_served()?;
            let (elapsed, phases) = runner.run(way, home).await?;
            let requests = home.requests_served()? - before;
            let label = match round {
                0 => "warm-up".to_owned(),
                n => format!("round {n}"),
            };
            println!(
                "  {label}: {:<40} {:>9}  {requests:>3} requests",
                way.label(),
                fmt_elapsed(elapsed)
            );
            if round > 0 {
                samples[idx].times.push(elapsed);
                samples[idx].requests.push(requests);
                for (phase, n) in phases.into_iter().enumerate() {
                    phase_requests[phase].push(n);
                }
            }
        }
    }
    super::ways::report(&ways, &mut samples, &mut phase_requests, rounds)
}
