//! What exists of a lab now (`status`), and what `setup` or `cleanup` would do (`--dry-run`):
//! read-only calls, then pure rendering as lines or JSON.

use anyhow::Result;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::Value;

use crate::lab::{self, Inventory, Lab, time_left};
use crate::model::names::LabNames;
use crate::model::secret::mask_key_id;
use crate::output;
use crate::profiles::awsfiles::FileKind;

/// The lab as it is, with the assumed session's expiry.
#[derive(Debug, Clone)]
pub struct Status {
    pub lab: String,
    pub account: String,
    pub inventory: Inventory,
    /// When the assumed profile's session ends (as `assume` recorded it).
    pub assumed_expires: Option<DateTime>,
    pub credentials_file: String,
    pub now: i64,
}

pub async fn status(lab: &Lab) -> Result<Status> {
    let inventory = lab::inventory(lab).await?;
    let assumed_expires = lab
        .target
        .files
        .read_profile(FileKind::Credentials, &lab.names.assumed_profile)?
        .filter(|p| p.owned)
        .and_then(|p| {
            p.note("expires")
                .and_then(|at| DateTime::from_str(at, Format::DateTime).ok())
        });
    Ok(Status {
        lab: lab.names.lab.clone(),
        account: lab.account().to_owned(),
        inventory,
        assumed_expires,
        credentials_file: lab.target.files.credentials.display().to_string(),
        now: lab.now().await?,
    })
}

/// "3 min", "2 h", "5 d".
pub fn age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86400),
    }
}

/// The status as aligned lines for a person.
pub fn status_lines(st: &Status, names: &LabNames) -> Vec<String> {
    let inv = &st.inventory;
    let row = |what: &str, value: String| format!("  {what:<13} {value}");
    let mut out = vec![format!("lab {} in account {}", st.lab, st.account)];
    out.push(row(
        "IAM user",
        inv.user.as_ref().map_or_else(none, |u| {
            format!(
                "{} (tag sts-lab={})",
                names.user,
                u.lab_tag.as_deref().unwrap_or("none")
            )
        }),
    ));
    if inv.access_keys.is_empty() {
        out.push(row("access key", none()));
    }
    for k in &inv.access_keys {
        let created = k
            .create_date
            .map(|d| format!(", created {} ago", age(st.now - d.secs())))
            .unwrap_or_default();
        out.push(row(
            "access key",
            format!("{} {}{created}", mask_key_id(&k.access_key_id), k.status),
        ));
    }
    out.push(row("user policy", listed(&inv.user_policies)));
    out.push(row(
        "stack",
        inv.stack
            .as_ref()
            .map_or_else(none, |s| format!("{} {}", names.stack, s.status)),
    ));
    out.push(row("role", listed(&inv.roles)));
    out.push(row("buckets", listed(&inv.buckets)));
    if !inv.lesson.is_empty() {
        out.push(row("lessons", listed(&inv.lesson.lines())));
    }
    out.push(row("profiles", listed(&inv.profiles)));
    if inv.profiles_without_lab() {
        out.push(row(
            "note",
            format!(
                "these profiles name lab {}, which the endpoint no longer has (an emulator restarted?); `{}` removes them",
                st.lab,
                crate::output::command::xtask("cleanup")
            ),
        ));
    }
    out.push(row("expires", crate::model::expiry::text(inv.expires(), st.now)));
    out.push(row(
        "session",
        st.assumed_expires.map_or_else(
            || format!("no session in profile [{}]", names.assumed_profile),
            |at| format!("profile [{}]: {}", names.assumed_profile, time_left(&at, st.now)),
        ),
    ));
    out
}

fn none() -> String {
    "none".to_owned()
}

/// `a, b, c`, or `none`.
fn listed<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        none()
    } else {
        items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// The status as one JSON document.
pub fn status_json(st: &Status, names: &LabNames) -> Value {
    serde_json::to_value(status_doc(st, names)).unwrap_or(Value::Null)
}

/// The status's typed view.
pub fn status_doc(st: &Status, names: &LabNames) -> output::StatusDoc {
    let inv = &st.inventory;
    output::StatusDoc {
        lab: st.lab.clone(),
        account: st.account.clone(),
        user: inv.user.as_ref().map(|u| output::User {
            name: names.user.clone(),
            lab_tag: u.lab_tag.clone(),
        }),
        access_keys: inv
            .access_keys
            .iter()
            .map(|k| output::AccessKey {
                id: mask_key_id(&k.access_key_id),
                status: k.status.as_str().to_owned(),
                age_seconds: k.create_date.map(|d| st.now - d.secs()),
            })
            .collect(),
        user_policies: inv.user_policies.clone(),
        stack: inv.stack.as_ref().map(|s| output::Stack {
            name: names.stack.clone(),
            status: s.status.as_str().to_owned(),
        }),
        roles: inv.roles.clone(),
        buckets: inv.buckets.iter().map(|b| b.name.clone()).collect(),
        bucket_regions: inv.buckets.iter().map(|b| (b.name.clone(), b.region.clone())).collect(),
        profiles: inv.profiles.clone(),
        lesson: inv.lesson.clone(),
        profiles_without_lab: inv.profiles_without_lab(),
        credentials_file: st.credentials_file.clone(),
        expires: inv.expires().map(|at| output::Expiry::new(at, st.now)),
        assumed_session: st.assumed_expires.and_then(|at| {
            Some(output::Session {
                profile: names.assumed_profile.clone(),
                expires: output::Expiry::new(&at.fmt(Format::DateTime).ok()?, st.now),
            })
        }),
        empty: inv.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::plan::Change;
    use crate::ops::cfn::StackInfo;
    use crate::ops::iam::{AccessKeyInfo, UserInfo};

    fn sample() -> (Status, LabNames) {
        let names = LabNames::new(None).unwrap();
        let inventory = Inventory {
            user: Some(UserInfo {
                arn: "arn:aws:iam::123456789012:user/sts-machine-user".into(),
                lab_tag: Some("default".into()),
                tags: vec![
                    ("sts-lab".into(), "default".into()),
                    ("sts-lab-expires".into(), "1970-01-01T10:00:00Z".into()),
                ],
                ..UserInfo::default()
            }),
            access_keys: vec![AccessKeyInfo {
                access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                status: "Active".into(),
                create_date: Some(DateTime::from_secs(10_000 - 180)),
            }],
            user_policies: vec!["StsAssumePolicy".into()],
            stack: Some(StackInfo {
                status: aws_sdk_cloudformation::types::StackStatus::CreateComplete,
                reason: None,
                outputs: vec![],
                lab_tag: Some("default".into()),
                tags: vec![],
            }),
            roles: vec!["sts-stack-aws-prep-StsRole-X".into()],
            buckets: vec![],
            profiles: vec!["credentials:[sts]".into()],
            lesson: Default::default(),
        };
        let st = Status {
            lab: "default".into(),
            account: "123456789012".into(),
            inventory,
            assumed_expires: Some(DateTime::from_secs(10_000 + 47 * 60 + 10)),
            credentials_file: "/home/u/.aws/credentials".into(),
            now: 10_000,
        };
        (st, names)
    }

    #[test]
    fn status_reads_as_a_table() {
        let (st, names) = sample();
        let text = status_lines(&st, &names).join("\n");
        assert_eq!(
            text,
            "lab default in account 123456789012
  IAM user      sts-machine-user (tag sts-lab=default)
  access key    AKIA************MPLE Active, created 3 min ago
  user policy   StsAssumePolicy
  stack         sts-stack-aws-prep CREATE_COMPLETE
  role          sts-stack-aws-prep-StsRole-X
  buckets       none
  profiles      credentials:[sts]
  expires       1970-01-01T10:00:00Z (expires in 7 h 13 min)
  session       profile [assumed]: 47 min left"
        );
    }

    #[test]
    fn status_json_has_every_part_and_no_full_key_id() {
        let (st, names) = sample();
        let v = status_json(&st, &names);
        assert_eq!(v["stack"]["status"], "CREATE_COMPLETE");
        assert_eq!(v["access_keys"][0]["id"], "AKIA************MPLE");
        assert_eq!(v["access_keys"][0]["age_seconds"], 180);
        assert_eq!(v["assumed_session"]["seconds_left"], 47 * 60 + 10);
        assert_eq!(v["assumed_session"]["expired"], false);
        assert_eq!(v["empty"], false);
        assert_eq!(v["expires"]["at"], "1970-01-01T10:00:00Z");
        assert_eq!(v["expires"]["seconds_left"], 36000 - 10_000);
        assert_eq!(v["expires"]["expired"], false);
        assert!(!v.to_string().contains("AKIAIOSFODNN7EXAMPLE"));
    }

    #[test]
    fn ages_read_well() {
        assert_eq!(age(30), "30 s");
        assert_eq!(age(180), "3 min");
        assert_eq!(age(3 * 3600), "3 h");
        assert_eq!(age(3 * 86400), "3 d");
    }

    #[test]
    fn plan_lines_have_terraform_like_marks() {
        assert_eq!(Change::Create("x".into()).line(), "  + x");
        assert_eq!(Change::Delete("x".into()).line(), "  - x");
        assert_eq!(Change::Update("x".into()).line(), "  ~ x");
        assert_eq!(Change::Keep("x".into()).line(), "  = x");
    }
}
