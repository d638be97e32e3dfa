//! The lessons that change who may assume: `external-id` (the trust requires `sts:ExternalId`,
//! and a profile with `external_id` the aws CLI uses as is) and `role-chaining` (a second role the
//! first role's session may assume, for at most an hour).

use anyhow::{Context, Result, anyhow};
use serde_json::{Value as Json, json};

use super::checks::{check, show_diff, until_refused, write_role_profile};
use crate::lab::Lab;
use crate::model::decide::{Ask, Caller};
use crate::model::names::LAB_TAG_KEY;
use crate::ops::sts::{self, AssumeOptions};
use crate::ops::{iam, policies};
use crate::output::report::Steps;
use crate::output::{Expect, LessonCheck};
use crate::profiles::awsfiles::FileKind;

/// The name of the stack's role, from its ARN.
pub(super) fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

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
pub(super) async fn edit_trust(lab: &Lab, steps: Steps<'_>, role: &str, edit: impl FnOnce(&mut Json)) -> Result<()> {
    let trust = iam::role_trust(&lab.admin.iam, role)
        .await?
        .ok_or_else(|| anyhow!("role {role} is gone; run `cargo xtask setup`"))?;
    let mut doc: Json = serde_json::from_str(&trust).context("the role's trust is not JSON")?;
    let before = serde_json::to_string(&doc)?;
    edit(&mut doc);
    let after = serde_json::to_string(&doc)?;
    if after != before {
        show_diff(steps, &format!("the trust of role {role}"), &before, &after);
        policies::update_trust(&lab.admin.iam, role, &after).await?;
    }
    Ok(())
}

async fn set_external_id(lab: &Lab, steps: Steps<'_>, role: &str, id: Option<&str>) -> Result<()> {
    edit_trust(lab, steps, role, |doc| {
        set_condition(doc, "StringEquals", "sts:ExternalId", id.map(|i| json!(i)))
    })
    .await
}

pub async fn external_id(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<Vec<LessonCheck>> {
    let (role, id) = (role_name(role_arn), partner_id(lab));
    set_external_id(lab, steps, role, Some(&id)).await?;
    let profile = lab.names.external_id_profile();
    let note = "lesson external-id: the role assumed with the ExternalId its trust requires";
    write_role_profile(lab, steps, &profile, role_arn, &[("external_id", id.as_str())], note)?;
    let user = lab.target.profile(&lab.names.user_profile).await?;
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
        let call = match given == Some(id.as_str()) {
            true => assume().await,
            false => until_refused(lab, steps, assume).await,
        };
        let mut ask = Ask::new(&me, "sts:AssumeRole", role_arn);
        if let Some(given) = given {
            ask = ask.with("sts:ExternalId", given);
        }
        let expected = if given == Some(id.as_str()) {
            Expect::Allow
        } else {
            Expect::Deny
        };
        let command = given.map_or_else(|| base.clone(), |g| format!("{base} --external-id {g}"));
        out.push(check(lab, steps, name, expected, &call, Ok(ask), command).await);
    }
    let via_profile = match lab.target.profile(&profile).await {
        Ok(c) => sts::caller_identity(&c.sts).await,
        Err(e) => Err(e),
    };
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn).with("sts:ExternalId", &id);
    let command = format!("aws sts get-caller-identity --profile {profile}");
    out.push(
        check(
            lab,
            steps,
            &format!("profile {profile} assumes the role by itself"),
            Expect::Allow,
            &via_profile,
            Ok(ask),
            command,
        )
        .await,
    );
    Ok(out)
}

pub async fn undo_external_id(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let role_arn = lab.role_arn().await?;
    set_external_id(lab, steps, role_name(&role_arn), None).await?;
    remove_profile(lab, &lab.names.external_id_profile())
}

fn remove_profile(lab: &Lab, profile: &str) -> Result<()> {
    lab.target.files.remove_profile(FileKind::Config, profile).map(drop)
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

/// The lessons' second role, made (or its trust set) for sessions of the stack's role; its ARN.
pub(super) async fn ensure_chained(lab: &Lab, role_arn: &str, steps: Steps<'_>, extra: &[&str]) -> Result<String> {
    let chained = lab.names.chained_role();
    let trust = chained_trust(role_arn, extra);
    // A maximum of two hours, so that it is role chaining, not the role, that caps the session.
    let tags = [(LAB_TAG_KEY, lab.names.lab.as_str())];
    if policies::create_role(&lab.admin.iam, &chained, &trust, 7200, &tags).await? {
        show_diff(
            steps,
            &format!("a new role {chained} (MaxSessionDuration 7200), its trust"),
            "",
            &trust,
        );
    } else {
        policies::update_trust(&lab.admin.iam, &chained, &trust).await?;
    }
    Ok(format!(
        "arn:{}:iam::{}:role/{chained}",
        lab.admin_identity.partition(),
        lab.account()
    ))
}

pub async fn role_chaining(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<Vec<LessonCheck>> {
    let chained_arn = ensure_chained(lab, role_arn, steps, &[]).await?;
    let user = lab.target.profile(&lab.names.user_profile).await?;
    let first = sts::assume_role(&user.sts, role_arn, "first", None).await?;
    let session = lab.target.session(&first).await?;
    let me = Caller::of_arn(&first.assumed_role_arn).ok_or_else(|| anyhow!("no assumed-role ARN"))?;
    let command = |d: i32| {
        format!(
            "aws sts assume-role --profile {} --role-arn {chained_arn} --role-session-name chained --duration-seconds {d}",
            lab.names.assumed_profile
        )
    };
    let mut out = Vec::new();
    // The new trust may take a moment to be seen, on AWS as here.
    let allowed = crate::aws::retry::retry_codes(
        lab.backoff,
        &["AccessDenied"],
        |_| {},
        || sts::assume_role(&session.sts, &chained_arn, "chained", Some(3600)),
    )
    .await;
    let refused = sts::assume_role(&session.sts, &chained_arn, "chained", Some(3601)).await;
    let cap = "STS caps a session made from a session at one hour, whatever the role allows";
    out.push(
        check(
            lab,
            steps,
            "a chained session of 3601 s",
            Expect::Deny,
            &refused,
            Err(cap),
            command(3601),
        )
        .await,
    );
    let ask = Ask::new(&me, "sts:AssumeRole", chained_arn.as_str());
    out.push(
        check(
            lab,
            steps,
            "a chained session of 3600 s",
            Expect::Allow,
            &allowed,
            Ok(ask),
            command(3600),
        )
        .await,
    );
    Ok(out)
}

/// Deletes the lessons' second role, its inline policy first.
pub async fn undo_role_chaining(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let chained = lab.names.chained_role();
    policies::delete_role_policy(&lab.admin.iam, &chained, lab.names.team_policy()).await?;
    if policies::delete_role(&lab.admin.iam, &chained).await? {
        steps.note(format!("deleted role {chained}"));
    }
    Ok(())
}
