//! The lessons that change who may assume: `external-id` (the trust requires `sts:ExternalId`,
//! and a profile with `external_id` the aws CLI uses as is) and `role-chaining` (a second role the
//! first role's session may assume, for at most an hour).

use anyhow::{Context, Result, anyhow};
use serde_json::{Value as Json, json};

use super::checks::{
    self, ACCESS_DENIED, Cx, Probe, check, show_diff, until_allowed, until_refused, write_role_profile,
};
use crate::lab::Lab;
use crate::model::decide::{Ask, Caller};
use crate::model::names::LAB_TAG_KEY;
use crate::ops::sts::{self, AssumeOptions};
use crate::ops::{iam, policies};
use crate::output::{Expect, LessonCheck};

use super::{Applied, Rung};

pub static EXTERNAL_ID: Rung = Rung {
    name: "external-id",
    summary: "the trust requires sts:ExternalId: the confused deputy, and a profile with external_id",
    moves_clock: false,
    changes_lab: true,
    apply: |cx| Box::pin(async move { apply_external_id(cx).await.map(|()| Applied::default()) }),
    prove: |cx, _| Box::pin(prove_external_id(cx)),
    undo: |cx| Box::pin(undo_external_id(cx)),
};

pub static ROLE_CHAINING: Rung = Rung {
    name: "role-chaining",
    summary: "a role assumed from a role's session: DurationSeconds above 3600 is refused",
    moves_clock: false,
    changes_lab: true,
    apply: |cx| Box::pin(async move { apply_role_chaining(cx).await.map(|_| Applied::default()) }),
    prove: |cx, _| Box::pin(prove_role_chaining(cx)),
    undo: |cx| Box::pin(undo_role_chaining(cx)),
};

/// The ExternalId the lesson's trust requires: what a partner would be told, not a secret.
fn partner_id(lab: &Lab) -> String {
    format!("sts-lab-{}-partner", lab.names.lab)
}

/// The Allow statements of a policy document.
fn allows(doc: &mut Json) -> Vec<&mut serde_json::Map<String, Json>> {
    let statements = match doc.get_mut("Statement") {
        Some(Json::Array(all)) => all.iter_mut().collect::<Vec<_>>(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    statements
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Json::as_str) == Some("Allow"))
        .filter_map(Json::as_object_mut)
        .collect()
}

/// Puts (`Some`) or takes out (`None`) the condition `operator` `key` on each Allow.
pub(super) fn set_condition(doc: &mut Json, operator: &str, key: &str, value: Option<Json>) {
    for fields in allows(doc) {
        let condition = fields.entry("Condition").or_insert_with(|| json!({}));
        let Some(operators) = condition.as_object_mut() else {
            continue;
        };
        let keys = operators.entry(operator).or_insert_with(|| json!({}));
        if let Some(keys) = keys.as_object_mut() {
            match &value {
                Some(v) => {
                    keys.insert(key.to_owned(), v.clone());
                }
                None => {
                    keys.remove(key);
                }
            }
        }
        if operators
            .get(operator)
            .and_then(Json::as_object)
            .is_some_and(|k| k.is_empty())
        {
            operators.remove(operator);
        }
        if operators.is_empty() {
            fields.remove("Condition");
        }
    }
}

/// Adds (`true`) or takes out the action `extra` beside `sts:AssumeRole` on each Allow.
pub(super) fn set_action(doc: &mut Json, extra: &str, present: bool) {
    for fields in allows(doc) {
        let mut actions: Vec<String> = match fields.get("Action") {
            Some(Json::String(one)) => vec![one.clone()],
            Some(Json::Array(all)) => all.iter().filter_map(Json::as_str).map(str::to_owned).collect(),
            _ => continue,
        };
        actions.retain(|a| a != extra);
        if present {
            actions.push(extra.to_owned());
        }
        fields.insert(
            "Action".to_owned(),
            if actions.len() == 1 {
                json!(actions[0])
            } else {
                json!(actions)
            },
        );
    }
}

/// Edits the trust of `role` with `edit`, showing the change as a diff.
pub(super) async fn edit_trust(cx: Cx<'_>, role: &str, edit: impl FnOnce(&mut Json)) -> Result<()> {
    let lab = cx.lab;
    let trust = iam::role_trust(&lab.admin.iam, role)
        .await?
        .ok_or_else(|| anyhow!("role {role} is gone; run `{}`", crate::output::command::xtask("setup")))?;
    let mut doc: Json = serde_json::from_str(&trust).context("the role's trust is not JSON")?;
    let before = serde_json::to_string(&doc)?;
    edit(&mut doc);
    let after = serde_json::to_string(&doc)?;
    if after != before {
        show_diff(cx.steps, &format!("the trust of role {role}"), &before, &after);
        policies::update_trust(&lab.admin.iam, role, &after).await?;
    }
    Ok(())
}

async fn set_external_id(cx: Cx<'_>, id: Option<&str>) -> Result<()> {
    edit_trust(cx, cx.role(), |doc| {
        set_condition(doc, "StringEquals", "sts:ExternalId", id.map(|i| json!(i)))
    })
    .await
}

pub async fn apply_external_id(cx: Cx<'_>) -> Result<()> {
    let id = partner_id(cx.lab);
    set_external_id(cx, Some(&id)).await?;
    let profile = cx.lab.names.external_id_profile();
    let note = "lesson external-id: the role assumed with the ExternalId its trust requires";
    write_role_profile(cx, &profile, cx.role_arn, &[("external_id", id.as_str())], note).await
}

pub async fn prove_external_id(cx: Cx<'_>) -> Result<Vec<LessonCheck>> {
    let (lab, role_arn, id) = (cx.lab, cx.role_arn, partner_id(cx.lab));
    let user = lab.profile(&lab.names.user_profile).await?;
    let me = Caller::User(lab.names.user.clone());
    let base = format!(
        "aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name lesson",
        lab.names.user_profile
    );
    let mut out = Vec::new();
    for (name, given) in [
        ("AssumeRole without an ExternalId", None),
        ("AssumeRole with a wrong ExternalId", Some("wrong")),
        ("AssumeRole with the ExternalId", Some(id.as_str())),
    ] {
        let options = AssumeOptions {
            external_id: given.map(str::to_owned),
            ..AssumeOptions::default()
        };
        let assume = || sts::assume_role_with(&user.sts, role_arn, "lesson", &options);
        let right = given == Some(id.as_str());
        let call = match right {
            true => until_allowed(cx, assume).await,
            false => until_refused(cx, assume).await,
        };
        let mut ask = Ask::new(&me, "sts:AssumeRole", role_arn);
        if let Some(given) = given {
            ask = ask.with("sts:ExternalId", given);
        }
        let expected = if right { Expect::Allowed } else { ACCESS_DENIED };
        let command = given.map_or_else(|| base.clone(), |g| format!("{base} --external-id {g}"));
        out.push(check(cx, Probe::new(name, expected, &call, command).asking(ask)).await?);
    }
    let profile = lab.names.external_id_profile();
    let via_profile = match lab.profile(&profile).await {
        Ok(c) => sts::caller_identity(&c.sts).await,
        Err(e) => Err(e),
    };
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn).with("sts:ExternalId", &id);
    let command = format!("aws sts get-caller-identity --profile {profile}");
    let name = format!("profile {profile} assumes the role by itself");
    out.push(check(cx, Probe::new(name, Expect::Allowed, &via_profile, command).asking(ask)).await?);
    Ok(out)
}

pub async fn undo_external_id(cx: Cx<'_>) -> Result<()> {
    set_external_id(cx, None).await?;
    checks::remove_profile(cx, &cx.lab.names.external_id_profile()).await
}

/// The chained role's trust: the stack's role (its sessions) may assume it, with `extra` actions
/// (sts:TagSession, sts:SetSourceIdentity) beside sts:AssumeRole.
fn chained_trust(role_arn: &str, extra: &[&str]) -> String {
    let mut actions = vec!["sts:AssumeRole"];
    actions.extend_from_slice(extra);
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "TheLabRolesSessions", "Effect": "Allow",
        "Principal": {"AWS": role_arn}, "Action": actions}]})
    .to_string()
}

/// The ARN of the lessons' second role.
pub(super) fn chained_arn(lab: &Lab) -> String {
    lab.iam_arn("role", &lab.names.chained_role())
}

/// The lessons' second role, made (or its trust set) for sessions of the stack's role; its ARN.
pub(super) async fn ensure_chained(cx: Cx<'_>, extra: &[&str]) -> Result<String> {
    let lab = cx.lab;
    let chained = lab.names.chained_role();
    let trust = chained_trust(cx.role_arn, extra);
    // A maximum of two hours, so that it is role chaining, not the role, that caps the session.
    let tags = [(LAB_TAG_KEY, lab.names.lab.as_str())];
    if policies::create_role(&lab.admin.iam, &chained, &trust, 7200, &tags).await? {
        show_diff(
            cx.steps,
            &format!("a new role {chained} (MaxSessionDuration 7200), its trust"),
            "",
            &trust,
        );
    } else {
        policies::update_trust(&lab.admin.iam, &chained, &trust).await?;
    }
    Ok(chained_arn(lab))
}

pub async fn apply_role_chaining(cx: Cx<'_>) -> Result<String> {
    ensure_chained(cx, &[]).await
}

pub async fn prove_role_chaining(cx: Cx<'_>) -> Result<Vec<LessonCheck>> {
    let lab = cx.lab;
    let chained_arn = chained_arn(lab);
    let first = checks::assume_for_lesson(cx, "first", None).await?;
    let me = first.caller()?;
    let command = |d: i32| {
        format!(
            "aws sts assume-role --role-arn {chained_arn} --role-session-name chained --duration-seconds {d}  {}",
            first.how
        )
    };
    // The new trust may take a moment to be seen, on AWS as here.
    let allowed = until_allowed(cx, || {
        sts::assume_role(&first.clients.sts, &chained_arn, "chained", Some(3600))
    })
    .await;
    let refused = sts::assume_role(&first.clients.sts, &chained_arn, "chained", Some(3601)).await;
    let cap = "STS caps a session made from a session at one hour, whatever the role allows";
    let long = Probe::new(
        "a chained session of 3601 s",
        Expect::Refused("ValidationError"),
        &refused,
        command(3601),
    )
    .limit(cap);
    let ask = Ask::new(&me, "sts:AssumeRole", chained_arn.as_str());
    let hour = Probe::new("a chained session of 3600 s", Expect::Allowed, &allowed, command(3600)).asking(ask);
    Ok(vec![check(cx, long).await?, check(cx, hour).await?])
}

/// Deletes the lessons' second role, its inline policies first.
pub async fn undo_role_chaining(cx: Cx<'_>) -> Result<()> {
    let lab = cx.lab;
    let chained = lab.names.chained_role();
    for policy in policies::role_policy_names(&lab.admin.iam, &chained).await? {
        policies::delete_role_policy(&lab.admin.iam, &chained, &policy).await?;
    }
    if policies::delete_role(&lab.admin.iam, &chained).await? {
        cx.steps.note(format!("deleted role {chained}"));
    }
    Ok(())
}
