//! `cargo xtask bench --proofs`: how long a proof takes, offline. Each challenge's check on its
//! starting state and on its answer (the documents built without a lab), then `verify`'s two
//! proofs of the lab, the documents read once from a lab set up on an emulator of the bench's
//! own, then proven `rounds` times. Each line: the median, the classes of requests decided and
//! the counterexamples found.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use lab_core::challenges::{Challenge, offline};
use lab_core::emulator::{EMULATOR_REQUIREMENTS, Options};
use lab_core::lab::{self, Lab};
use lab_core::model::expiry::machine_now;
use lab_core::model::names::LabNames;
use lab_core::model::prove::{self, Proof, Question};
use lab_core::output::report::Captured;

use crate::project;

/// A check's proof should take at most this long, offline (issue 43).
const TARGET: Duration = Duration::from_millis(200);

/// Runs `prove` `rounds` times: the median time and the last proof.
fn timed(rounds: usize, prove: impl Fn() -> Result<Proof>) -> Result<(Duration, Proof)> {
    let mut times = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let started = Instant::now();
        last = Some(prove()?);
        times.push(started.elapsed());
    }
    let Some(proof) = last else {
        bail!("--rounds must be at least 1")
    };
    Ok((super::median(&mut times), proof))
}

fn line(what: &str, time: Duration, proof: &Proof) -> bool {
    let ok = time <= TARGET;
    println!(
        "  {} {what:<40} {:>7.1} ms  {:>4} classes of requests, {} counterexample(s){}",
        lab_core::output::report::mark(ok),
        time.as_secs_f64() * 1000.0,
        proof.classes,
        proof.misses.len(),
        if proof.outside.is_empty() {
            ""
        } else {
            ", some outside the fragment"
        }
    );
    ok
}

pub async fn run(rounds: usize) -> Result<()> {
    println!(
        "bench --proofs: median of {rounds} rounds, offline, each within {} ms",
        TARGET.as_millis()
    );
    let scene = offline::scene(machine_now());
    let mut all_ok = true;
    for ch in Challenge::all() {
        for (which, state) in [("start", ch.start(&scene)), ("answer", ch.answer(&scene))] {
            let session = state.session_policy.clone();
            let (time, proof) = timed(rounds, || offline::prove_state(ch, &scene, &state, session.as_ref()))?;
            all_ok &= line(&format!("challenge {} ({which})", ch.name), time, &proof);
        }
    }
    let (home, running, child) = super::start(
        &project::venv(),
        "bench-proofs",
        &EMULATOR_REQUIREMENTS,
        &Options::default(),
    )
    .await?;
    let questions = async {
        let names = LabNames::new(None)?;
        let lab = Lab::connect(home.target(running), names, Default::default(), &Captured::default()).await?;
        lab::setup(&lab, &Captured::default()).await?;
        let read = lab::lab_questions(&lab).await;
        lab::cleanup(&lab, &Captured::default()).await?;
        read
    }
    .await;
    super::stop(child).await;
    let Some(questions) = questions? else {
        bail!("the lab's stack names no role")
    };
    let both = |q: &Question| timed(rounds, || prove::prove(q));
    let (time, proof) = both(&questions.lab)?;
    all_ok &= line("verify: the user and the role's sessions", time, &proof);
    let (time, proof) = both(&questions.trust)?;
    all_ok &= line("verify: who may assume the role", time, &proof);
    println!(
        "  {} every proof within {} ms",
        lab_core::output::report::mark(all_ok),
        TARGET.as_millis()
    );
    Ok(())
}
