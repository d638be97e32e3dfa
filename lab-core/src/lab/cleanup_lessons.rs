//! Cleanup's step for what the lessons (or a learner) added, before the stack: exactly what the
//! inventory finds of them (`LessonParts`); the lessons' profiles go with the lab's own.

use anyhow::Result;

use super::Lab;
use super::inventory::lesson_parts;
use crate::ops::{iam, policies};
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
/// role holding one cannot be deleted by CloudFormation), the chained role, the MFA device. Each
/// item whatever the others did; the errors together.
pub(super) async fn remove_lesson_additions(lab: &Lab, roles: &[String], steps: Steps<'_>) -> Result<()> {
    let iam_client = &lab.admin.iam;
    let parts = lesson_parts(lab, None, roles, None).await?;
    let mut errors: Vec<String> = Vec::new();
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            errors.push(crate::aws::error::one_line(&e));
        }
    };
    for (role, policy) in &parts.role_policies {
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
