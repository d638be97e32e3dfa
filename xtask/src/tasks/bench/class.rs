//! `cargo xtask bench --class`: a classroom against one lab. On the realistic emulator with AWS's
//! delays, IAM throttled at 25 requests a second and CloudFormation at 5, a class of 30 (setup,
//! verify, cleanup) against one lab's setup, assume and verify, and cleanup, with the
//! CloudFormation calls a second and the throttled calls; on the plain emulator, 30 against one.

use anyhow::Result;
use lab_core::emulator::{EMULATOR_REQUIREMENTS, Home, Options, Running};

use crate::project;

/// The class's size in both benches.
const STUDENTS: usize = 30;

pub async fn run(rounds: usize) -> Result<()> {
    let realistic = Options::realistic(&[("STS_LAB_IAM_RATE", "25"), ("STS_LAB_CFN_RATE", "5")]);
    for options in [realistic, Options::default()] {
        let (home, running, child) =
            super::start(&project::venv(), "bench-class", &EMULATOR_REQUIREMENTS, &options).await?;
        let result = measure(&home, running, rounds).await;
        super::stop(child).await;
        result?;
    }
    Ok(())
}

/// One round's times, in seconds: one lab's phases, then the class's.
#[derive(Debug, Default, Clone, Copy)]
struct Round {
    lab: [f64; 3],
    class: [f64; 3],
}

async fn measure(home: &Home, running: Running, rounds: usize) -> Result<()> {
    let timed = super::timed::Timed::new(home, running)?;
    let out = home.dir.join("handouts").display().to_string();
    let run = async |args: &[&str]| timed.run(args).await.map(|d| d.as_secs_f64());
    let mode = if running.realistic {
        "the realistic emulator (AWS's delays), IAM throttled at 25 requests/s, CloudFormation at 5"
    } else {
        "the plain emulator"
    };
    println!("bench --class: {STUDENTS} students against one lab, on {mode}, {rounds} rounds");
    let n = STUDENTS.to_string();
    let mut measured = Vec::new();
    // Round 0 warms the emulator up; not counted.
    for round in 0..=rounds {
        home.reset(running).await?;
        let setup = run(&["setup"]).await?;
        let verify = run(&["assume"]).await? + run(&["verify"]).await?;
        let cleanup = run(&["cleanup"]).await?;
        let before = running.control().stats().await?;
        let class_setup = run(&["class", "setup", "--students", &n, "--out", &out]).await?;
        let class_verify = run(&["class", "verify", "--out", &out]).await?;
        let class_cleanup = run(&["class", "cleanup", "--out", &out]).await?;
        let after = running.control().stats().await?;
        if round == 0 {
            continue;
        }
        let r = Round {
            lab: [setup, verify, cleanup],
            class: [class_setup, class_verify, class_cleanup],
        };
        let class_time: f64 = r.class.iter().sum();
        let describes = after.calls("cloudformation:DescribeStacks") - before.calls("cloudformation:DescribeStacks");
        let cfn = after.service_calls("cloudformation") - before.service_calls("cloudformation");
        let throttled = |service: &str| after.service_throttled(service) - before.service_throttled(service);
        println!(
            "  round {round}: one lab {}; class {}; CloudFormation {:.2} calls/s ({:.2} DescribeStacks/s), throttled: {} CloudFormation, {} IAM",
            phases(&r.lab),
            phases(&r.class),
            cfn as f64 / class_time,
            describes as f64 / class_time,
            throttled("cloudformation"),
            throttled("iam"),
        );
        measured.push(r);
    }
    summarise(&measured);
    Ok(())
}

fn phases(p: &[f64; 3]) -> String {
    format!("setup {:.2} s, verify {:.2} s, cleanup {:.2} s", p[0], p[1], p[2])
}

/// The median of each phase, and the class against one lab.
fn summarise(rounds: &[Round]) {
    let median = |pick: &dyn Fn(&Round) -> f64| {
        let mut v: Vec<f64> = rounds.iter().map(pick).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    for (i, phase) in ["setup", "verify", "cleanup"].into_iter().enumerate() {
        let (one, many) = (median(&|r| r.lab[i]), median(&|r| r.class[i]));
        println!(
            "  class {phase} of {STUDENTS}: {many:.2} s = {:.2}x one lab's ({one:.2} s), {:.2} s a student",
            many / one.max(f64::EPSILON),
            many / STUDENTS as f64
        );
    }
}
