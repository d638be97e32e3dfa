//! `cargo xtask bench --realistic`: the lab on AWS's clock. On the realistic emulator with stated
//! delays, `setup` then `assume` (two processes, as a user runs them) against their critical path
//! (the stack's delay, then the trust's), and `cleanup` against the stack's deletion.

use anyhow::Result;
use lab_core::emulator::{EMULATOR_REQUIREMENTS, Home, Options, Running};

use crate::project;

/// The delays of the measurement, in seconds: a new key refused for 4 s, a stack in progress for
/// 6 s, AssumeRole denied until 3 s after the stack and the user policy.
const KEY: f64 = 4.0;
const STACK: f64 = 6.0;
const TRUST: f64 = 3.0;
/// setup+assume may take at most this many times its critical path.
const TARGET: f64 = 1.15;

pub async fn run(rounds: usize) -> Result<()> {
    let settings = [
        ("STS_LAB_KEY_DELAY", KEY.to_string()),
        ("STS_LAB_STACK_DELAY", STACK.to_string()),
        ("STS_LAB_PROPAGATION_DELAY", TRUST.to_string()),
    ];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let options = Options::realistic(&settings);
    let (home, running, child) =
        super::start(&project::venv(), "bench-realistic", &EMULATOR_REQUIREMENTS, &options).await?;
    let result = measure(&home, running, rounds).await;
    super::stop(child).await;
    result
}

async fn measure(home: &Home, running: Running, rounds: usize) -> Result<()> {
    let timed = super::timed::Timed::new(home, running)?;
    let task = async |name: &str| timed.run(&[name]).await;
    let (setup_path, cleanup_path) = (STACK + TRUST, STACK);
    println!(
        "bench --realistic: {rounds} rounds on the realistic emulator ({}), a new key refused for {KEY} s, stacks in progress for {STACK} s, AssumeRole denied until {TRUST} s after the stack and the user policy",
        running.endpoint()
    );
    let (mut up, mut down) = (Vec::new(), Vec::new());
    // Round 0 warms the emulator up (moto loads each service's code on first use); not counted.
    for round in 0..=rounds {
        home.reset(running).await?;
        let setup = task("setup").await?;
        let assume = task("assume").await?;
        let cleanup = task("cleanup").await?;
        if round > 0 {
            println!(
                "  round {round}: setup {:.2} s + assume {:.2} s = {:.2} s; cleanup {:.2} s",
                setup.as_secs_f64(),
                assume.as_secs_f64(),
                (setup + assume).as_secs_f64(),
                cleanup.as_secs_f64()
            );
            up.push((setup + assume).as_secs_f64());
            down.push(cleanup.as_secs_f64());
        }
    }
    let (up, down) = (super::median(&mut up), super::median(&mut down));
    println!(
        "setup+assume: median {up:.2} s against a critical path of {setup_path:.1} s (stack {STACK} s, then the trust {TRUST} s; the key's {KEY} s overlaps the stack): {:.3}x",
        up / setup_path
    );
    println!(
        "cleanup:      median {down:.2} s against a critical path of {cleanup_path:.1} s (the stack's deletion): {:.3}x",
        down / cleanup_path
    );
    let mark = lab_core::output::report::mark(up / setup_path <= TARGET);
    println!("  {mark} setup+assume at most {TARGET}x its critical path");
    Ok(())
}
