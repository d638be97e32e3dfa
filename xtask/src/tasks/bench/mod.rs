//! `cargo xtask bench`: the lab as a user runs it (four xtask processes) against the guide's aws
//! CLI script and the same calls from one boto3 process, on one emulator reset between runs;
//! prints medians, spreads, ratios and API request counts.

mod class;
mod realistic;
mod timed;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lab_core::emulator::{self, Home, Running};
use lab_core::output::report::fmt_elapsed;
use xshell::{Shell, cmd};

use crate::flags::{BenchArgs, Global};
use crate::project;

/// Requests of the guide's verify steps (two identities, the user's S3 denial, a bucket made and
/// listed), which `cargo xtask verify` also makes; the rest of verify's requests are its extra
/// checks.
const GUIDE_VERIFY_REQUESTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Xtask,
    Cli,
    Boto3,
}

impl Way {
    fn label(self) -> &'static str {
        match self {
            Way::Xtask => "(a) sts-lab: 4 xtask processes",
            Way::Cli => "(b) the guide: aws CLI script",
            Way::Boto3 => "(c) the same calls: one boto3 process",
        }
    }
}

#[derive(Debug, Default)]
struct Samples {
    times: Vec<Duration>,
    requests: Vec<usize>,
}

pub async fn run(_global: &Global, args: BenchArgs) -> Result<()> {
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    if args.realistic {
        return realistic::run(args.rounds).await;
    }
    if args.class {
        return class::run(args.rounds).await;
    }
    let venv = project::venv();
    // The guide's flow needs the aws CLI.
    lab_core::emulator::install::install_async(&venv, &lab_core::emulator::TEST_TOOL_REQUIREMENTS).await?;
    let home = Home {
        dir: project::project_root().join(".lab").join("bench"),
    };
    let port = emulator::free_port()?;
    let (running, mut child) = home.start(&venv, port, &lab_core::emulator::Options::default()).await?;
    let result = rounds(&home, running, args.rounds).await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// The shell the three ways run in: the emulator's environment, a scratch HOME, the guide's
/// files, and nothing else of AWS from this shell.
struct Ways {
    sh: Shell,
    strip: Vec<String>,
    exe: PathBuf,
    root: PathBuf,
}

impl Ways {
    fn new(home: &Home, running: Running) -> Result<Self> {
        let root = project::project_root();
        let work = home.dir.join("work");
        std::fs::create_dir_all(&work)?;
        let sh = Shell::new()?;
        let mut set = Vec::new();
        for (k, v) in home.env_vars(running) {
            sh.set_var(k, v);
            set.push(k.to_owned());
        }
        let strip = std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| (k.starts_with("AWS_") || k.starts_with("STS_LAB_")) && !set.contains(k))
            .collect();
        sh.set_var("HOME", &work);
        sh.set_var("TEMPLATE", root.join("infra/template.yaml"));
        sh.set_var("POLICY", root.join("infra/policy.json"));
        sh.set_var("WORK", &work);
        let path = std::env::var("PATH").unwrap_or_default();
        sh.set_var("PATH", format!("{}:{path}", project::venv().bin("").display()));
        let exe = std::env::current_exe().context("cannot find the xtask binary")?;
        Ok(Self { sh, strip, exe, root })
    }

    fn clean<'a>(&self, mut c: xshell::Cmd<'a>) -> xshell::Cmd<'a> {
        for k in &self.strip {
            c = c.env_remove(k);
        }
        c.quiet()
    }

    /// Runs `way` once; for sts-lab, the requests of each of its four processes.
    fn run(&self, way: Way, home: &Home) -> Result<Vec<usize>> {
        let (sh, exe) = (&self.sh, &self.exe);
        let mut phases = Vec::new();
        match way {
            Way::Xtask => {
                for task in ["setup", "assume", "verify", "cleanup"] {
                    let at = home.requests_served()?;
                    self.clean(cmd!(sh, "{exe} {task}"))
                        .ignore_stdout()
                        .run()
                        .with_context(|| format!("xtask {task} failed"))?;
                    phases.push(home.requests_served()? - at);
                }
            }
            Way::Cli => {
                let script = self.root.join("bench/guide.sh");
                self.clean(cmd!(sh, "bash {script}"))
                    .run()
                    .context("the guide's script failed")?;
            }
            Way::Boto3 => {
                let python = project::venv().bin("python");
                let script = self.root.join("bench/guide_boto3.py");
                self.clean(cmd!(sh, "{python} {script}"))
                    .run()
                    .context("the boto3 script failed")?;
            }
        }
        Ok(phases)
    }
}

async fn rounds(home: &Home, running: Running, rounds: usize) -> Result<()> {
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
            let started = Instant::now();
            let phases = runner.run(way, home)?;
            let elapsed = started.elapsed();
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
    report(&ways, &mut samples, &mut phase_requests, rounds)
}

fn median<T: Ord + Copy>(values: &mut [T]) -> T {
    values.sort_unstable();
    values[values.len() / 2]
}

fn report(ways: &[Way], samples: &mut [Samples], phase_requests: &mut [Vec<usize>], rounds: usize) -> Result<()> {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(["way", "median", "min", "max", "requests"]);
    let mut medians = Vec::new();
    let mut requests = Vec::new();
    for (way, s) in ways.iter().zip(samples.iter_mut()) {
        let m = median(&mut s.times);
        let min = s.times.iter().min().copied().unwrap_or_default();
        let max = s.times.iter().max().copied().unwrap_or_default();
        let r = median(&mut s.requests);
        table.add_row([
            way.label().to_owned(),
            fmt_elapsed(m),
            fmt_elapsed(min),
            fmt_elapsed(max),
            r.to_string(),
        ]);
        medians.push(m);
        requests.push(r);
    }
    println!("\n{table}");
    let (a, b, c) = (
        medians[0].as_secs_f64(),
        medians[1].as_secs_f64(),
        medians[2].as_secs_f64(),
    );
    let phases: Vec<usize> = phase_requests.iter_mut().map(|counts| median(counts)).collect();
    let verify_extra = phases[2].saturating_sub(GUIDE_VERIFY_REQUESTS);
    println!();
    println!(
        "a/b = {:.3} (sts-lab is {:.1}x faster than the guide's CLI flow)",
        a / b,
        b / a
    );
    println!(
        "a/c = {:.3} (sts-lab is {:.2}x the speed of one boto3 process)",
        a / c,
        c / a
    );
    println!(
        "(a) requests by process: setup {}, assume {}, verify {} ({verify_extra} beyond the guide's checks), cleanup {}",
        phases[0], phases[1], phases[2], phases[3]
    );
    let mark = lab_core::output::report::mark;
    println!("targets over {rounds} rounds:");
    println!("  {} (a) at least 30x faster than (b)", mark(b / a >= 30.0));
    println!("  {} (a) no slower than (c)", mark(a <= c));
    println!(
        "  {} (a) makes no more requests ({}) than (b) plus verify's extra checks ({} + {verify_extra})",
        mark(requests[0] <= requests[1] + verify_extra),
        requests[0],
        requests[1]
    );
    Ok(())
}
