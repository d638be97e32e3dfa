//! IAM operations: the lab user, its access keys and its inline policy, and the stack's role.

use anyhow::Result;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::StatusType;
use aws_smithy_types::DateTime;

use super::Deleted;
use crate::aws::error::aws;
use crate::model::names::LAB_TAG_KEY;
use crate::model::secret::Secret;

const NO_SUCH_ENTITY: &str = "NoSuchEntity";

/// A new access key, with its secret (shown masked, written only to the credentials file).
#[derive(Debug, Clone)]
pub struct NewAccessKey {
    pub user_name: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub status: StatusType,
    pub create_date: Option<DateTime>,
}

/// An access key as ListAccessKeys shows it (no secret).
#[derive(Debug, Clone)]
pub struct AccessKeyInfo {
    pub access_key_id: String,
    pub status: StatusType,
    pub create_date: Option<DateTime>,
}

/// The user's ARN, unique id and tags, if it exists.
#[derive(Debug, Clone, Default)]
pub struct UserInfo {
    pub arn: String,
    /// The unique id (`AIDA…`): a user deleted and created again under the same name has a new one.
    pub id: String,
    /// The value of the lab tag.
    pub lab_tag: Option<String>,
    pub tags: Vec<(String, String)>,
    pub create_date: Option<DateTime>,
    /// The ARN of its permissions boundary, if it has one.
    pub boundary: Option<String>,
}

impl UserInfo {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

pub async fn get_user(iam: &Client, user: &str) -> Result<Option<UserInfo>> {
    match iam.get_user().user_name(user).send().await {
        Ok(out) => {
            let Some(u) = out.user else { return Ok(None) };
            // GetUser returns the user's tags (ListUsers is the call that leaves them out); a
            // user without any is asked again with ListUserTags, the documented source, so that
            // no lab user is ever taken for a foreign one.
            let mut tags: Vec<(String, String)> = u
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect();
            if tags.is_empty() {
                let listed = iam
                    .list_user_tags()
                    .user_name(user)
                    .send()
                    .await
                    .map_err(aws("ListUserTags"))?;
                tags = listed.tags.into_iter().map(|t| (t.key, t.value)).collect();
            }
            let lab_tag = tags.iter().find(|(k, _)| k == LAB_TAG_KEY).map(|(_, v)| v.clone());
            Ok(Some(UserInfo {
                arn: u.arn,
                id: u.user_id,
                lab_tag,
                tags,
                create_date: Some(u.create_date),
                boundary: u.permissions_boundary.and_then(|b| b.permissions_boundary_arn),
            }))
        }
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(None),
        Err(e) => Err(aws("GetUser")(e)),
    }
}

/// Creates `user` with `tags` in the same call, so that no crash leaves it untagged; returns the
/// new user's unique id, or None when a user of that name exists.
pub async fn create_user(iam: &Client, user: &str, tags: &[(&str, &str)]) -> Result<Option<String>> {
    match iam
        .create_user()
        .user_name(user)
        .set_tags(Some(super::tags::Tags(tags).iam()?))
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.user.map(|u| u.user_id).unwrap_or_default())),
        Err(e) if e.code() == Some("EntityAlreadyExists") => Ok(None),
        Err(e) => Err(aws("CreateUser")(e)),
    }
}

/// Adds or overwrites `tags` on `user`.
pub async fn tag_user(iam: &Client, user: &str, tags: &[(&str, &str)]) -> Result<()> {
    iam.tag_user()
        .user_name(user)
        .set_tags(Some(super::tags::Tags(tags).iam()?))
        .send()
        .await
        .map_err(aws("TagUser"))?;
    Ok(())
}

/// Removes the tag `key` from `user` (nothing when it has none).
pub async fn untag_user(iam: &Client, user: &str, key: &str) -> Result<()> {
    iam.untag_user()
        .user_name(user)
        .tag_keys(key)
        .send()
        .await
        .map_err(aws("UntagUser"))?;
    Ok(())
}

pub async fn delete_user(iam: &Client, user: &str) -> Result<Deleted> {
    match iam.delete_user().user_name(user).send().await {
        Ok(_) => Ok(Deleted::Deleted),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Deleted::WasGone),
        Err(e) => Err(aws("DeleteUser")(e)),
    }
}

pub async fn create_access_key(iam: &Client, user: &str) -> Result<NewAccessKey> {
    let out = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .map_err(aws("CreateAccessKey"))?;
    let key = out
        .access_key
        .ok_or_else(|| anyhow::anyhow!("CreateAccessKey returned no key"))?;
    Ok(NewAccessKey {
        user_name: key.user_name,
        access_key_id: key.access_key_id,
        secret_access_key: Secret::new(key.secret_access_key),
        status: key.status,
        create_date: key.create_date,
    })
}

pub async fn list_access_keys(iam: &Client, user: &str) -> Result<Vec<AccessKeyInfo>> {
    match iam.list_access_keys().user_name(user).send().await {
        Ok(out) => Ok(out
            .access_key_metadata
            .into_iter()
            .filter_map(|k| {
                Some(AccessKeyInfo {
                    access_key_id: k.access_key_id?,
                    status: k.status?,
                    create_date: k.create_date,
                })
            })
            .collect()),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(e) => Err(aws("ListAccessKeys")(e)),
    }
}

pub async fn delete_access_key(iam: &Client, user: &str, key_id: &str) -> Result<Deleted> {
    match iam
        .delete_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .send()
        .await
    {
        Ok(_) => Ok(Deleted::Deleted),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Deleted::WasGone),
        Err(e) => Err(aws("DeleteAccessKey")(e)),
    }
}

pub async fn put_user_policy(iam: &Client, user: &str, policy: &str, document: &str) -> Result<()> {
    iam.put_user_policy()
        .user_name(user)
        .policy_name(policy)
        .policy_document(document)
        .send()
        .await
        .map_err(aws("PutUserPolicy"))?;
    Ok(())
}

pub async fn list_user_policies(iam: &Client, user: &str) -> Result<Vec<String>> {
    match iam.list_user_policies().user_name(user).send().await {
        Ok(out) => Ok(out.policy_names),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(e) => Err(aws("ListUserPolicies")(e)),
    }
}

pub async fn delete_user_policy(iam: &Client, user: &str, policy: &str) -> Result<Deleted> {
    match iam
        .delete_user_policy()
        .user_name(user)
        .policy_name(policy)
        .send()
        .await
    {
        Ok(_) => Ok(Deleted::Deleted),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(Deleted::WasGone),
        Err(e) => Err(aws("DeleteUserPolicy")(e)),
    }
}

/// User names in the account (first page), used to prove IAM is out of reach.
pub async fn list_users(iam: &Client) -> Result<Vec<String>> {
    let out = iam.list_users().send().await.map_err(aws("ListUsers"))?;
    Ok(out.users.into_iter().map(|u| u.user_name).collect())
}

/// Names of every user whose name starts with `prefix` (all pages).
pub async fn users_named(iam: &Client, prefix: &str) -> Result<Vec<String>> {
    let users: Vec<_> = iam
        .list_users()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws("ListUsers"))?;
    Ok(users
        .into_iter()
        .map(|u| u.user_name)
        .filter(|n| n.starts_with(prefix))
        .collect())
}

/// The role's trust policy as JSON (IAM returns it URL-encoded); None when the role is gone.
pub async fn role_trust(iam: &Client, role: &str) -> Result<Option<String>> {
    match iam.get_role().role_name(role).send().await {
        Ok(out) => Ok(out.role.and_then(|r| r.assume_role_policy_document).map(|doc| {
            percent_encoding::percent_decode_str(&doc)
                .decode_utf8_lossy()
                .into_owned()
        })),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(None),
        Err(e) => Err(aws("GetRole")(e)),
    }
}

/// The ARN of a role's permissions boundary (None: it has none, or the role is gone).
pub async fn role_boundary(iam: &Client, role: &str) -> Result<Option<String>> {
    match iam.get_role().role_name(role).send().await {
        Ok(out) => Ok(out
            .role
            .and_then(|r| r.permissions_boundary)
            .and_then(|b| b.permissions_boundary_arn)),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(None),
        Err(e) => Err(aws("GetRole")(e)),
    }
}

/// Names of the roles whose name starts with `prefix`.
pub async fn roles_named(iam: &Client, prefix: &str) -> Result<Vec<String>> {
    let roles: Vec<_> = iam
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws("ListRoles"))?;
    Ok(roles
        .into_iter()
        .map(|r| r.role_name)
        .filter(|n| n.starts_with(prefix))
        .collect())
}
/// Creates a virtual MFA device named `name`: its serial number and its seed (base32), a secret.
pub async fn create_virtual_mfa_device(iam: &Client, name: &str) -> Result<(String, Secret)> {
    let out = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(name)
        .send()
        .await
        .map_err(aws("CreateVirtualMFADevice"))?;
    let device = out
        .virtual_mfa_device
        .ok_or_else(|| anyhow::anyhow!("CreateVirtualMFADevice returned no device"))?;
    let seed = device
        .base32_string_seed
        .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
        .ok_or_else(|| anyhow::anyhow!("CreateVirtualMFADevice returned no seed"))?;
    Ok((device.serial_number, Secret::new(seed)))
}

/// Whether the virtual MFA device `serial` exists, assigned to a user or not (a device created but
/// never enabled is listed for nobody, but is there all the same).
pub async fn virtual_mfa_device_exists(iam: &Client, serial: &str) -> Result<bool> {
    Ok(virtual_mfa_serials(iam).await?.contains(serial))
}

/// The serial numbers of the account's virtual MFA devices, assigned to a user or not.
pub async fn virtual_mfa_serials(iam: &Client) -> Result<std::collections::HashSet<String>> {
    let mut pages = iam
        .list_virtual_mfa_devices()
        .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Any)
        .into_paginator()
        .send();
    let mut serials = std::collections::HashSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("ListVirtualMFADevices"))?;
        serials.extend(page.virtual_mfa_devices.into_iter().map(|d| d.serial_number));
    }
    Ok(serials)
}

/// Deactivates (if assigned) and deletes the virtual MFA device `serial` of `user`; `Ok(false)`
/// when there was none. A device created but never enabled is deleted too.
pub async fn delete_virtual_mfa_device(iam: &Client, user: &str, serial: &str) -> Result<bool> {
    match iam
        .deactivate_mfa_device()
        .user_name(user)
        .serial_number(serial)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => {}
        Err(e) => return Err(aws("DeactivateMFADevice")(e)),
    }
    match iam.delete_virtual_mfa_device().serial_number(serial).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(false),
        Err(e) => Err(aws("DeleteVirtualMFADevice")(e)),
    }
}

/// Enables an MFA device for `user` with two consecutive codes.
pub async fn enable_mfa_device(iam: &Client, user: &str, serial: &str, codes: (&str, &str)) -> Result<()> {
    iam.enable_mfa_device()
        .user_name(user)
        .serial_number(serial)
        .authentication_code1(codes.0)
        .authentication_code2(codes.1)
        .send()
        .await
        .map_err(aws("EnableMFADevice"))?;
    Ok(())
}

/// When an access key was last used (None: never, or AWS has not recorded it yet).
pub async fn access_key_last_used(iam: &Client, key_id: &str) -> Result<Option<DateTime>> {
    let out = iam
        .get_access_key_last_used()
        .access_key_id(key_id)
        .send()
        .await
        .map_err(aws("GetAccessKeyLastUsed"))?;
    Ok(out.access_key_last_used.and_then(|u| u.last_used_date))
}

/// When a role was last used to make a request (None: not in AWS's tracking window, or the role
/// is gone). AWS updates it with a lag of up to a few hours in some Regions.
pub async fn role_last_used(iam: &Client, role: &str) -> Result<Option<DateTime>> {
    match iam.get_role().role_name(role).send().await {
        Ok(out) => Ok(out.role.and_then(|r| r.role_last_used).and_then(|u| u.last_used_date)),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => Ok(None),
        Err(e) => Err(aws("GetRole")(e)),
    }
}
