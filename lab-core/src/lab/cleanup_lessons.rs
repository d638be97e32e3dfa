//! Cleanup's step for what the lessons (or a learner) added, before the stack: exactly what the
//! inventory finds of them (`LessonParts`); the lessons' profiles go with the lab's own.

use anyhow::Result;

use super::Lab;
use super::inventory::lesson_parts;
use crate::ops::{boundary, bucket_policy, iam, policies, sts};
use crate::output::report::Steps;

/// The lab's roles: the stack's, by the name its output gives (a DescribeStacks the stack's
/// deletion makes anyway, and a class's board answers for all), else every role under the lab's
/// prefix (a ListRoles, which pages through the account's roles).
pub(super) async fn lab_roles(lab: &Lab) -> Result<Vec<String>> {
    let stack = lab.describe_stack().await?;
    let named = stack
        .as_ref()
        .and_then(|s| s.output(super::OUTPUT_ROLE_ARN))
        .and_then(crate::model::policy::role_name);
    match named {
        Some(role) => Ok(vec![role.to_owned()]),
        None => iam::roles_named(&lab.admin.iam, &lab.names.role_name_prefix()).await,
    }
}

/// Deletes the lessons' parts: the inline policies of the lab's roles beyond the stack's own (a
/// role holding one cannot be deleted by CloudFormation), the chained role, the MFA device, the
/// challenges' role and its boundary. Each item whatever the others did; the errors together.
pub(super) async fn remove_lesson_additions(lab: &Lab, roles: &[String], steps: Steps<'_>) -> Result<()> {
    let iam_client = &lab.admin.iam;
    // A lab of a class reads its lessons' parts (roles' tags and policies, the boundaries, the
    // MFA device) from the class's reading that found it, not with six requests a lab; a part a
    // learner adds after that reading makes the stack's deletion fail, said, and a second cleanup
    // finds it.
    let read = lab.shared_documents().await?;
    let parts = lesson_parts(lab, None, roles, read.as_deref()).await?;
    let mut errors: Vec<String> = Vec::new();
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            errors.push(crate::aws::error::one_line(&e));
        }
    };
    for super::RolePolicy { role, policy } in &parts.role_policies {
        keep(
            async {
                if policies::delete_role_policy(iam_client, role, policy).await? {
                    steps.note(format!("deleted policy {policy} of role {role}"));
                }
                Ok(())
            }
            .await,
        );
    }
    if let Some(chained) = &parts.chained_role {
        keep(
            async {
                if policies::delete_role(iam_client, chained).await? {
                    steps.note(format!("deleted lesson role {chained}"));
                }
                Ok(())
            }
            .await,
        );
    }
    if let Some(arn) = &parts.boundary_policy {
        keep(remove_boundary(lab, roles, arn, steps).await);
    }
    if let Some(role) = &parts.challenge_role {
        keep(
            async {
                boundary::remove_role_boundary(iam_client, role).await?;
                if policies::delete_role(iam_client, role).await? {
                    steps.note(format!("deleted challenge role {role}"));
                }
                Ok(())
            }
            .await,
        );
    }
    if let Some(arn) = &parts.challenge_boundary {
        keep(
            async {
                if boundary::delete_managed_policy(iam_client, arn).await? {
                    steps.note(format!("deleted the challenge role's boundary {arn}"));
                }
                Ok(())
            }
            .await,
        );
    }
    if let Some(serial) = &parts.mfa_device {
        keep(
            async {
                if iam::delete_virtual_mfa_device(iam_client, &lab.names.user, serial).await? {
                    steps.note(format!("deleted lesson MFA device {serial}"));
                }
                Ok(())
            }
            .await,
        );
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(anyhow::anyhow!("{}", errors.join("; "))),
    }
}

/// Takes the boundary `arn` off the lab's roles, then deletes the policy (IAM refuses to delete a
/// policy in use as a boundary).
pub(crate) async fn remove_boundary(lab: &Lab, roles: &[String], arn: &str, steps: Steps<'_>) -> Result<()> {
    let iam_client = &lab.admin.iam;
    for role in roles {
        if boundary::remove_role_boundary(iam_client, role).await? {
            steps.note(format!("took the permissions boundary off role {role}"));
        }
    }
    if boundary::delete_managed_policy(iam_client, arn).await? {
        steps.note(format!("deleted the boundary policy {arn}"));
    }
    Ok(())
}

/// Lesson bucket-policy's bucket, unlocked: its policy refuses everyone but the lab's role and
/// user, the admin included, so a session of the role (assumed with the user's key) deletes it.
/// False when the bucket has no policy (or is gone).
pub(crate) async fn unlock_guarded_bucket(lab: &Lab, steps: Steps<'_>) -> Result<bool> {
    let bucket = lab.names.guarded_bucket(lab.account());
    if bucket_policy::get(&lab.admin.s3, &bucket).await?.is_none() {
        return Ok(false);
    }
    let role_arn = lab.role_arn().await?;
    let role_arn = role_arn.as_str();
    let user = lab.profile(&lab.names.user_profile).await.map_err(|e| {
        anyhow::anyhow!(
            "bucket {bucket} has a policy that refuses the admin, and only the lab's role may delete it, but the lab's user has no key here ({}); delete the bucket policy as the account's root user",
            crate::aws::error::one_line(&e)
        )
    })?;
    let backoff = lab.backoff;
    let assume = || sts::assume_role(&user.sts, role_arn, "unlock-bucket", None);
    let creds = crate::aws::retry::retry_codes(backoff, &["AccessDenied"], |_| {}, assume).await?;
    let session = lab.target.session(&creds).await?;
    bucket_policy::delete(&session.s3, &bucket).await?;
    steps.note(format!(
        "a session of the lab's role deleted the policy of bucket {bucket}: the policy let no one else in"
    ));
    Ok(true)
}
