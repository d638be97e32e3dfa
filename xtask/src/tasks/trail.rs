//! `cargo xtask trail [--since 15m] [--as PROFILE] [--denied] [--follow] [--json]`: the lab's
//! events in CloudTrail (`lab_core::lab::Trail`), oldest first, each refusal explained; `--follow`
//! reads again (every 2 s on the emulator, 30 s on AWS) and shows what is new, saying it waits.

use std::collections::HashSet;

use anyhow::Result;
use lab_core::lab::{FOLLOW_OVERLAP, Lab, Trail, TrailOptions};
use lab_core::output::report::Report;
use lab_core::output::trail::{TrailEvent, event_lines, trail_lines};

use crate::flags::{Global, TrailArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: TrailArgs) -> Result<()> {
    let json = args.json.json;
    let ui = Ui::new(global.explain, json);
    let lab = super::connect(global, Default::default(), &ui).await?;
    let options = TrailOptions {
        since: i64::try_from(args.filter.since.as_secs()).unwrap_or(i64::MAX),
        as_profile: args.as_profile.clone(),
        denied: args.filter.denied,
        all: args.filter.all,
    };
    let trail = Trail::new(&lab, options.clone())
        .await?
        .with_goals(lab_core::challenges::goals);
    let to = lab.now().await?;
    let start = to - options.since;
    let found = lab_core::lab::read_events(&lab.admin, start, to).await?;
    let doc = trail.of(&found, (start, to), &HashSet::new()).await?;
    match (json, args.follow) {
        (true, false) => println!("{:#}", serde_json::to_value(&doc)?),
        (true, true) => doc.events.iter().try_for_each(print_json_line)?,
        (false, _) => show(&ui, trail_lines(&doc)),
    }
    if !args.follow {
        return Ok(());
    }
    let shown = doc.events.iter().map(|e| e.event_id.clone()).collect();
    follow(&lab, &trail, &ui, start, shown, json).await
}

/// Reads the trail again and again, showing only the events not shown before; never returns
/// but with an error (Ctrl-C ends it).
async fn follow(
    lab: &Lab,
    trail: &Trail<'_>,
    ui: &Ui,
    start: i64,
    mut shown: HashSet<String>,
    json: bool,
) -> Result<()> {
    let every = lab_core::lab::follow_interval(lab);
    let late = match lab.target.endpoint.emulator() {
        Some(_) => "",
        None => "; CloudTrail delivers events about 5 minutes late",
    };
    loop {
        ui.waiting(&format!(
            "waiting for the lab's next events: reading again every {} s{late} (Ctrl-C stops)",
            every.as_secs()
        ));
        tokio::time::sleep(every).await;
        let to = lab.now().await?;
        let from = start.max(to - FOLLOW_OVERLAP);
        let found = lab_core::lab::read_events(&lab.admin, from, to).await?;
        let doc = trail.of(&found, (from, to), &shown).await?;
        if doc.events.is_empty() {
            continue;
        }
        ui.wait_done();
        for event in &doc.events {
            match json {
                true => print_json_line(event)?,
                false => show(ui, event_lines(event)),
            }
            shown.insert(event.event_id.clone());
        }
    }
}

fn print_json_line(event: &TrailEvent) -> Result<()> {
    println!("{}", serde_json::to_string(event)?);
    Ok(())
}

/// Lines with a mark (allowed or refused) as outcomes, the others as they are.
pub fn show(ui: &Ui, lines: Vec<(Option<bool>, String)>) {
    for line in lines {
        match line {
            (Some(allowed), text) => ui.outcome(allowed, &text),
            (None, text) => ui.line(&text),
        }
    }
}
