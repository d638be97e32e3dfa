//! `cargo xtask bench --class`: a classroom against one lab. On the realistic emulator with IAM
//! throttled at 25 requests a second, `class setup --students 12` against one lab's `setup`; on the
//! plain emulator, 30 students against one lab.

use anyhow::Result;
use lab_core::emulator::{self, EMULATOR_REQUIREMENTS, Home, Options, Running};

use crate::project;

pub async fn run(rounds: usize) -> Result<()> {
    let venv = project::venv();
    super::emulator::install(&venv, &EMULATOR_REQUIREMENTS)?;
    let realistic = Options::realistic(&[("STS_LAB_IAM_RATE", "25")]);
    for (options, students, target) in [(realistic, 12, 2.0), (Options::default(), 30, 4.0)] {
        let home = Home {
            dir: project::project_root().join(".lab").join("bench-class"),
        };
        let port = emulator::free_port()?;
        let (running, mut child) = home.start(&venv, port, &options).await?;
        let result = measure(&home, running, rounds, students, target).await;
        let _ = child.kill();
        let _ = child.wait();
        result?;
    }
    Ok(())
}

async fn measure(home: &Home, running: Running, rounds: usize, students: usize, target: f64) -> Result<()> {
    let timed = super::bench::Timed::new(home, running)?;
    let out = home.dir.join("handouts");
    let run = |args: &[&str]| timed.run(args);
    let mode = if running.realistic {
        "the realistic emulator, IAM throttled at 25 requests/s"
    } else {
        "the plain emulator"
    };
    println!("bench --class: {students} students against one lab, on {mode}, {rounds} rounds");
    let (mut one, mut many) = (Vec::new(), Vec::new());
    let n = students.to_string();
    let out_arg = out.display().to_string();
    // Round 0 warms the emulator up; not counted.
    for round in 0..=rounds {
        home.reset(running).await?;
        let lab = run(&["setup"])?;
        run(&["cleanup"])?;
        let class = run(&["class", "setup", "--students", &n, "--out", &out_arg])?;
        run(&["class", "cleanup", "--out", &out_arg])?;
        if round > 0 {
            println!(
                "  round {round}: one lab's setup {:.2} s, class setup of {students} {:.2} s",
                lab.as_secs_f64(),
                class.as_secs_f64()
            );
            one.push(lab.as_secs_f64());
            many.push(class.as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (one, many) = (median(&mut one), median(&mut many));
    let mark = if many / one <= target { "✓" } else { "✗" };
    println!(
        "  {mark} class setup of {students}: {many:.2} s = {:.2}x one lab's setup ({one:.2} s); target at most {target}x",
        many / one
    );
    Ok(())
}
