//! `cargo xtask challenge [NAME] [--check|--hint|--reset|--giveup]`: without a name, the
//! challenges; with one, it is set on the lab (or told again), graded, reset or given up
//! (`lab_core::challenges`); exits 1 when a check does not pass.

use anyhow::{Context, Result, bail};
use lab_core::challenges::{self, Challenge};
use lab_core::output::challenge::check_lines;
use lab_core::output::report::Report;

use crate::flags::{ChallengeArgs, Global};
use crate::ui::Ui;

pub async fn run(global: &Global, args: ChallengeArgs) -> Result<()> {
    let Some(name) = args.name else {
        if args.json.json {
            let all = Challenge::all().map(|c| (c.name.to_owned(), c.summary.to_owned()));
            println!("{:#}", lab_core::output::listed_json("challenges", all));
            return Ok(());
        }
        println!("the challenges (cargo xtask challenge NAME, then --check; --hint, --reset, --giveup):");
        for c in Challenge::all() {
            println!("  {:<20} {}", c.name, c.summary);
        }
        return Ok(());
    };
    let ch = name.0;
    // The learner's file is read before any call: a missing one is said at once.
    let policy = match &args.policy {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the session policy {}", path.display()))?,
        ),
        None => None,
    };
    let ui = Ui::new(global.explain, args.json.json);
    let lab = super::connect(global, Default::default(), &ui).await?;
    ui.line(&format!("== challenge {}: {}", ch.name, ch.summary));
    let doc = if args.check {
        challenges::check(&lab, ch, policy.as_deref(), &ui).await?
    } else if args.hint {
        challenges::show(&lab, ch, &ui).await?
    } else if args.reset {
        challenges::reset(&lab, ch, &ui).await?
    } else if args.giveup {
        challenges::giveup(&lab, ch, &ui).await?
    } else {
        challenges::set(&lab, ch, &ui).await?
    };
    if args.json.json {
        println!("{:#}", serde_json::to_value(&doc)?);
    }
    match doc.passed {
        Some(true) => {
            ui.outcome(
                true,
                &format!(
                    "challenge {} passed: proven least privilege over every request of the goal ({} classes of requests, {} actions of the catalog), and the endpoint agrees",
                    ch.name, doc.requests, doc.actions
                ),
            );
            Ok(())
        }
        Some(false) => {
            for line in check_lines(&doc) {
                ui.line(&line);
            }
            for c in doc.confirmed.iter().filter(|c| !c.agrees) {
                ui.line(&format!("✗ the endpoint answered {} for: {}", c.seen, c.request));
            }
            bail!(
                "challenge {} not passed yet: fix what is listed and run `{}` again (--hint helps)",
                ch.name,
                lab_core::output::command::xtask(format!("challenge {} --check", ch.name))
            )
        }
        None => Ok(()),
    }
}
