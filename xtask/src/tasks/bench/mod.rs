//! `cargo xtask bench`: the lab against the guide (`guide`), on AWS's clock (`--realistic`,
//! `realistic`), classrooms against their floor (`--class`, `class`), and the proofs' time
//! (`--proofs`, `proofs`); each on an emulator of its own, started here and stopped after.

mod class;
mod guide;
mod proofs;
mod realistic;
mod timed;
mod ways;

use std::process::Child;

use anyhow::{Result, bail};
use lab_core::emulator::{self, Home, Options, Running, Venv};

use crate::flags::{BenchArgs, Global};
use crate::project;

pub async fn run(_global: &Global, args: BenchArgs) -> Result<()> {
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    if args.proofs {
        proofs::run(args.rounds).await
    } else if args.realistic {
        realistic::run(args.rounds).await
    } else if args.class {
        let sizes: Vec<usize> = args.students.iter().map(|&n| usize::from(n)).collect();
        class::run(args.rounds, &sizes).await
    } else {
        guide::run(args.rounds).await
    }
}

/// An emulator of the bench's own (`.lab/NAME`, a free port), `requirements` installed first.
async fn start(
    venv: &Venv,
    name: &str,
    requirements: &'static [&'static str],
    options: &Options,
) -> Result<(Home, Running, Child)> {
    emulator::install::install_async(venv, requirements).await?;
    let home = Home {
        dir: project::project_root().join(".lab").join(name),
    };
    let port = emulator::free_port().await?;
    let (running, child) = home.start(venv, port, options).await?;
    Ok((home, running, child))
}

/// Stops a bench's emulator.
async fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
}

/// The middle value (the upper one of an even count).
fn median<T: PartialOrd + Copy>(values: &mut [T]) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values[values.len() / 2]
}
