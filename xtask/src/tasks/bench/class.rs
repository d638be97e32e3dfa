//! `cargo xtask bench --class`: a classroom against its floor on AWS's clock. For each emulator
//! (realistic with stacks as long as AWS's, realistic with its defaults, plain) one lab alone,
//! then classes of the sizes asked: each phase's time against its floor, the longest of one lab's
//! own time, the class's IAM requests ÷ IAM's rate, its CloudFormation requests ÷
//! CloudFormation's, and the last stack's start at CloudFormation's rate then one lab's time
//! (a stack cannot end before it is created), from the requests the emulator counted.

use anyhow::Result;
use lab_core::aws::pace::Rates;
use lab_core::aws::target::Stats;
use lab_core::emulator::{EMULATOR_REQUIREMENTS, Home, Options, Running};

use super::timed::Timed;
use crate::project;

/// A class may take at most this many times its floor.
const TARGET: f64 = 1.25;
/// How long AWS takes over the lab's stack, create or delete: tens of seconds.
const AWS_STACK_SECONDS: &str = "30";
const PHASES: [&str; 3] = ["setup", "verify", "cleanup"];

pub async fn run(rounds: usize, sizes: &[usize]) -> Result<()> {
    let configs = [
        (
            "the realistic emulator, stacks as long as AWS's (30 s)",
            Options::realistic(&[("STS_LAB_STACK_DELAY", AWS_STACK_SECONDS)]),
        ),
        (
            "the realistic emulator, its defaults (stacks 6 s)",
            Options::realistic(&[]),
        ),
        ("the plain emulator", Options::default()),
    ];
    let mut missed = 0;
    for (title, options) in configs {
        let (home, running, child) =
            super::start(&project::venv(), "bench-class", &EMULATOR_REQUIREMENTS, &options).await?;
        let result = measure(&home, running, title, rounds, sizes).await;
        super::stop(child).await;
        missed += result?;
    }
    println!(
        "{}",
        match missed {
            0 => format!("every class phase within {TARGET}x its floor"),
            n => format!("{n} class phases over {TARGET}x their floor"),
        }
    );
    Ok(())
}

/// One phase of a class: its time, and the requests it needed (throttled ones apart).
#[derive(Debug, Clone, Copy, Default)]
struct Phase {
    seconds: f64,
    iam: u64,
    cfn: u64,
    /// CreateStack and DeleteStack: each starts a stack's time.
    stack_starts: u64,
    throttled: u64,
}

impl Phase {
    /// The phase's floor: one lab's own time, or the requests at the rates, whichever is longer;
    /// and what sets it.
    fn floor(&self, one_lab: f64, rates: Rates) -> (f64, &'static str) {
        let per = |n: u64, rate: f64| if rate > 0.0 { n as f64 / rate } else { 0.0 };
        // The emulator's bucket lets a second's requests go at once; the others wait their turn.
        let after_burst = self.stack_starts.saturating_sub(rates.cloudformation as u64);
        let terms = [
            (per(self.iam, rates.iam), "IAM's rate"),
            (per(self.cfn, rates.cloudformation), "CloudFormation's rate"),
            (
                per(after_burst, rates.cloudformation) + one_lab,
                "the last stack's start at CloudFormation's rate, then one lab",
            ),
        ];
        // One lab's own time unless a term is longer (a tie is one lab's).
        terms.into_iter().fold(
            (one_lab, "one lab"),
            |best, term| if term.0 > best.0 { term } else { best },
        )
    }
}

fn between(before: &Stats, after: &Stats, seconds: f64) -> Phase {
    let served = |s: &Stats, service: &str| s.service_calls(service) - s.service_throttled(service);
    let throttled = |s: &Stats| s.service_throttled("iam") + s.service_throttled("cloudformation");
    Phase {
        seconds,
        iam: served(after, "iam") - served(before, "iam"),
        cfn: served(after, "cloudformation") - served(before, "cloudformation"),
        stack_starts: ["cloudformation:CreateStack", "cloudformation:DeleteStack"]
            .iter()
            .map(|k| {
                let served = |s: &Stats| s.calls(k) - s.throttled.get(*k).copied().unwrap_or(0);
                served(after) - served(before)
            })
            .sum(),
        throttled: throttled(after) - throttled(before),
    }
}

/// One lab's phases alone (the median of `rounds`, after a round that warms the emulator up),
/// then each class size; returns how many class phases missed the target.
async fn measure(home: &Home, running: Running, title: &str, rounds: usize, sizes: &[usize]) -> Result<usize> {
    let timed = Timed::new(home, running)?;
    let rates = running.control().info().await?.rates;
    let run = async |args: &[&str]| timed.run(args).await.map(|d| d.as_secs_f64());
    println!(
        "bench --class on {title}: rates IAM {} requests/s, CloudFormation {} (0: none)",
        rates.iam, rates.cloudformation
    );
    let mut alone: [Vec<f64>; 3] = Default::default();
    for round in 0..=rounds {
        home.reset(running).await?;
        let setup = run(&["setup"]).await?;
        let verify = run(&["assume"]).await? + run(&["verify"]).await?;
        let cleanup = run(&["cleanup"]).await?;
        if round > 0 {
            for (i, t) in [setup, verify, cleanup].into_iter().enumerate() {
                alone[i].push(t);
            }
        }
    }
    let one_lab: Vec<f64> = alone.iter_mut().map(|v| super::median(v)).collect();
    println!(
        "  one lab alone: setup {:.2} s, assume+verify {:.2} s, cleanup {:.2} s",
        one_lab[0], one_lab[1], one_lab[2]
    );
    let out = home.dir.join("handouts").display().to_string();
    let mut missed = 0;
    for &n in sizes {
        home.reset(running).await?;
        let students = n.to_string();
        let commands: [Vec<&str>; 3] = [
            vec!["class", "setup", "--students", &students, "--out", &out],
            vec!["class", "verify", "--out", &out],
            vec!["class", "cleanup", "--out", &out],
        ];
        for (i, args) in commands.iter().enumerate() {
            let before = running.control().stats().await?;
            let seconds = run(args).await?;
            let phase = between(&before, &running.control().stats().await?, seconds);
            let (floor, set_by) = phase.floor(one_lab[i], rates);
            let ratio = phase.seconds / floor.max(f64::EPSILON);
            // Where nothing is rated (the plain emulator) its own speed bounds a class: shown,
            // not held to AWS's floor.
            let rated = rates.iam > 0.0 || rates.cloudformation > 0.0;
            missed += usize::from(rated && ratio > TARGET);
            let mark = if rated {
                lab_core::output::report::mark(ratio <= TARGET)
            } else {
                "·"
            };
            println!(
                "  {mark} class {:<7} of {n:>2}: {:>6.2} s, floor {:>6.2} s ({set_by}; {} IAM, {} CloudFormation requests) = {ratio:.2}x, {} throttled",
                PHASES[i], phase.seconds, floor, phase.iam, phase.cfn, phase.throttled,
            );
        }
    }
    Ok(missed)
}
