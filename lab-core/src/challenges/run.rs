//! A challenge on a lab: set (the starting state written, the goal and the commands to read it
//! told), checked (the documents as they are now proven against the goal offline, each miss a
//! counterexample, then a sample asked of the endpoint), reset, given up (one least-privilege answer
//! written and shown as a diff). The user's tags record the challenge set and each one passed.

use anyhow::{Context, Result, bail};
use serde_json::Value as Json;

use super::grade;
use super::reading::LabDocuments;
use super::{Case, Challenge, Scene, State, confirm, proof, state};
use crate::lab::Lab;
use crate::lab::progress::record_passed;
use crate::model::expiry::format_utc;
use crate::model::names::CHALLENGE_ROLE_POLICY;
use crate::model::prove::{self, Counterexample};
use crate::output::challenge::{ChallengeAction, ChallengeDoc, MissDoc};
use crate::output::report::{Report, Steps};

/// The challenge set on the lab, and when it was set (Unix seconds).
pub async fn challenge_of(lab: &Lab) -> Result<Option<(&'static Challenge, i64)>> {
    Ok(state::recorded(lab)
        .await?
        .and_then(|(name, at)| super::named(&name).ok().map(|c| (c, at))))
}

fn doc(ch: &Challenge, lab: &Lab, action: ChallengeAction, scene: &Scene) -> ChallengeDoc {
    ChallengeDoc {
        challenge: ch.name.to_owned(),
        lab: lab.names.lab.clone(),
        action,
        goal: ch.goal(scene),
        started: format_utc(scene.started),
        requests: 0,
        actions: 0,
        outside: Vec::new(),
        passed: None,
        refused_by_iam: None,
        misses: Vec::new(),
        confirmed: Vec::new(),
        diff: Vec::new(),
        commands: Vec::new(),
        hint: None,
    }
}

/// The aws CLI commands that read the challenge role as the learner (the lab's user) may, and
/// that change it (for a session policy: that use it).
fn commands(ch: &Challenge, lab: &Lab, scene: &Scene) -> Vec<String> {
    let (role, profile) = (&scene.role, &lab.names.user_profile);
    let mut out = vec![format!(
        "aws iam get-role --role-name {role} --query Role.AssumeRolePolicyDocument --profile {profile}"
    )];
    let start = ch.start(scene);
    if start.role_policy.is_some() {
        out.push(format!(
            "aws iam get-role-policy --role-name {role} --policy-name {CHALLENGE_ROLE_POLICY} --profile {profile}"
        ));
    }
    if ch.session_policy {
        out.push(format!(
            "aws sts assume-role --role-arn {} --role-session-name reader --policy file://read-one.json --profile {profile}",
            scene.role_arn
        ));
        out.push(
            crate::output::command::xtask(format!("challenge {} --check --policy read-one.json", ch.name)).to_string(),
        );
        return out;
    }
    if start.role_policy.is_some() {
        out.push(format!(
            "aws iam put-role-policy --role-name {role} --policy-name {CHALLENGE_ROLE_POLICY} --policy-document file://policy.json --profile {profile}"
        ));
    }
    out.push(format!(
        "aws iam update-assume-role-policy --role-name {role} --policy-document file://trust.json --profile {profile}"
    ));
    out.push(crate::output::command::xtask(format!("challenge {} --check", ch.name)).to_string());
    out
}

/// Tells the goal and the commands.
fn tell(steps: Steps<'_>, doc: &ChallengeDoc) {
    steps.plain(format!("goal: {}", doc.goal));
    steps.plain("read what is there, change it as the lab's user, then check:");
    for c in &doc.commands {
        steps.plain(format!("    $ {c}"));
    }
}

/// `challenge NAME`: sets its starting state, unless it is set already (the learner's work is
/// kept: `--reset` starts again); tells the goal.
pub async fn set(lab: &Lab, ch: &'static Challenge, report: &dyn Report) -> Result<ChallengeDoc> {
    match challenge_of(lab).await? {
        Some((set, started)) if set.name == ch.name => {
            let scene = state::scene(lab, Some(started)).await?;
            let mut doc = doc(ch, lab, ChallengeAction::Set, &scene);
            doc.commands = commands(ch, lab, &scene);
            Steps::new(report).note(format!(
                "challenge {} is set on lab {} since {}: your changes are kept (--reset starts again)",
                ch.name, lab.names.lab, doc.started
            ));
            tell(Steps::new(report), &doc);
            Ok(doc)
        }
        other => {
            if let Some((was, _)) = other {
                Steps::new(report).note(format!("challenge {} makes way for {}", was.name, ch.name));
            }
            reset(lab, ch, report).await.map(|mut d| {
                d.action = ChallengeAction::Set;
                d
            })
        }
    }
}

/// `challenge NAME --reset`: the starting state written again, the challenge set from now.
pub async fn reset(lab: &Lab, ch: &'static Challenge, report: &dyn Report) -> Result<ChallengeDoc> {
    let steps = Steps::new(report);
    let scene = state::scene(lab, None).await?;
    state::write(lab, &scene, &ch.start(&scene), steps).await?;
    state::record_set(lab, ch.name, scene.started).await?;
    let mut doc = doc(ch, lab, ChallengeAction::Reset, &scene);
    doc.commands = commands(ch, lab, &scene);
    tell(steps, &doc);
    Ok(doc)
}

/// The scene of `ch`, which must be the challenge set on the lab.
async fn set_scene(lab: &Lab, ch: &Challenge) -> Result<Scene> {
    match challenge_of(lab).await? {
        Some((set, started)) if set.name == ch.name => state::scene(lab, Some(started)).await,
        Some((set, _)) => bail!(
            "challenge {} is set on lab {}, not {}; run `{}` first",
            set.name,
            lab.names.lab,
            ch.name,
            crate::output::command::xtask(format!("challenge {}", ch.name))
        ),
        None => bail!(
            "no challenge is set on lab {}; run `{}` first",
            lab.names.lab,
            crate::output::command::xtask(format!("challenge {}", ch.name))
        ),
    }
}

/// `challenge NAME --show`: the goal and the commands again, nothing written.
pub async fn show(lab: &Lab, ch: &'static Challenge, report: &dyn Report) -> Result<ChallengeDoc> {
    let scene = set_scene(lab, ch).await?;
    let mut doc = doc(ch, lab, ChallengeAction::Set, &scene);
    doc.commands = commands(ch, lab, &scene);
    doc.hint = Some(ch.hint.to_owned());
    tell(Steps::new(report), &doc);
    Steps::new(report).plain(format!("hint: {}", ch.hint));
    Ok(doc)
}

/// The learner's session policy: JSON, and only for a challenge that asks for one.
fn session_policy(ch: &Challenge, policy: Option<&str>) -> Result<Option<Json>> {
    match (ch.session_policy, policy) {
        (true, None) => bail!(
            "challenge {} grades a session policy: pass the file you wrote, `--check --policy read-one.json`",
            ch.name
        ),
        (false, Some(_)) => bail!(
            "challenge {} grades the role as it is; --policy is for challenge session-policy",
            ch.name
        ),
        (true, Some(text)) => serde_json::from_str(text)
            .map(Some)
            .context("the session policy is not JSON; IAM would refuse it too (MalformedPolicyDocument)"),
        (false, None) => Ok(None),
    }
}

/// What IAM says of the session policy: None when it takes it (a session opens with it).
async fn iam_refusal(lab: &Lab, scene: &Scene, policy: &Json, steps: Steps<'_>) -> Result<Option<String>> {
    if let Some(problem) = crate::model::decide::grammar::problem(&policy.to_string()) {
        return Ok(Some(format!(
            "MalformedPolicyDocument: {problem} (IAM refuses such a document)"
        )));
    }
    match confirm::open(lab, scene, Some(&policy.to_string()), steps).await {
        Ok(_) => Ok(None),
        Err(e) => match confirm::refused_document(&e) {
            Some(refusal) => Ok(Some(refusal)),
            None => Err(e),
        },
    }
}

/// `challenge NAME --check`: the documents proven against the goal over its whole universe,
/// each miss a counterexample decided again by the evaluator and asked of the endpoint where it
/// can be; when the proof holds, the sample asked of the endpoint; a pass recorded on the user.
pub async fn check(
    lab: &Lab,
    ch: &'static Challenge,
    policy: Option<&str>,
    report: &dyn Report,
) -> Result<ChallengeDoc> {
    let steps = Steps::new(report);
    let scene = set_scene(lab, ch).await?;
    let policy = session_policy(ch, policy)?;
    let mut doc = doc(ch, lab, ChallengeAction::Check, &scene);
    if let Some(p) = &policy
        && let Some(refusal) = iam_refusal(lab, &scene, p, steps).await?
    {
        doc.refused_by_iam = Some(refusal);
        doc.passed = Some(false);
        return Ok(doc);
    }
    let buckets = ch.start(&scene).buckets;
    let documents = LabDocuments::read(lab, &scene, policy.as_ref(), &buckets).await?;
    let question = proof::question(&scene, &ch.spec(&scene), &buckets, &documents);
    let proven = prove::prove(&question)?;
    doc.requests = proven.classes;
    doc.actions = proven.actions;
    doc.outside = proven.outside.clone();
    let ground = grade::ground(&scene, ch.name, Some(question));
    for cx in &proven.misses {
        let graded = grade::counterexample(cx, &ground)?;
        let mut miss = miss(cx, graded);
        miss.endpoint = confirm::counterexample(lab, &scene, cx, policy.as_ref(), steps).await?;
        doc.misses.push(miss);
    }
    if doc.misses.is_empty() && doc.outside.is_empty() {
        steps.note(format!(
            "proven offline over {} classes of requests; asking a sample of the endpoint",
            proven.classes
        ));
        let cases = ch.space(&scene, policy.as_ref());
        let sample: Vec<&Case> = cases.iter().collect();
        let text = policy.as_ref().map(Json::to_string);
        doc.confirmed = confirm::confirm(lab, &scene, &sample, text.as_deref(), steps).await?;
    }
    let passed = doc.misses.is_empty() && doc.outside.is_empty() && doc.confirmed.iter().all(|c| c.agrees);
    doc.passed = Some(passed);
    if passed {
        record_passed(lab, "challenge", ch.name, lab.now().await?).await?;
    }
    Ok(doc)
}

/// A counterexample as the learner reads it.
fn miss(cx: &Counterexample, graded: grade::Graded) -> MissDoc {
    let with = crate::model::decide::carried_text(cx.carried.iter()) + &prove::without_text(&cx.without);
    MissDoc {
        request: format!("{}: {} on {}{with}", cx.who, cx.action, cx.resource),
        verdict: graded.verdict,
        principal: cx.principal.clone(),
        action: cx.action.clone(),
        resource: cx.resource.clone(),
        context: cx.carried.clone(),
        expected: grade::target_of(cx.miss),
        decided_by: graded.decision.decided_by,
        why: graded.decision.why,
        change: graded.change,
        advice: graded.advice,
        alike: cx.alike.clone(),
        endpoint: None,
    }
}

/// `challenge NAME --giveup`: one least-privilege answer written, shown as a diff of what was
/// there (a session policy is shown, for the learner to keep in a file).
pub async fn giveup(lab: &Lab, ch: &'static Challenge, report: &dyn Report) -> Result<ChallengeDoc> {
    let steps = Steps::new(report);
    let scene = set_scene(lab, ch).await?;
    let answer: State = ch.answer(&scene);
    let (trust, policy) = state::read(lab, &scene).await?;
    let mut doc = doc(ch, lab, ChallengeAction::Giveup, &scene);
    let pretty = |j: &Json| serde_json::to_string_pretty(j).unwrap_or_default();
    let mut diff = |what: String, old: &str, new: &str| {
        let lines = crate::lessons::diff_lines(old, new);
        if lines.iter().any(|l| !l.starts_with(' ')) {
            steps.plain(format!("{what}:"));
            for line in &lines {
                steps.plain(format!("    {line}"));
            }
            doc.diff.push(format!("{what}:"));
            doc.diff.extend(lines);
        }
    };
    diff(
        format!("the trust of role {}", scene.role),
        trust.as_deref().unwrap_or(""),
        &answer.trust.to_string(),
    );
    let new_policy = answer.role_policy.as_ref().map(Json::to_string).unwrap_or_default();
    diff(
        format!("policy {CHALLENGE_ROLE_POLICY} of role {}", scene.role),
        policy.as_deref().unwrap_or(""),
        &new_policy,
    );
    if let Some(session) = &answer.session_policy {
        diff(
            "the session policy (keep it as read-one.json)".to_owned(),
            "",
            &pretty(session),
        );
    }
    state::write(lab, &scene, &answer, steps).await?;
    doc.commands = commands(ch, lab, &scene);
    Ok(doc)
}
