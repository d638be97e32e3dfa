//! What a learner may attach to the lab user (in the console, say) and DeleteUser refuses while it
//! is there (DeleteConflict): managed policies, groups, a console password, MFA devices, SSH public
//! keys, signing certificates and service-specific credentials. Each is listed and taken off the
//! user; the group, the managed policy and any hardware MFA device themselves are left alone.

use anyhow::Result;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use super::Deleted;
use crate::aws::error::aws;

const NO_SUCH_ENTITY: &str = "NoSuchEntity";

/// One thing attached to the user, as it is taken off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attachment {
    ManagedPolicy(String),
    Group(String),
    LoginProfile,
    MfaDevice(String),
    SshPublicKey(String),
    SigningCertificate(String),
    ServiceSpecificCredential(String),
}

impl std::fmt::Display for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attachment::ManagedPolicy(arn) => write!(f, "detached managed policy {arn}"),
            Attachment::Group(g) => write!(f, "removed from group {g}"),
            Attachment::LoginProfile => write!(f, "deleted the console password"),
            Attachment::MfaDevice(s) => write!(f, "deactivated MFA device {s}"),
            Attachment::SshPublicKey(id) => write!(f, "deleted SSH public key {id}"),
            Attachment::SigningCertificate(id) => write!(f, "deleted signing certificate {id}"),
            Attachment::ServiceSpecificCredential(id) => write!(f, "deleted service-specific credential {id}"),
        }
    }
}

/// Whether an error says the endpoint does not serve the operation (an emulator or a compatible
/// service without it): then nothing of that kind can be listed there.
fn not_served<E: ProvideErrorMetadata>(e: &SdkError<E, Response>) -> bool {
    let code = e.code();
    let unsupported = matches!(
        code,
        Some("InvalidAction" | "NotImplemented" | "UnknownOperationException" | "UnsupportedOperation")
    );
    // Plain moto answers an action it lacks with HTTP 500 and an HTML page, no error code; AWS's
    // own 500s and 503s carry one (InternalFailure, ServiceUnavailable) and are not skipped.
    let server_error = e.raw_response().is_some_and(|r| r.status().is_server_error()) && code.is_none();
    unsupported || server_error
}

/// What is attached to the user, and the listings the endpoint does not serve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub found: Vec<Attachment>,
    /// `ListServiceSpecificCredentials (HTTP 500 …)`: skipped, so DeleteUser is simply tried again.
    pub skipped: Vec<String>,
}

impl Listing {
    /// Keeps what one listing found; an endpoint that does not serve it is noted, not an error.
    fn take<T, E>(
        &mut self,
        operation: &'static str,
        result: Result<T, SdkError<E, Response>>,
        found: impl FnOnce(T) -> Vec<Attachment>,
    ) -> Result<()>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match result {
            Ok(out) => self.found.extend(found(out)),
            Err(e) if not_served(&e) => {
                let why = crate::aws::error::AwsError::from_sdk(operation, e);
                self.skipped
                    .push(format!("{operation} ({})", why.code.as_deref().unwrap_or(&why.message)));
            }
            Err(e) => return Err(aws(operation)(e)),
        }
        Ok(())
    }
}

/// Everything attached to `user` that DeleteUser would refuse, in the order to take it off.
pub async fn list(iam: &Client, user: &str) -> Result<Listing> {
    let mut out = Listing::default();
    match iam.list_attached_user_policies().user_name(user).send().await {
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => return Ok(out),
        r => out.take("ListAttachedUserPolicies", r, |o| {
            o.attached_policies
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.policy_arn.map(Attachment::ManagedPolicy))
                .collect()
        })?,
    }
    let r = iam.list_groups_for_user().user_name(user).send().await;
    out.take("ListGroupsForUser", r, |o| {
        o.groups.into_iter().map(|g| Attachment::Group(g.group_name)).collect()
    })?;
    match iam.get_login_profile().user_name(user).send().await {
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => {}
        r => out.take("GetLoginProfile", r, |_| vec![Attachment::LoginProfile])?,
    }
    let r = iam.list_mfa_devices().user_name(user).send().await;
    out.take("ListMFADevices", r, |o| {
        o.mfa_devices
            .into_iter()
            .map(|d| Attachment::MfaDevice(d.serial_number))
            .collect()
    })?;
    let r = iam.list_ssh_public_keys().user_name(user).send().await;
    out.take("ListSSHPublicKeys", r, |o| {
        o.ssh_public_keys
            .unwrap_or_default()
            .into_iter()
            .map(|k| Attachment::SshPublicKey(k.ssh_public_key_id))
            .collect()
    })?;
    let r = iam.list_signing_certificates().user_name(user).send().await;
    out.take("ListSigningCertificates", r, |o| {
        o.certificates
            .into_iter()
            .map(|c| Attachment::SigningCertificate(c.certificate_id))
            .collect()
    })?;
    let r = iam.list_service_specific_credentials().user_name(user).send().await;
    out.take("ListServiceSpecificCredentials", r, |o| {
        o.service_specific_credentials
            .unwrap_or_default()
            .into_iter()
            .map(|c| Attachment::ServiceSpecificCredential(c.service_specific_credential_id))
            .collect()
    })?;
    Ok(out)
}

/// Takes `attachment` off `user`; what is already gone is not an error.
pub async fn detach(iam: &Client, user: &str, attachment: &Attachment) -> Result<Deleted> {
    let gone = |code: Option<&str>| code == Some(NO_SUCH_ENTITY);
    let result = match attachment {
        Attachment::ManagedPolicy(arn) => iam
            .detach_user_policy()
            .user_name(user)
            .policy_arn(arn)
            .send()
            .await
            .map(drop)
            .map_err(|e| (gone(e.code()), aws("DetachUserPolicy")(e))),
        Attachment::Group(group) => iam
            .remove_user_from_group()
            .user_name(user)
            .group_name(group)
            .send()
            .await
            .map(drop)
            .map_err(|e| (gone(e.code()), aws("RemoveUserFromGroup")(e))),
        Attachment::LoginProfile => iam
            .delete_login_profile()
            .user_name(user)
            .send()
            .await
            .map(drop)
            .map_err(|e| (gone(e.code()), aws("DeleteLoginProfile")(e))),
        Attachment::MfaDevice(serial) => detach_mfa(iam, user, serial).await,
        Attachment::SshPublicKey(id) => iam
            .delete_ssh_public_key()
            .user_name(user)
            .ssh_public_key_id(id)
            .send()
            .await
            .map(drop)
            .map_err(|e| (gone(e.code()), aws("DeleteSSHPublicKey")(e))),
        Attachment::SigningCertificate(id) => iam
            .delete_signing_certificate()
            .user_name(user)
            .certificate_id(id)
            .send()
            .await
            .map(drop)
            .map_err(|e| (gone(e.code()), aws("DeleteSigningCertificate")(e))),
        Attachment::ServiceSpecificCredential(id) => iam
            .delete_service_specific_credential()
            .user_name(user)
            .service_specific_credential_id(id)
            .send()
            .await
            .map(drop)
            .map_err(|e| (gone(e.code()), aws("DeleteServiceSpecificCredential")(e))),
    };
    match result {
        Ok(()) => Ok(Deleted::Deleted),
        Err((true, _)) => Ok(Deleted::WasGone),
        Err((false, e)) => Err(e),
    }
}

/// Deactivates an MFA device on `user`; a virtual device the learner made for this user goes with
/// it, a hardware device (no `:mfa/` ARN) stays the account's. The error says whether it was gone.
async fn detach_mfa(iam: &Client, user: &str, serial: &str) -> Result<(), (bool, anyhow::Error)> {
    let gone = |code: Option<&str>| code == Some(NO_SUCH_ENTITY);
    iam.deactivate_mfa_device()
        .user_name(user)
        .serial_number(serial)
        .send()
        .await
        .map_err(|e| (gone(e.code()), aws("DeactivateMFADevice")(e)))?;
    if !serial.contains(":mfa/") {
        return Ok(());
    }
    match iam.delete_virtual_mfa_device().serial_number(serial).send().await {
        Ok(_) => Ok(()),
        Err(e) if gone(e.code()) => Ok(()),
        Err(e) => Err((false, aws("DeleteVirtualMFADevice")(e))),
    }
}
