//! Cleanup's step for what the lessons added (their names in `model::names`), before the stack.

use anyhow::Result;

use super::Lab;
use crate::ops::iam;
use crate::output::report::Steps;
use crate::profiles::awsfiles::FileKind;

/// What the lessons add (`model::names`): their policies on the stack's role, the chained role
/// (only when it carries the lab's tag), the lesson profiles, the lesson's MFA device. Each item
/// whatever the others did; the errors together.
pub(super) async fn remove_lesson_additions(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let names = &lab.names;
    let iam_client = &lab.admin.iam;
    let mut errors: Vec<String> = Vec::new();
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            errors.push(crate::aws::error::one_line(&e));
        }
    };
    // The stack's role by its name (a ListRoles, no DescribeStacks: the stack's own deletion
    // follows and reads the stack itself).
    keep(
        async {
            for role in iam::roles_named(iam_client, &names.role_name_prefix()).await? {
                for policy in [
                    names.revoke_policy(),
                    names.team_policy(),
                    names.source_identity_policy(),
                ] {
                    if crate::ops::policies::delete_role_policy(iam_client, &role, policy).await? {
                        steps.note(format!("deleted lesson policy {policy} of role {role}"));
                    }
                }
            }
            Ok(())
        }
        .await,
    );
    keep(
        async {
            let chained = names.chained_role();
            let tags = crate::ops::policies::role_tags(iam_client, &chained).await?;
            let tag = tags
                .iter()
                .find(|(k, _)| k == crate::model::names::LAB_TAG_KEY)
                .map(|(_, v)| v.as_str());
            if tags.is_empty() && tag.is_none() {
                return Ok(()); // no such role (or an untagged one: not the lab's)
            }
            lab.refuse_foreign("role", &chained, tag)?;
            crate::ops::policies::delete_role_policy(iam_client, &chained, names.team_policy()).await?;
            if crate::ops::policies::delete_role(iam_client, &chained).await? {
                steps.note(format!("deleted lesson role {chained}"));
            }
            Ok(())
        }
        .await,
    );
    keep(
        async {
            let serial = format!(
                "arn:{}:iam::{}:mfa/{}",
                lab.admin_identity.partition(),
                lab.account(),
                names.user
            );
            if iam::delete_virtual_mfa_device(iam_client, &names.user, &serial).await? {
                steps.note(format!("deleted lesson MFA device {serial}"));
            }
            Ok(())
        }
        .await,
    );
    for profile in names.lesson_profiles() {
        keep(
            lab.target
                .files
                .remove_profile(FileKind::Config, &profile)
                .map(|removed| {
                    if removed {
                        steps.note(format!("removed lesson profile [profile {profile}]"));
                    }
                }),
        );
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(anyhow::anyhow!("{}", errors.join("; "))),
    }
}
