//! `cargo xtask class setup|verify|lesson|challenge|status|watch|trail|cleanup`: a classroom of isolated labs
//! (`lab_core::fleet::class`): this file parses, connects the class and prints.

use anyhow::{Result, bail};
use lab_core::fleet::class;
use lab_core::output::ClassStatusDoc;
use lab_core::output::report::Report;

use super::room::connect;
use crate::flags::{ClassAction, Global};
use crate::ui::Ui;

pub async fn run(global: &Global, action: ClassAction) -> Result<()> {
    match action {
        ClassAction::Setup {
            class,
            students,
            ttl,
            jobs,
        } => {
            // Bad input is refused before any call.
            let name = class.class.as_deref().unwrap_or(class::DEFAULT_CLASS);
            let labs = class::student_labs(name, students)?;
            let (room, ui) = connect(global, &class, false, true).await?;
            class::setup(&room, labs, ttl.ttl, jobs.cap(), &ui).await
        }
        ClassAction::Verify { class, json, jobs } => {
            let (room, ui) = connect(global, &class, json.json, false).await?;
            let doc = class::verify(&room, jobs.cap(), &ui).await?;
            if json.json {
                println!("{:#}", serde_json::to_value(&doc)?);
            }
            let failed = doc.students.iter().filter(|s| !s.passed).count();
            if failed > 0 {
                bail!("{failed} of {} students' labs failed verify", doc.students.len());
            }
            Ok(())
        }
        ClassAction::Lesson {
            class,
            name,
            undo,
            jobs,
        } => {
            let (room, ui) = connect(global, &class, false, false).await?;
            class::lesson(&room, name, undo, jobs.cap(), &ui).await
        }
        ClassAction::Challenge {
            class,
            name,
            check,
            jobs,
        } => {
            let (room, ui) = connect(global, &class, false, false).await?;
            class::challenge(&room, name.0, check, jobs.cap(), &ui).await
        }
        ClassAction::Watch { class, watch } => super::watch::run(global, class, watch).await,
        ClassAction::Status { class, json } => {
            let (room, ui) = connect(global, &class, json.json, false).await?;
            let (doc, now) = class::status(&room).await?;
            if json.json {
                println!("{:#}", serde_json::to_value(&doc)?);
            } else {
                print_status(&doc, now, &ui);
            }
            Ok(())
        }
        ClassAction::Trail {
            class,
            student,
            filter,
            json,
        } => {
            let (room, ui) = connect(global, &class, json.json, false).await?;
            trail(&room, student, &filter, json.json, &ui).await
        }
        ClassAction::Cleanup { class, jobs } => {
            let (room, ui) = connect(global, &class, false, false).await?;
            class::cleanup(&room, jobs.cap(), &ui).await
        }
    }
}

/// `class trail`: the class's trails from one reading, as lines or one JSON document.
async fn trail(
    room: &lab_core::fleet::class::Room,
    student: Option<usize>,
    filter: &crate::flags::TrailFilter,
    json: bool,
    ui: &Ui,
) -> Result<()> {
    let options = lab_core::lab::TrailOptions {
        since: i64::try_from(filter.since.as_secs()).unwrap_or(i64::MAX),
        as_profile: None,
        denied: filter.denied,
        all: filter.all,
    };
    let doc = class::trail(room, student, &options).await?;
    if json {
        println!("{:#}", serde_json::to_value(&doc)?);
    } else {
        super::trail::show(ui, lab_core::output::trail::class_trail_lines(&doc));
    }
    Ok(())
}

/// A row per student: user, key age, stack, expiry, lesson, challenge, passed, handout.
fn print_status(doc: &ClassStatusDoc, now: i64, ui: &Ui) {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING).set_header([
        "lab",
        "user",
        "key age",
        "stack",
        "expires",
        "lesson",
        "challenge",
        "passed",
        "handout",
    ]);
    for s in &doc.students {
        table.add_row([
            s.lab.clone(),
            s.user.as_ref().map_or_else(|| "none".to_owned(), |u| u.name.clone()),
            s.key_age_seconds
                .map_or_else(|| "none".to_owned(), lab_core::lab::status::age),
            s.stack
                .as_ref()
                .map_or_else(|| "none".to_owned(), |st| st.status.clone()),
            lab_core::model::expiry::text(s.expires.as_ref().map(|e| e.at.as_str()), now),
            s.lesson.cell(),
            s.challenge.clone().unwrap_or_else(|| "-".to_owned()),
            lab_core::output::challenge::passed_cell(&s.passed),
            (if s.handout { "yes" } else { "gone" }).to_owned(),
        ]);
    }
    for line in table.lines() {
        ui.line(line.trim_end());
    }
}
