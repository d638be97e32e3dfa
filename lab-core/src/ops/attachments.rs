//! What a learner may attach to the lab user (in the console, say) and DeleteUser refuses while it
//! is there (DeleteConflict): managed policies, groups, a console password, MFA devices, SSH public
//! keys, signing certificates and service-specific credentials. Each is listed and taken off the
//! user; the group, the managed policy and any hardware MFA device themselves are left alone.

use anyhow::Result;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;

use super::Deleted;
use crate::error::aws;

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

/// Whether an error says the endpoint does not know the operation (an emulator or a compatible
/// service without it): then nothing of that kind can be attached there.
fn unsupported(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("InvalidAction" | "NotImplemented" | "UnknownOperationException" | "UnsupportedOperation")
    )
}

/// Everything attached to `user` that DeleteUser would refuse, in the order to take it off.
pub async fn list(iam: &Client, user: &str) -> Result<Vec<Attachment>> {
    let mut out = Vec::new();
    match iam.list_attached_user_policies().user_name(user).send().await {
        Ok(o) => out.extend(
            o.attached_policies
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.policy_arn.map(Attachment::ManagedPolicy)),
        ),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => return Ok(out),
        Err(e) => return Err(aws("ListAttachedUserPolicies")(e)),
    }
    let groups = iam
        .list_groups_for_user()
        .user_name(user)
        .send()
        .await
        .map_err(aws("ListGroupsForUser"))?;
    out.extend(groups.groups.into_iter().map(|g| Attachment::Group(g.group_name)));
    match iam.get_login_profile().user_name(user).send().await {
        Ok(_) => out.push(Attachment::LoginProfile),
        Err(e) if e.code() == Some(NO_SUCH_ENTITY) => {}
        Err(e) => return Err(aws("GetLoginProfile")(e)),
    }
    let mfa = iam
        .list_mfa_devices()
        .user_name(user)
        .send()
        .await
        .map_err(aws("ListMFADevices"))?;
    out.extend(
        mfa.mfa_devices
            .into_iter()
            .map(|d| Attachment::MfaDevice(d.serial_number)),
    );
    let ssh = iam
        .list_ssh_public_keys()
        .user_name(user)
        .send()
        .await
        .map_err(aws("ListSSHPublicKeys"))?;
    out.extend(
        ssh.ssh_public_keys
            .unwrap_or_default()
            .into_iter()
            .map(|k| Attachment::SshPublicKey(k.ssh_public_key_id)),
    );
    let certs = iam
        .list_signing_certificates()
        .user_name(user)
        .send()
        .await
        .map_err(aws("ListSigningCertificates"))?;
    out.extend(
        certs
            .certificates
            .into_iter()
            .map(|c| Attachment::SigningCertificate(c.certificate_id)),
    );
    match iam.list_service_specific_credentials().user_name(user).send().await {
        Ok(o) => out.extend(
            o.service_specific_credentials
                .unwrap_or_default()
                .into_iter()
                .map(|c| Attachment::ServiceSpecificCredential(c.service_specific_credential_id)),
        ),
        Err(e) if unsupported(e.code()) => {}
        Err(e) => return Err(aws("ListServiceSpecificCredentials")(e)),
    }
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
        Attachment::MfaDevice(serial) => {
            let deactivated = iam
                .deactivate_mfa_device()
                .user_name(user)
                .serial_number(serial)
                .send()
                .await
                .map(drop)
                .map_err(|e| (gone(e.code()), aws("DeactivateMFADevice")(e)));
            match deactivated {
                // A virtual device the learner made for this user goes with it; a hardware
                // device (no `:mfa/` ARN) stays the account's.
                Ok(()) if serial.contains(":mfa/") => iam
                    .delete_virtual_mfa_device()
                    .serial_number(serial)
                    .send()
                    .await
                    .map(drop)
                    .or_else(|e| {
                        if gone(e.code()) {
                            Ok(())
                        } else {
                            Err((false, aws("DeleteVirtualMFADevice")(e)))
                        }
                    }),
                other => other,
            }
        }
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
