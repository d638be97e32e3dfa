//! A student's handout: the README with their own values in the guide's steps and their lab as a
//! diagram, written beside their credentials and config in their folder.

use anyhow::{Context, Result};

use crate::model::names::DEFAULT_SESSION_NAME;

/// What a student's handout says of their lab.
#[derive(Debug, Clone)]
pub struct Handout<'a> {
    pub lab: &'a str,
    pub user: &'a str,
    pub role_arn: &'a str,
    pub bucket_prefix: &'a str,
    pub expires: &'a str,
    pub region: &'a str,
    /// A custom endpoint (the emulator) to export, if any.
    pub endpoint: Option<&'a str>,
    /// The handout's own folder.
    pub folder: &'a str,
    /// The lab as a Mermaid diagram (`status --diagram`).
    pub diagram: &'a str,
}

/// The handout's README: the student's values, and the guide's steps with them filled in.
pub fn handout_readme(h: &Handout<'_>) -> String {
    let endpoint = endpoint_line(h.endpoint);
    format!(
        r#"# Your STS lab: {lab}

| what | yours |
|---|---|
| IAM user | `{user}` (no permissions but `sts:AssumeRole` on your role) |
| role | `{role}` |
| bucket prefix | `{prefix}` (the role may use S3 only on buckets named so) |
| region | `{region}` |
| expires | `{expires}` (after that your key can no longer assume the role) |

This folder holds your access key as profile `sts` (`credentials`, keep it to yourself) and the
region of profiles `sts` and `assumed` (`config`). Point the aws CLI at them, or paste their lines
into `~/.aws/credentials` and `~/.aws/config`:

```sh
cd {folder}   # the folder on the instructor's machine; on yours, wherever you put your copy
export AWS_SHARED_CREDENTIALS_FILE="$PWD/credentials" AWS_CONFIG_FILE="$PWD/config"
{endpoint}```

## The guide's steps, with your values

```sh
aws sts get-caller-identity --profile sts            # you are {user}
aws s3 ls --profile sts                              # AccessDenied: the user may not use S3
aws sts assume-role --role-arn {role} \
  --role-session-name {session} --profile sts
```

Put the `AccessKeyId`, `SecretAccessKey` and `SessionToken` it prints into the credentials file
as profile `assumed`:

```ini
[assumed]
aws_access_key_id = <AccessKeyId>
aws_secret_access_key = <SecretAccessKey>
aws_session_token = <SessionToken>
```

```sh
aws sts get-caller-identity --profile assumed        # the assumed role
aws s3 mb s3://{prefix}yourname --profile assumed --region {region}
aws s3 ls --profile assumed
aws s3 rb s3://{prefix}yourname --profile assumed --region {region}
```

(`--region`: a region in your shell, `AWS_REGION` as CloudShell sets it, would otherwise win over
the file's.) Your role may use buckets named `{prefix}…` only; the bucket stays until you remove it
or the class ends.

`aws s3 ls` lists every bucket of the account, your classmates' too: ListAllMyBuckets is
account-wide, names only. Your role may use only the buckets under your prefix; another's answers
AccessDenied.

Your key may assume your role only: another student's role answers AccessDenied.
Your instructor removes everything, these files' keys included, with `cargo xtask class cleanup`.

Your lab, each request allowed or denied and what decided it:

{diagram}
"#,
        lab = h.lab,
        diagram = h.diagram,
        user = h.user,
        role = h.role_arn,
        prefix = h.bucket_prefix,
        region = h.region,
        expires = h.expires,
        session = DEFAULT_SESSION_NAME,
        folder = crate::output::shell::quote(h.folder),
    )
}

/// The line that points the aws CLI at the class's endpoint, when it is not AWS.
fn endpoint_line(endpoint: Option<&str>) -> String {
    endpoint
        .map(|e| {
            format!(
                "export AWS_ENDPOINT_URL={e}   # the class runs on this endpoint, not on AWS; this address works on the instructor's machine only\n"
            )
        })
        .unwrap_or_default()
}

/// Writes a student's handout README: their values, the guide's steps with them, their lab's
/// diagram.
pub(super) async fn write(
    room: &super::Room,
    lab: &str,
    student: &crate::lab::Lab,
    outcome: &crate::lab::SetupOutcome,
) -> Result<()> {
    let folder = room.handout(lab).display().to_string();
    let diagram = crate::lab::diagram(student).await?;
    let readme = handout_readme(&Handout {
        lab,
        user: &student.names.user,
        role_arn: &outcome.role_arn,
        bucket_prefix: &student.bucket_prefix(),
        expires: &outcome.expires,
        region: &student.admin.region,
        // Whatever custom endpoint the class runs on (the emulator, or another), for the students.
        endpoint: student.admin.endpoint_url.as_deref(),
        folder: &folder,
        diagram: &diagram,
    });
    let path = room.handout(lab).join("README.md");
    tokio::fs::write(&path, readme)
        .await
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handout_has_the_students_own_values() {
        let text = handout_readme(&Handout {
            lab: "class-03",
            user: "sts-machine-user-class-03",
            role_arn: "arn:aws:iam::123456789012:role/sts-stack-aws-prep-class-03-StsRole-X",
            bucket_prefix: "sts-lab-class-03-123456789012-",
            expires: "2026-11-22T22:00:00Z",
            region: "us-east-1",
            endpoint: Some("http://127.0.0.1:5055"),
            folder: "/home/i/class/class-03",
            diagram: "```mermaid\nflowchart LR\n```",
        });
        assert!(
            text.contains("cd /home/i/class/class-03   # the folder on the instructor's machine"),
            "{text}"
        );
        assert!(text.contains("--role-arn arn:aws:iam::123456789012:role/sts-stack-aws-prep-class-03-StsRole-X"));
        assert!(
            text.contains("aws s3 mb s3://sts-lab-class-03-123456789012-yourname --profile assumed --region us-east-1")
        );
        assert!(text.contains("cargo xtask class cleanup"));
        assert!(text.contains("export AWS_ENDPOINT_URL=http://127.0.0.1:5055"));
        assert!(text.contains("2026-11-22T22:00:00Z"));
        assert_eq!(super::super::student_names("class-03").unwrap().user_profile, "sts");
    }
}
