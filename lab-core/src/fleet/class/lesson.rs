//! `class lesson NAME [--undo]`: a lesson applied to every student's lab, JOBS at a time, its
//! checks run for each, and its page (`lesson-NAME.md`: the idea, the checks with what decided
//! them and the aws CLI commands, the lab as a diagram) added to each handout.

use anyhow::{Context, Result, bail};

use super::{Jobs, Room, for_each_student};
use crate::lessons::{self, Lesson};
use crate::output::LessonDoc;
use crate::output::report::{Captured, Report};

/// The page of `lesson` in a handout.
pub fn page_name(lesson: Lesson) -> String {
    format!("lesson-{}.md", lesson.name())
}

/// What a lesson page says of where it runs.
struct PageOf<'a> {
    role_arn: &'a str,
    region: &'a str,
    /// The emulator's address, when the class runs on one.
    endpoint: Option<&'a str>,
}

/// `command` with `--region`, before its trailing comment: a shell's `AWS_REGION` would
/// otherwise win over the handout's file.
fn with_region(command: &str, region: &str) -> String {
    if !command.starts_with("aws ") || command.contains("--region") {
        return command.to_owned();
    }
    match command.split_once("  #") {
        Some((cmd, note)) => format!("{} --region {region}  #{note}", cmd.trim_end()),
        None => format!("{command} --region {region}"),
    }
}

/// How a student loads the keys the lesson's commands use: their handout's files, and a
/// session's keys into the shell where a command says "with the session's keys".
fn loading(of: &PageOf<'_>, lesson: Lesson) -> Vec<String> {
    let mut out = vec![
        "Before the commands, in your handout folder (on your own machine, wherever you put it):".to_owned(),
        String::new(),
        "```sh".to_owned(),
        format!(
            "export AWS_SHARED_CREDENTIALS_FILE=\"$PWD/credentials\" AWS_CONFIG_FILE=\"$PWD/config\" AWS_REGION={}",
            of.region
        ),
    ];
    if let Some(endpoint) = of.endpoint {
        out.push(format!(
            "export AWS_ENDPOINT_URL={endpoint}   # the class's emulator: this address works on the instructor's machine only"
        ));
    }
    out.push(
        "# where a command says \"with the session's keys\": a session of your role, its keys in this shell".to_owned(),
    );
    out.push(format!(
        "eval \"$(aws sts assume-role --profile sts --role-arn {} --role-session-name me --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text | awk '{{print \"export AWS_ACCESS_KEY_ID=\"$1\" AWS_SECRET_ACCESS_KEY=\"$2\" AWS_SESSION_TOKEN=\"$3}}')\"",
        of.role_arn
    ));
    if lesson.name() == "mfa" {
        out.push("# a code of your MFA device, from its seed in mfa-seed (keep it to yourself), as an authenticator app shows it".to_owned());
        out.push("python3 -c 'import base64,hmac,struct,time;k=base64.b32decode(open(\"mfa-seed\").read().strip());h=hmac.new(k,struct.pack(\">Q\",int(time.time())//30),\"sha1\").digest();o=h[-1]&15;print(\"%06d\"%((struct.unpack(\">I\",h[o:o+4])[0]&0x7fffffff)%10**6))'".to_owned());
    }
    out.push("```".to_owned());
    out.push(String::new());
    out
}

fn page(lesson: Lesson, doc: &LessonDoc, of: &PageOf<'_>, diagram: &str) -> String {
    let mut out = vec![
        format!("# Lesson {}", lesson.name()),
        String::new(),
        format!("{}.", lesson.summary()),
        String::new(),
        "| check | expected | seen | why |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    for c in &doc.checks {
        let seen = c.seen.split(':').next().unwrap_or_default();
        let expected = c.expected.word();
        out.push(format!(
            "| {} | {expected} | {seen} | {} |",
            c.name,
            c.why.as_deref().unwrap_or("")
        ));
    }
    out.push(String::new());
    out.push("Try it by hand.".to_owned());
    out.extend(loading(of, lesson));
    out.push("```sh".to_owned());
    out.extend(doc.checks.iter().map(|c| with_region(&c.command, of.region)));
    out.push("```".to_owned());
    out.push(String::new());
    out.push("Your lab:".to_owned());
    out.push(String::new());
    out.push(diagram.to_owned());
    out.join("\n") + "\n"
}

async fn one(room: &Room, lab: &str, region: Option<&str>, lesson: Lesson, undo: bool) -> Result<String> {
    let student = room.student(lab, region)?;
    // One lesson at a time: lessons share the second role, and several change the same trust.
    if let Some(other) = lessons::applied(&student).await?
        && other != lesson
        && !undo
    {
        bail!(
            "lesson {} is applied; run `{}` first",
            other.name(),
            crate::output::command::xtask(format!("class lesson {} --undo", other.name()))
        );
    }
    let quiet = Captured::default();
    let path = room.handout(lab).join(page_name(lesson));
    if undo {
        lessons::undo(&student, lesson, &quiet).await?;
        let _ = tokio::fs::remove_file(&path).await;
        return Ok(format!("{lab}: lesson {} taken back", lesson.name()));
    }
    let doc = lessons::run(&student, lesson, &quiet).await?;
    let diagram = crate::lab::diagram(&student).await?;
    let role_arn = student.role_arn().await?;
    let of = PageOf {
        role_arn: &role_arn,
        region: &student.admin.region,
        endpoint: student.target.endpoint.emulator().map(|c| c.base.as_str()),
    };
    tokio::fs::write(&path, page(lesson, &doc, &of, &diagram))
        .await
        .with_context(|| format!("cannot write {}", path.display()))?;
    let failed = doc.checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        bail!("{failed} of {} checks not as expected", doc.checks.len());
    }
    Ok(format!(
        "{lab}: lesson {}, {} checks as expected; page {}",
        lesson.name(),
        doc.checks.len(),
        path.display()
    ))
}

/// Applies `lesson` (or takes it back) for every student, with a line each as it finishes.
pub async fn lesson(room: &Room, lesson: Lesson, undo: bool, jobs: Jobs, report: &dyn Report) -> Result<()> {
    // A lesson that moves the emulator's clock moves it for every lab: one at a time.
    let jobs = if lesson.moves_clock() { Some(1) } else { jobs };
    let (failed, of) = for_each_student(room, jobs, report, |lab, region| async move {
        one(room, &lab, region.as_deref(), lesson, undo).await
    })
    .await?;
    if failed > 0 {
        bail!("lesson {} failed for {failed} of {} students", lesson.name(), of);
    }
    Ok(())
}
