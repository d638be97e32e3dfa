//! `class challenge NAME [--check]`: every student gets the same challenge (its starting state on
//! their lab, and its page, `challenge-NAME.md`, in their handout: the goal and the aws CLI
//! commands, as their `sts` profile runs them); `--check` grades each student's lab and records
//! each pass on the student's user, as `class status` shows it.

use anyhow::{Context, Result, bail};

use super::{Jobs, Room, for_each_student};
use crate::challenges::{self, Challenge};
use crate::output::challenge::{ChallengeDoc, check_lines};
use crate::output::report::{Captured, Report};

/// The file a student keeps their session policy in, in their handout folder (challenge
/// session-policy): `class challenge session-policy --check` grades it.
pub const SESSION_POLICY_FILE: &str = "read-one.json";

fn page(ch: &Challenge, doc: &ChallengeDoc) -> String {
    let mut out = vec![
        format!("# Challenge {}", ch.name),
        String::new(),
        doc.goal.clone(),
        String::new(),
        "Read what is there, change it with your `sts` profile, and tell your instructor:".to_owned(),
        String::new(),
        "```sh".to_owned(),
    ];
    out.extend(doc.commands.iter().filter(|c| c.starts_with("aws ")).cloned());
    out.push("```".to_owned());
    if ch.session_policy {
        out.push(String::new());
        out.push(format!(
            "Keep your session policy as `{SESSION_POLICY_FILE}` in this folder: the instructor's check reads it there."
        ));
    }
    out.push(String::new());
    out.push(format!("Hint, if you need one: {}", ch.hint));
    out.join("\n") + "\n"
}

async fn one(room: &Room, lab: &str, region: Option<&str>, ch: &'static Challenge, check: bool) -> Result<String> {
    let student = room.student(lab, region)?;
    let quiet = Captured::default();
    if !check {
        let doc = challenges::set(&student, ch, &quiet).await?;
        let path = room.handout(lab).join(format!("challenge-{}.md", ch.name));
        tokio::fs::write(&path, page(ch, &doc))
            .await
            .with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(format!("{lab}: challenge {} set; page {}", ch.name, path.display()));
    }
    let policy = match ch.session_policy {
        true => {
            let path = room.handout(lab).join(SESSION_POLICY_FILE);
            Some(
                tokio::fs::read_to_string(&path)
                    .await
                    .with_context(|| format!("no session policy at {}", path.display()))?,
            )
        }
        false => None,
    };
    let doc = challenges::check(&student, ch, policy.as_deref(), &quiet).await?;
    if doc.passed != Some(true) {
        let first = check_lines(&doc).into_iter().next().unwrap_or_default();
        bail!("not yet: {first}");
    }
    Ok(format!("{lab}: challenge {} passed", ch.name))
}

/// Sets `ch` on every student's lab, or (`check`) grades each, with a line each as it finishes.
pub async fn challenge(
    room: &Room,
    ch: &'static Challenge,
    check: bool,
    jobs: Jobs,
    report: &dyn Report,
) -> Result<()> {
    let (failed, of) = for_each_student(room, jobs, report, |lab, region| async move {
        one(room, &lab, region.as_deref(), ch, check).await
    })
    .await?;
    if failed > 0 {
        let what = if check { "has not passed" } else { "could not be set" };
        bail!("challenge {} {what} for {failed} of {} students", ch.name, of);
    }
    Ok(())
}
