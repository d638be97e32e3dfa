//! A challenge's state in the lab: the challenge role (tagged with the lab, bounded so that
//! nothing a learner writes on it reaches beyond S3 under the lab's prefix), its trust and inline
//! policy, the user's access to assume and edit it, the challenge's buckets, and the user's tags
//! that record the challenge set and what was passed. Cleanup finds all of it (the inventory).

use anyhow::{Result, anyhow};
use serde_json::{Value as Json, json};

use super::{Scene, State, document, statement};
use crate::lab::Lab;
use crate::model::decide::Caller;
use crate::model::expiry::{format_utc, parse_utc};
use crate::model::names::{
    CHALLENGE_AT_TAG_KEY, CHALLENGE_ROLE_POLICY, CHALLENGE_TAG_KEY, CHALLENGE_USER_POLICY, LAB_TAG_KEY,
};
use crate::ops::{boundary, iam, objects, policies, s3};
use crate::output::report::Steps;

/// The scene of the lab now, for a challenge set at `started` (None: now).
pub async fn scene(lab: &Lab, started: Option<i64>) -> Result<Scene> {
    let (now, expires) = tokio::try_join!(lab.now(), lab.expires())?;
    let partition = lab.admin_identity.partition().to_owned();
    let role = lab.names.challenge_role();
    Ok(Scene {
        role_arn: lab.iam_arn("role", &role),
        partition,
        account: lab.account().to_owned(),
        user: lab.names.user.clone(),
        user_arn: lab.user_arn(),
        role,
        admin: Caller::of_arn(&lab.admin_identity.arn),
        prefix: lab.bucket_prefix(),
        expires: expires.map(format_utc),
        started: started.unwrap_or(now),
        now,
    })
}

/// The ARN of the challenge role's boundary.
pub fn boundary_arn(lab: &Lab) -> String {
    lab.iam_arn("policy", &lab.names.challenge_boundary())
}

/// The boundary of the challenge role: S3 under the lab's prefix, and the list of buckets.
pub(super) fn boundary_document(scene: &Scene) -> Json {
    let prefix = format!("{}*", scene.prefix);
    document(vec![
        statement(
            "ListTheBuckets",
            "Allow",
            json!("s3:ListAllMyBuckets"),
            json!("*"),
            None,
        ),
        statement(
            "LabBucketsOnly",
            "Allow",
            json!("s3:*"),
            json!([scene.bucket_arn(&prefix), scene.bucket_arn(&format!("{prefix}/*"))]),
            None,
        ),
    ])
}

/// The user's access: assume the challenge role, and read and edit it, until the lab expires.
pub(super) fn user_access(scene: &Scene) -> Json {
    let edit = [
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:UpdateAssumeRolePolicy",
    ];
    document(vec![
        statement(
            "AssumeTheChallengeRole",
            "Allow",
            json!(["sts:AssumeRole", "sts:SetSourceIdentity"]),
            json!(scene.role_arn),
            scene.until_expiry(),
        ),
        statement(
            "EditTheChallengeRole",
            "Allow",
            json!(edit),
            json!(scene.role_arn),
            scene.until_expiry(),
        ),
    ])
}

/// Writes `state` over whatever the challenge role holds: its trust, its inline policies (the
/// challenge's alone), its boundary, the user's access, the buckets with their object.
pub async fn write(lab: &Lab, scene: &Scene, state: &State, steps: Steps<'_>) -> Result<()> {
    let iam_client = &lab.admin.iam;
    let role = &scene.role;
    let trust = state.trust.to_string();
    let tags = [(LAB_TAG_KEY, lab.names.lab.as_str())];
    if policies::create_role(iam_client, role, &trust, 3600, &tags).await? {
        steps.note(format!("made role {role}"));
    } else {
        policies::update_trust(iam_client, role, &trust).await?;
    }
    let arn = boundary_arn(lab);
    let name = lab.names.challenge_boundary();
    boundary::put_managed_policy(iam_client, &arn, &name, &boundary_document(scene).to_string()).await?;
    boundary::set_role_boundary(iam_client, role, &arn).await?;
    for policy in policies::role_policy_names(iam_client, role).await? {
        if state.role_policy.is_none() || policy != CHALLENGE_ROLE_POLICY {
            policies::delete_role_policy(iam_client, role, &policy).await?;
        }
    }
    if let Some(policy) = &state.role_policy {
        policies::put_role_policy(iam_client, role, CHALLENGE_ROLE_POLICY, &policy.to_string()).await?;
    }
    let access = user_access(scene).to_string();
    iam::put_user_policy(iam_client, &lab.names.user, CHALLENGE_USER_POLICY, &access).await?;
    for suffix in &state.buckets {
        let bucket = scene.bucket(suffix);
        s3::create_bucket(&lab.admin.s3, &bucket, &lab.admin.region, &tags).await?;
        objects::put_object(&lab.admin.s3, &bucket, "hello.txt", "hello from sts-lab\n").await?;
        steps.note(format!("bucket {bucket} holds hello.txt"));
    }
    Ok(())
}

/// The challenge role's trust and inline policy as they are now (None: not there).
pub async fn read(lab: &Lab, scene: &Scene) -> Result<(Option<String>, Option<String>)> {
    let iam_client = &lab.admin.iam;
    let (trust, inline) = tokio::try_join!(
        iam::role_trust(iam_client, &scene.role),
        policies::role_inline(iam_client, &scene.role),
    )?;
    let policy = inline
        .into_iter()
        .find(|p| p.name == CHALLENGE_ROLE_POLICY)
        .map(|p| p.json);
    Ok((trust, policy))
}

/// The challenge set on the lab, and when (from the user's tags).
pub async fn recorded(lab: &Lab) -> Result<Option<(String, i64)>> {
    let user = iam::get_user(&lab.admin.iam, &lab.names.user).await?.ok_or_else(|| {
        anyhow!(
            "lab {} has no user; run `{}` first",
            lab.names.lab,
            crate::output::command::xtask("setup")
        )
    })?;
    let name = user.tag(CHALLENGE_TAG_KEY).map(str::to_owned);
    let at = user.tag(CHALLENGE_AT_TAG_KEY).and_then(parse_utc);
    Ok(name.map(|n| (n, at.unwrap_or(0))))
}

/// Records on the user that `name` is set, since `at`.
pub async fn record_set(lab: &Lab, name: &str, at: i64) -> Result<()> {
    let at = format_utc(at);
    iam::tag_user(
        &lab.admin.iam,
        &lab.names.user,
        &[(CHALLENGE_TAG_KEY, name), (CHALLENGE_AT_TAG_KEY, &at)],
    )
    .await
}
