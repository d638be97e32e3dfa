//! Permissions boundaries: the customer managed policy a lesson sets as a role's boundary, set
//! and removed. Creating what exists and deleting what is gone are not errors.

use anyhow::Result;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;

use crate::aws::error::aws;

const NO_SUCH_ENTITY: &str = "NoSuchEntity";

/// Creates the customer managed policy `name` with `document`, or gives a new default version
/// to the one that exists (dropping its oldest non-default version when five are kept); its ARN.
pub async fn put_managed_policy(iam: &Client, arn: &str, name: &str, document: &str) -> Result<String> {
    match iam
        .create_policy()
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
    {
        Ok(out) => Ok(out.policy.and_then(|p| p.arn).unwrap_or_else(|| arn.to_owned())),
        Err(e) if e.code() == Some("EntityAlreadyExists") => {
            let versions = iam
                .list_policy_versions()
                .policy_arn(arn)
                .send()
                .await
                .map_err(aws("ListPolicyVersions"))?
                .versions
                .unwrap_or_default();
            if versions.len() >= 5
                && let Some(oldest) = versions.iter().rev().find(|v| !v.is_default_version)
                && let Some(id) = &oldest.version_id
            {
                iam.delete_policy_version()
                    .policy_arn(arn)
                    .version_id(id)
                    .send()
                    .await
                    .map_err(aws("DeletePolicyVersion"))?;
            }
            iam.create_policy_version()
                .policy_arn(arn)
                .policy_document(document)
                .set_as_default(true)
                .send()
                .await
                .map_err(aws("CreatePolicyVersion"))?;
            Ok(arn.to_owned())
        }
        Err(e) => Err(aws("CreatePolicy")(e)),
    }
}

/// Whether the customer managed policy `arn` exists.
pub async fn managed_policy_exists(iam: &Client, arn: &str) -> Result<bool> {
    match iam.get_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(false),
        Err(e) => Err(aws("GetPolicy")(e)),
    }
}

/// Deletes the customer managed policy `arn` and its non-default versions; false when it was gone.
pub async fn delete_managed_policy(iam: &Client, arn: &str) -> Result<bool> {
    let versions = match iam.list_policy_versions().policy_arn(arn).send().await {
        Ok(out) => out.versions.unwrap_or_default(),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => return Ok(false),
        Err(e) => return Err(aws("ListPolicyVersions")(e)),
    };
    for version in versions.iter().filter(|v| !v.is_default_version) {
        if let Some(id) = &version.version_id {
            iam.delete_policy_version()
                .policy_arn(arn)
                .version_id(id)
                .send()
                .await
                .map_err(aws("DeletePolicyVersion"))?;
        }
    }
    match iam.delete_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(false),
        Err(e) => Err(aws("DeletePolicy")(e)),
    }
}

pub async fn set_role_boundary(iam: &Client, role: &str, policy_arn: &str) -> Result<()> {
    iam.put_role_permissions_boundary()
        .role_name(role)
        .permissions_boundary(policy_arn)
        .send()
        .await
        .map_err(aws("PutRolePermissionsBoundary"))?;
    Ok(())
}

/// Removes a role's boundary; false when the role (or its boundary) was not there.
pub async fn remove_role_boundary(iam: &Client, role: &str) -> Result<bool> {
    match iam.delete_role_permissions_boundary().role_name(role).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(false),
        Err(e) => Err(aws("DeleteRolePermissionsBoundary")(e)),
    }
}

/// The names of the first roles ListRoles gives (iam:ListRoles, one page of `max`).
pub async fn first_roles(iam: &Client, max: i32) -> Result<Vec<String>> {
    let out = iam.list_roles().max_items(max).send().await.map_err(aws("ListRoles"))?;
    Ok(out.roles.into_iter().map(|r| r.role_name).collect())
}
