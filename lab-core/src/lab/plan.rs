//! The dry runs: what `setup` and `cleanup` would do, planned from read-only calls with the same
//! refusals as the tasks themselves, as `+ create`, `~ update`, `- delete`, `= keep` lines.

use anyhow::Result;

use crate::lab::{self, Lab, profile_sections};
use crate::model::secret::mask_key_id;
use crate::ops::cfn::{self, Phase};
use crate::ops::iam;
use crate::profiles::awsfiles::{AwsFiles, FileKind};

/// One line of a plan: what would happen to what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create(String),
    Update(String),
    Delete(String),
    Keep(String),
    Check(String),
}

impl Change {
    /// `+ create …`, `~ update …`, `- delete …`, `= keep …`, `? check …`
    pub fn line(&self) -> String {
        match self {
            Change::Create(s) => format!("  + {s}"),
            Change::Update(s) => format!("  ~ {s}"),
            Change::Delete(s) => format!("  - {s}"),
            Change::Keep(s) => format!("  = {s}"),
            Change::Check(s) => format!("  ? {s}"),
        }
    }
}

/// What `setup` would do, from read-only calls; the same refusals as setup itself.
pub async fn plan_setup(lab: &Lab) -> Result<Vec<Change>> {
    let names = &lab.names;
    let files = &lab.target.files;
    let pre = lab::preflight(lab).await?;
    let cred_file = files.credentials.display();
    let mut plan = Vec::new();
    if pre.user.is_some() {
        plan.push(Change::Keep(format!("IAM user {}", names.user)));
    } else {
        plan.push(Change::Create(format!(
            "IAM user {} (tag sts-lab={})",
            names.user, names.lab
        )));
    }
    let keys = if pre.user.is_some() {
        iam::list_access_keys(&lab.admin.iam, &names.user).await?
    } else {
        Vec::new()
    };
    let profile = files.read_profile(FileKind::Credentials, &names.user_profile)?;
    let kept = lab::key_to_keep(profile.as_ref(), &keys);
    match kept {
        Some(id) => plan.push(Change::Keep(format!(
            "access key {} of profile [{}]",
            mask_key_id(id),
            names.user_profile
        ))),
        None => {
            for k in &keys {
                plan.push(Change::Delete(format!(
                    "access key {} (its secret is in no lab profile)",
                    mask_key_id(&k.access_key_id)
                )));
            }
            plan.push(Change::Create(format!("access key for {}", names.user)));
            let verb = if profile.is_some() { "rewrite" } else { "write" };
            plan.push(Change::Update(format!(
                "{verb} profile [{}] in {cred_file}",
                names.user_profile
            )));
        }
    }
    plan.push(Change::Check(format!(
        "profile [{}] is {} and is denied S3",
        names.user_profile,
        lab.user_arn()
    )));
    match &pre.stack {
        None => plan.push(Change::Create(format!(
            "stack {} from infra/template.yaml: a role trusting {} only, S3 on {}*",
            names.stack,
            lab.user_arn(),
            lab.bucket_prefix()
        ))),
        Some(s) if cfn::phase(&s.status) == Phase::InProgress => plan.push(Change::Update(format!(
            "stack {} after it leaves {}",
            names.stack, s.status
        ))),
        Some(s) => plan.push(Change::Update(format!(
            "stack {} ({}; unchanged when the template and parameters are the same)",
            names.stack, s.status
        ))),
    }
    plan.push(Change::Update(format!(
        "user policy {} on {}: sts:AssumeRole on the stack's role only",
        names.user_policy, names.user
    )));
    Ok(plan)
}

/// What `cleanup` would delete, from the lab's inventory.
/// What the lessons and challenges left, each part deleted.
fn lesson_changes(lesson: &lab::LessonParts) -> Vec<Change> {
    let delete = |text: String| Change::Delete(text);
    let mut out: Vec<Change> = lesson
        .role_policies
        .iter()
        .map(|p| {
            delete(format!(
                "policy {} of role {} (a lesson's or a challenge's)",
                p.policy, p.role
            ))
        })
        .collect();
    out.extend(
        lesson
            .chained_role
            .iter()
            .map(|r| delete(format!("IAM role {r} (a lesson's)"))),
    );
    out.extend(
        lesson
            .mfa_device
            .iter()
            .map(|s| delete(format!("MFA device {s} (lesson mfa)"))),
    );
    out.extend(
        lesson
            .boundary_policy
            .iter()
            .map(|p| delete(format!("IAM policy {p} (a boundary), once taken off the lab's roles"))),
    );
    out.extend(
        lesson
            .challenge_role
            .iter()
            .map(|r| delete(format!("IAM role {r} (a challenge's)"))),
    );
    out.extend(
        lesson
            .challenge_boundary
            .iter()
            .map(|p| delete(format!("IAM policy {p} (the challenge role's boundary)"))),
    );
    out
}

/// The profiles the lab wrote, each section deleted from its file.
fn profile_changes(lab: &Lab) -> Result<Vec<Change>> {
    let mut out = Vec::new();
    for (kind, profile) in profile_sections(&lab.names, &lab.target.files)? {
        if lab.target.files.read_profile(kind, &profile)?.is_some_and(|p| p.owned) {
            out.push(Change::Delete(format!(
                "[{}] from {}",
                AwsFiles::section_name(kind, &profile),
                lab.target.files.path(kind).display()
            )));
        }
    }
    Ok(out)
}

pub async fn plan_cleanup(lab: &Lab) -> Result<Vec<Change>> {
    let names = &lab.names;
    let inv = lab::inventory(lab).await?;
    let mut plan = Vec::new();
    plan.extend(
        inv.buckets
            .iter()
            .map(|b| Change::Delete(format!("bucket {b} and its objects"))),
    );
    // What the lessons added, before the stack: CloudFormation cannot delete a role that holds
    // a policy it did not make.
    plan.extend(lesson_changes(&inv.lesson));
    if let Some(s) = &inv.stack {
        plan.push(Change::Delete(format!(
            "stack {} ({}) and with it role {}",
            names.stack,
            s.status,
            inv.roles.join(", ")
        )));
    } else {
        plan.extend(
            inv.roles
                .iter()
                .map(|r| Change::Check(format!("role {r} outlived its stack: delete it by hand"))),
        );
    }
    plan.extend(
        inv.user_policies
            .iter()
            .map(|p| Change::Delete(format!("user policy {p}"))),
    );
    plan.extend(
        inv.access_keys
            .iter()
            .map(|k| Change::Delete(format!("access key {}", mask_key_id(&k.access_key_id)))),
    );
    if inv.user.is_some() {
        plan.push(Change::Delete(format!("IAM user {}", names.user)));
    }
    plan.extend(profile_changes(lab)?);
    if plan.is_empty() {
        plan.push(Change::Keep(format!(
            "nothing of lab {} exists; nothing to delete",
            names.lab
        )));
    }
    Ok(plan)
}
