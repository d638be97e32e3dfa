//! `cargo xtask lesson [NAME] [--undo]`: the STS ladder. Without a name, the lessons; with one,
//! the lesson applied to the lab and its checks, each ✓ or ✗ with what decided it; exits 1 when
//! a check is not as expected.

use anyhow::{Result, bail};
use lab_core::lessons::{self, Lesson};
use lab_core::output::report::Report;

use crate::flags::{Global, LessonArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: LessonArgs) -> Result<()> {
    let Some(lesson) = args.name else {
        if args.json.json {
            let all = Lesson::all().map(|l| (l.name().to_owned(), l.summary().to_owned()));
            println!("{:#}", lab_core::output::listed_json("lessons", all));
            return Ok(());
        }
        let table = Lesson::all().map(|l| format!("  {:<16} {}", l.name(), l.summary()));
        for line in std::iter::once("the lessons (cargo xtask lesson NAME, then --undo):".to_owned()).chain(table) {
            println!("{line}");
        }
        return Ok(());
    };
    let ui = Ui::new(global.explain, args.json.json);
    let lab = super::connect(global, Default::default(), &ui).await?;
    ui.line(&format!("== lesson {}: {}", lesson.name(), lesson.summary()));
    let doc = if args.undo {
        lessons::undo(&lab, lesson, &ui).await?
    } else {
        lessons::run_with_evidence(&lab, lesson, &ui).await?
    };
    if args.json.json {
        println!("{:#}", serde_json::to_value(&doc)?);
    }
    let failed = doc.checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        bail!(
            "{failed} of {} checks of lesson {} are not as expected",
            doc.checks.len(),
            lesson.name()
        );
    }
    if args.undo {
        ui.outcome(true, &format!("lesson {} taken back", lesson.name()));
    }
    Ok(())
}
