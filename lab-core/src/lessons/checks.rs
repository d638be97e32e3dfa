//! What every lesson shares: a check from a request's answer and the documents' prediction (each
//! check names the exact outcome it expects), the diff of a changed policy document, profiles a
//! lesson writes, the session a lesson proves with, and the emulator's clock for the lessons that
//! need time to pass.

use anyhow::{Result, anyhow};
use serde_json::Value as Json;

use crate::aws::error::{aws_error, one_line};
use crate::aws::target::Clients;
use crate::lab::Lab;
use crate::model::decide::{Ask, Caller};
use crate::model::expiry::format_utc;
use crate::ops::sts;
use crate::output::report::Steps;
use crate::output::{Expect, LessonCheck};
use crate::profiles::awsfiles::FileKind;

/// How AWS refuses a request no policy allows.
pub const ACCESS_DENIED: Expect = Expect::Refused("AccessDenied");

/// What a lesson is run with: the lab, where its lines go, and the stack's role.
#[derive(Clone, Copy)]
pub struct Cx<'a> {
    pub lab: &'a Lab,
    pub steps: Steps<'a>,
    pub role_arn: &'a str,
}

impl Cx<'_> {
    /// The name of the stack's role.
    pub fn role(&self) -> &str {
        crate::model::policy::role_name(self.role_arn).unwrap_or(self.role_arn)
    }
}

/// One request of a lesson's check: what it is called, what must come of it, the request's
/// answer, what the documents decide for it (or why no policy decides), and the aws CLI command
/// that makes it.
pub struct Probe<'a, T> {
    pub name: String,
    pub expected: Expect,
    pub call: &'a Result<T>,
    pub ask: Result<Ask, &'static str>,
    pub command: String,
    /// When set, the documents' reason must name it too (a refusal by the lab's expiry must be
    /// the expiry condition's, not another statement's).
    pub because: Option<&'static str>,
}

impl<'a, T> Probe<'a, T> {
    pub fn new(name: impl Into<String>, expected: Expect, call: &'a Result<T>, command: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            expected,
            call,
            ask: Err("no policy decides it"),
            command: command.into(),
            because: None,
        }
    }

    /// The request the documents decide, offline.
    pub fn asking(mut self, ask: Ask) -> Self {
        self.ask = Ok(ask);
        self
    }

    /// No policy decides it: a limit of STS itself, a session's end.
    pub fn limit(mut self, why: &'static str) -> Self {
        self.ask = Err(why);
        self
    }

    pub fn because(mut self, reason: &'static str) -> Self {
        self.because = Some(reason);
        self
    }
}

/// What a call's answer was: `allowed`, or the endpoint's error code and message.
fn seen_of<T>(call: &Result<T>) -> (String, Option<String>, Option<String>) {
    match call {
        Ok(_) => ("allowed".to_owned(), None, None),
        Err(e) => match aws_error(e) {
            Some(ae) => {
                let code = ae.code.clone().unwrap_or_else(|| ae.message.clone());
                (format!("{code}: {}", ae.message), Some(code), Some(ae.message.clone()))
            }
            None => (one_line(e), None, None),
        },
    }
}

/// A check of `probe`'s answer: as expected only when it is exactly the outcome named (allowed,
/// or refused with that error code), and, with `because`, decided for that reason.
pub async fn check<T>(cx: Cx<'_>, probe: Probe<'_, T>) -> Result<LessonCheck> {
    let (seen, code, message) = seen_of(probe.call);
    let mut ok = match &probe.expected {
        Expect::Allowed => probe.call.is_ok(),
        Expect::Refused(wanted) => code.as_deref() == Some(*wanted),
        // A request is never a proof (`proven::exactly` makes those).
        Expect::Proven => false,
    };
    let (decided_by, why, asked) = match probe.ask {
        Ok(ask) => {
            let d = cx.lab.predict(&ask).await?;
            (Some(d.decided_by), Some(d.why), Some(ask))
        }
        Err(why) => (None, Some(why.to_owned()), None),
    };
    if let Some(reason) = probe.because {
        ok = ok && why.as_deref().is_some_and(|w| w.contains(reason));
    }
    let expected_word = probe.expected.word();
    let short = seen.split(':').next().unwrap_or_default().to_owned();
    let because = why.as_deref().map(|w| format!(" · {w}")).unwrap_or_default();
    cx.steps.outcome(
        ok,
        format!("{}: expected {expected_word}, saw {short}{because}", probe.name),
    );
    if let Some(message) = message {
        let who = match cx.lab.target.endpoint.emulator() {
            Some(_) => "the emulator",
            None => "AWS",
        };
        cx.steps.note(format!("  {who} said: {message}"));
    }
    cx.steps.note(format!("  $ {}", probe.command));
    Ok(LessonCheck {
        name: probe.name,
        expected: probe.expected,
        seen,
        ok,
        decided_by,
        why,
        command: probe.command,
        event_id: None,
        asked,
    })
}

/// `call`, asked again while it is still allowed, within the lab's backoff: on AWS a tightened
/// trust or policy takes a moment to arrive. The emulator refuses at once.
pub async fn until_refused<T, Fut>(cx: Cx<'_>, mut call: impl FnMut() -> Fut) -> Result<T>
where
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delays = cx.lab.backoff.delays();
    loop {
        let answer = call().await;
        match (&answer, delays.next()) {
            (Ok(_), Some(delay)) => {
                cx.steps
                    .waiting("the change to reach AWS (IAM propagates; still allowed)");
                tokio::time::sleep(delay).await;
            }
            _ => return answer,
        }
    }
}

/// `call`, asked again while AWS still refuses it (AccessDenied): a new trust or policy takes a
/// moment to be seen, on AWS as on the realistic emulator.
pub async fn until_allowed<T, Fut>(cx: Cx<'_>, call: impl FnMut() -> Fut) -> Result<T>
where
    Fut: std::future::Future<Output = Result<T>>,
{
    crate::aws::retry::retry_codes(
        cx.lab.backoff,
        &["AccessDenied"],
        |w| {
            if let Some(line) = crate::lab::wait_line("IAM to let the lesson's request through", w) {
                cx.steps.waiting(line);
            }
        },
        call,
    )
    .await
}

/// `old` → `new` as the lines of a unified diff (`-`, `+`, ` ` for context), both pretty-printed
/// JSON when they parse.
pub fn diff_lines(old: &str, new: &str) -> Vec<String> {
    let pretty = |text: &str| {
        serde_json::from_str::<Json>(text)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| text.to_owned())
    };
    let (old, new) = (pretty(old), pretty(new));
    let diff = similar::TextDiff::from_lines(&old, &new);
    let mut out = Vec::new();
    for group in diff.grouped_ops(2) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                out.push(format!("{sign} {}", change.value().trim_end()));
            }
        }
    }
    out
}

/// Shows the change of `what` as a diff.
pub fn show_diff(steps: Steps<'_>, what: &str, old: &str, new: &str) {
    steps.plain(format!("{what}:"));
    for line in diff_lines(old, new) {
        steps.plain(format!("    {line}"));
    }
}

/// Puts the inline policy `name` on `role`, showing it as a diff first.
pub async fn put_policy(cx: Cx<'_>, role: &str, name: &str, document: &str) -> Result<()> {
    show_diff(
        cx.steps,
        &format!("a new inline policy {name} on role {role}"),
        "",
        document,
    );
    crate::ops::policies::put_role_policy(&cx.lab.admin.iam, role, name, document).await
}

/// Writes the config profile `profile` that assumes `role_arn` from the lab's user profile, with
/// `extra` settings, and shows its lines. On the emulator it names the endpoint too: the SDKs'
/// and the aws CLI's own AssumeRole must go there.
pub async fn write_role_profile(
    cx: Cx<'_>,
    profile: &str,
    role_arn: &str,
    extra: &[(&str, &str)],
    note: &str,
) -> Result<()> {
    let lab = cx.lab;
    let mut entries = vec![
        ("role_arn", role_arn),
        ("source_profile", lab.names.user_profile.as_str()),
    ];
    entries.extend_from_slice(extra);
    entries.push(("region", lab.admin.region.as_str()));
    if let Some(control) = lab.target.endpoint.emulator() {
        entries.push(("endpoint_url", control.base.as_str()));
    }
    let lines: Vec<String> = std::iter::once(format!("[profile {profile}]"))
        .chain(entries.iter().map(|(k, v)| format!("{k} = {v}")))
        .collect();
    lab.target
        .files
        .write_profile(
            FileKind::Config,
            crate::profiles::awsfiles::Section {
                profile,
                lab: &lab.names.lab,
                notes: vec![note.to_owned()],
                entries,
            },
            lab.force,
        )
        .await?;
    show_diff(
        cx.steps,
        &format!("a new profile in {}", lab.target.files.config.display()),
        "",
        &lines.join("\n"),
    );
    Ok(())
}

/// Removes the lesson profile `profile` from the config file (nothing when it is not there).
pub async fn remove_profile(cx: Cx<'_>, profile: &str) -> Result<()> {
    cx.lab
        .target
        .files
        .remove_profile(FileKind::Config, profile)
        .await
        .map(drop)
}

/// A session of the lab's role, open while a lesson runs.
pub struct Open {
    pub clients: Clients,
    /// `arn:aws:sts::…:assumed-role/…/…`
    pub arn: String,
    /// When it ends (Unix seconds).
    pub ends: i64,
    /// How a learner makes the same requests with it: `--profile assumed`, or the keys in their
    /// shell.
    pub how: String,
}

impl Open {
    pub fn caller(&self) -> Result<Caller> {
        Caller::of_arn(&self.arn).ok_or_else(|| anyhow!("{} is not an assumed-role session", self.arn))
    }
}

/// The session a lesson proves with: the assumed profile's, when it holds one that is still open
/// at `now`; else one assumed for the lesson now, held in memory only (and said so).
pub async fn open_session(cx: Cx<'_>, now: i64) -> Result<Open> {
    let lab = cx.lab;
    let profile = &lab.names.assumed_profile;
    let recorded = crate::lab::recorded_session_end(&lab.target, &lab.names)?;
    if let Some(ends) = recorded.filter(|end| !crate::model::expiry::has_ended(*end, now))
        && let Ok(clients) = lab.profile(profile).await
        && let Ok(identity) = sts::caller_identity(&clients.sts).await
    {
        return Ok(Open {
            clients,
            arn: identity.arn,
            ends,
            how: format!("--profile {profile}"),
        });
    }
    assume_for_lesson(cx, "lesson", None).await
}

/// A session of the lab's role assumed now with the user's key (for `duration` seconds, else the
/// role's hour), held in memory only; the lesson says so.
pub async fn assume_for_lesson(cx: Cx<'_>, session_name: &str, duration: Option<i32>) -> Result<Open> {
    let lab = cx.lab;
    let user = lab.profile(&lab.names.user_profile).await?;
    let creds = until_allowed(cx, || sts::assume_role(&user.sts, cx.role_arn, session_name, duration)).await?;
    let ends = creds.expiration.secs();
    cx.steps.note(format!(
        "assumed a session for this lesson (held in memory, not written), {} until {}",
        creds.assumed_role_arn,
        format_utc(ends)
    ));
    Ok(Open {
        clients: lab.target.session(&creds).await?,
        arn: creds.assumed_role_arn,
        ends,
        how: "# with the session's keys in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN".to_owned(),
    })
}

/// Whether the lab's clock can be moved: on the emulator, for a lesson that needs time to pass.
pub fn clock_moves(cx: Cx<'_>) -> bool {
    cx.lab.target.endpoint.emulator().is_some()
}

/// Moves the emulator's clock forward to `at` (Unix seconds; never back), saying so and `why`.
pub async fn move_clock_to(cx: Cx<'_>, at: i64, why: &str) -> Result<()> {
    if let Some(now) = cx.lab.target.move_clock_to(at).await? {
        cx.steps.note(format!("moved the emulator's clock to {now}, {why}"));
    }
    Ok(())
}

/// Runs `work`, which may move the emulator's clock forward, and puts the clock back where it
/// was, whatever `work` did.
pub async fn keeping_clock<T>(cx: Cx<'_>, work: impl Future<Output = Result<T>>) -> Result<T> {
    let target = &cx.lab.target;
    let was = target.clock_offset().await?;
    let result = work.await;
    if let Some(was) = was {
        target.set_clock_offset(was).await?;
        cx.steps.note("put the emulator's clock back");
    }
    result
}

/// A check no request can make now (a session issued before a revocation cannot be made after
/// it): what the lab's documents decide for `ask`, said so; as expected when they refuse it.
pub async fn offline_check(cx: Cx<'_>, name: String, ask: Ask, command: String) -> Result<LessonCheck> {
    let decided = cx.lab.predict(&ask).await?;
    let ok = decided.decided_by.effect != crate::model::decide::Effect::Allow;
    let seen = format!(
        "not asked (no such request can be made now); the documents decide: {}",
        decided.why
    );
    cx.steps.outcome(
        ok,
        format!(
            "{name}: expected {}, decided offline · {}",
            ACCESS_DENIED.word(),
            decided.why
        ),
    );
    cx.steps.note(format!("  $ {command}"));
    Ok(LessonCheck {
        name,
        expected: ACCESS_DENIED,
        seen,
        ok,
        decided_by: Some(decided.decided_by),
        why: Some(decided.why),
        command,
        event_id: None,
        asked: None,
    })
}
