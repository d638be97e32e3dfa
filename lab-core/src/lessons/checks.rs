//! What every lesson shares: a check from a request's answer and the documents' prediction, the
//! diff of a changed policy document, and the emulator's clock for the lessons that need time to
//! pass.

use anyhow::{Result, anyhow};
use serde_json::Value as Json;

use crate::aws::error::{aws_error, one_line};
use crate::lab::Lab;
use crate::model::decide::Ask;
use crate::output::report::Steps;
use crate::output::{Expect, LessonCheck};

/// Codes with which an endpoint refuses a request outright.
const REFUSALS: [&str; 5] = [
    "AccessDenied",
    "AccessDeniedException",
    "ValidationError",
    "ExpiredToken",
    "InvalidClientTokenId",
];

/// A check of `call`'s answer against `expected`, with what the lab's documents decide for `ask`
/// (or `why`, when no policy decides: a limit of STS itself).
pub async fn check<T>(
    lab: &Lab,
    steps: Steps<'_>,
    name: &str,
    expected: Expect,
    call: &Result<T>,
    ask: Result<Ask, &str>,
    command: String,
) -> LessonCheck {
    let (seen, refused) = match call {
        Ok(_) => ("allowed".to_owned(), false),
        Err(e) => match aws_error(e) {
            Some(ae) => {
                let code = ae.code.clone().unwrap_or_else(|| ae.message.clone());
                let refused = REFUSALS.contains(&code.as_str());
                (format!("{code}: {}", ae.message), refused)
            }
            None => (one_line(e), false),
        },
    };
    let ok = match expected {
        Expect::Allow => call.is_ok(),
        Expect::Deny => refused,
    };
    let (decided_by, why) = match ask {
        Ok(ask) => match lab.predict(&ask).await {
            Ok(d) => (Some(d.decided_by), Some(d.why)),
            Err(e) => (None, Some(format!("cannot read the lab's documents: {}", one_line(&e)))),
        },
        Err(why) => (None, Some(why.to_owned())),
    };
    let expected_word = expected.word();
    let short = seen.split(':').next().unwrap_or_default().to_owned();
    let because = why.as_deref().map(|w| format!(" · {w}")).unwrap_or_default();
    steps.outcome(ok, format!("{name}: expected {expected_word}, saw {short}{because}"));
    steps.note(format!("  $ {command}"));
    LessonCheck {
        name: name.to_owned(),
        expected,
        seen,
        ok,
        decided_by,
        why,
        command,
    }
}

/// `call`, asked again while it is still allowed, within the lab's backoff: on AWS a tightened
/// trust or policy takes a moment to arrive. The emulator refuses at once.
pub async fn until_refused<T, Fut>(lab: &Lab, steps: Steps<'_>, mut call: impl FnMut() -> Fut) -> Result<T>
where
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delays = lab.backoff.delays();
    loop {
        let answer = call().await;
        match (&answer, delays.next()) {
            (Ok(_), Some(delay)) => {
                steps.waiting("the change to reach AWS (IAM propagates; still allowed)");
                tokio::time::sleep(delay).await;
            }
            _ => return answer,
        }
    }
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
pub async fn put_policy(lab: &Lab, steps: Steps<'_>, role: &str, name: &str, document: &str) -> Result<()> {
    show_diff(
        steps,
        &format!("a new inline policy {name} on role {role}"),
        "",
        document,
    );
    crate::ops::policies::put_role_policy(&lab.admin.iam, role, name, document).await
}

/// Writes the config profile `profile` that assumes `role_arn` from the lab's user profile, with
/// `extra` settings, and shows its lines. On a custom endpoint (an emulator) it names the endpoint
/// too: the SDKs' and the aws CLI's own AssumeRole must go there.
pub fn write_role_profile(
    lab: &Lab,
    steps: Steps<'_>,
    profile: &str,
    role_arn: &str,
    extra: &[(&str, &str)],
    note: &str,
) -> Result<()> {
    let mut entries = vec![
        ("role_arn", role_arn),
        ("source_profile", lab.names.user_profile.as_str()),
    ];
    entries.extend_from_slice(extra);
    entries.push(("region", lab.admin.region.as_str()));
    if let Some(endpoint) = lab.target.endpoint_url.as_deref() {
        entries.push(("endpoint_url", endpoint));
    }
    let lines: Vec<String> = std::iter::once(format!("[profile {profile}]"))
        .chain(entries.iter().map(|(k, v)| format!("{k} = {v}")))
        .collect();
    lab.target.files.write_profile(
        crate::profiles::awsfiles::FileKind::Config,
        profile,
        &lab.names.lab,
        vec![note.to_owned()],
        entries,
        lab.force,
    )?;
    show_diff(
        steps,
        &format!("a new profile in {}", lab.target.files.config.display()),
        "",
        &lines.join("\n"),
    );
    Ok(())
}

/// The endpoint, when it is a local emulator whose clock the lesson may move.
pub fn emulator_endpoint(lab: &Lab) -> Option<String> {
    let endpoint = lab.admin.endpoint_url.clone()?;
    crate::emulator::clock_at(&endpoint).map(|_| endpoint)
}

/// Moves the emulator's clock forward by `seconds` from where it is now; returns its new time and
/// the offset it had, to put back.
pub fn move_clock(endpoint: &str, seconds: i64) -> Result<(String, f64)> {
    let clock = crate::emulator::clock_at(endpoint).ok_or_else(|| anyhow!("the emulator's clock does not answer"))?;
    let moved = crate::emulator::set_clock_at(endpoint, clock.offset + seconds as f64)?;
    Ok((moved.now, clock.offset))
}

/// Puts the emulator's clock back where it was (`offset`, as `move_clock` found it).
pub fn reset_clock(endpoint: &str, offset: f64) -> Result<()> {
    crate::emulator::set_clock_at(endpoint, offset).map(drop)
}
