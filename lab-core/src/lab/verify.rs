//! `verify`: the checks that prove the lab both ways, and their table.

use anyhow::{Result, anyhow};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::*;
use crate::aws::error::{aws_error, error_code};
use crate::model::names::{EXPIRES_TAG_KEY, LAB_TAG_KEY};
use crate::ops::iam;
use crate::ops::s3;
use crate::ops::sts;
use crate::output::report::{Report, Steps};
use crate::profiles::awsfiles::FileKind;

pub use crate::output::Check;

impl Check {
    fn command(mut self, command: impl Into<String>) -> Self {
        self.command = command.into();
        self
    }
}

fn seen_error(e: &anyhow::Error) -> String {
    match aws_error(e) {
        Some(ae) if ae.code.as_deref() == Some("ExpiredToken") => {
            "ExpiredToken: the session expired; run `cargo xtask assume` again".to_owned()
        }
        Some(ae) => ae.code.clone().unwrap_or_else(|| ae.message.clone()),
        None => format!("{e:#}"),
    }
}

/// Whether `bucket` shows in the bucket list, asking again while the list lags behind a new
/// bucket (S3's bucket listing is eventually consistent), within the lab's backoff.
async fn listed_soon(c: &Clients, bucket: &str, backoff: crate::aws::retry::Backoff) -> Result<bool> {
    let mut delays = backoff.delays();
    loop {
        if s3::list_buckets(&c.s3).await?.iter().any(|b| b == bucket) {
            return Ok(true);
        }
        match delays.next() {
            Some(delay) => tokio::time::sleep(delay).await,
            None => return Ok(false),
        }
    }
}

/// A row that passes when `call` was refused with AccessDenied (or the service's equivalent),
/// not when it failed in any other way.
fn denied_row<T>(name: String, call: Result<T>) -> Check {
    let (passed, seen) = match &call {
        Ok(_) => (false, "allowed".to_owned()),
        Err(e) => (aws_error(e).is_some_and(|ae| ae.is_access_denied()), seen_error(e)),
    };
    Check {
        name,
        expected: "AccessDenied".to_owned(),
        seen,
        passed,
        command: String::new(),
    }
}

fn equal_row(name: String, expected: String, seen: Result<String>) -> Check {
    let seen = seen.unwrap_or_else(|e| seen_error(&e));
    Check {
        name,
        passed: seen == expected,
        expected,
        seen,
        command: String::new(),
    }
}

/// Proves the lab, both ways: who each profile is and what it may do, and each boundary it must
/// not cross, refused with AccessDenied.
pub async fn verify(lab: &Lab, report: &dyn Report) -> Result<Vec<Check>> {
    verify_with(lab, None, report).await
}

/// [`verify`], with the assumed role's clients given (a session held in memory, nothing written)
/// rather than read from the assumed profile.
pub async fn verify_with(lab: &Lab, session: Option<Clients>, report: &dyn Report) -> Result<Vec<Check>> {
    let mut checks = user_checks(lab).await;
    let stack = lab.ready_stack().await;
    // The lab's expiry, as setup tagged the stack: past it, AWS refuses every Allow the lab wrote.
    let lab_expires = stack
        .as_ref()
        .ok()
        .and_then(|(s, _)| s.tag(EXPIRES_TAG_KEY))
        .map(str::to_owned);
    checks.push(expiry_check(lab, lab_expires.as_deref()));
    let role_arn = stack.map(|(_, arn)| arn).ok();
    let (as_role, identity) = role_identity(lab, session, role_arn.as_deref()).await?;
    checks.push(identity);
    if let Ok(c) = &as_role {
        checks.extend(role_checks(lab, c, lab_expires.as_deref(), report).await);
    }
    if let Some(arn) = &role_arn {
        let admin_try = sts::assume_role(&lab.admin.sts, arn, "sts-lab-verify-admin", None).await;
        checks.push(
            denied_row(
                "the admin may not assume the role (trust is the lab user only)".to_owned(),
                admin_try,
            )
            .command(format!(
                "aws sts assume-role --role-arn {arn} --role-session-name sts-lab-verify-admin"
            )),
        );
    }
    Ok(checks)
}

/// Who the user profile is, and that it may use neither S3 nor IAM.
async fn user_checks(lab: &Lab) -> Vec<Check> {
    let user = &lab.names.user_profile;
    let as_user = lab.target.profile(user).await;
    let user_id = match &as_user {
        Ok(c) => sts::caller_identity(&c.sts).await.map(|id| id.arn),
        Err(e) => Err(anyhow!("{e:#}")),
    };
    let mut checks = vec![
        equal_row(format!("profile {user} is the lab user"), lab.user_arn(), user_id)
            .command(format!("aws sts get-caller-identity --profile {user}")),
    ];
    if let Ok(c) = &as_user {
        checks.push(
            denied_row(
                format!("profile {user} is denied s3 ListBuckets"),
                s3::list_buckets(&c.s3).await,
            )
            .command(format!("aws s3 ls --profile {user}")),
        );
        checks.push(
            denied_row(
                format!("profile {user} is denied iam ListUsers"),
                iam::list_users(&c.iam).await,
            )
            .command(format!("aws iam list-users --profile {user}")),
        );
    }
    checks
}

/// That the lab has not expired, from the expiry tagged on its stack.
fn expiry_check(lab: &Lab, lab_expires: Option<&str>) -> Check {
    Check {
        name: "the lab has not expired".to_owned(),
        expected: "an expiry after now".to_owned(),
        seen: match lab_expires {
            Some(_) => crate::model::expiry::text(lab_expires, now_secs()),
            None => "no expiry (no stack, or one from before --ttl; run `cargo xtask setup`)".to_owned(),
        },
        passed: lab_expires.is_some() && check_not_expired(lab_expires).is_ok(),
        command: format!(
            "aws cloudformation describe-stacks --stack-name {} --query \"Stacks[0].Tags\"",
            lab.names.stack
        ),
    }
}

/// The assumed role's clients (the session given, else the assumed profile unless its recorded
/// expiry has passed), and the check that they are the role.
async fn role_identity(
    lab: &Lab,
    session: Option<Clients>,
    role_arn: Option<&str>,
) -> Result<(Result<Clients>, Check)> {
    let role = &lab.names.assumed_profile;
    let role_name = role_arn.and_then(|arn| arn.rsplit('/').next());
    let expected_prefix = format!(
        "arn:{}:sts::{}:assumed-role/{}/",
        lab.admin_identity.partition(),
        lab.account(),
        role_name.unwrap_or("<no stack>")
    );
    // Emulators do not expire sessions; the expiry the lab recorded is checked here.
    let expired = lab
        .target
        .files
        .read_profile(FileKind::Credentials, role)?
        .and_then(|p| p.note("expires").map(str::to_owned))
        .filter(|at| DateTime::from_str(at, Format::DateTime).is_ok_and(|t| t.secs() <= now_secs()));
    let as_role = match (session, &expired) {
        (Some(clients), _) => Ok(clients),
        (None, Some(at)) => Err(anyhow!("the session expired at {at}; run `cargo xtask assume` again")),
        (None, None) => lab.target.profile(role).await,
    };
    let seen = match &as_role {
        Ok(c) => sts::caller_identity(&c.sts)
            .await
            .map(|id| id.arn)
            .unwrap_or_else(|e| seen_error(&e)),
        Err(e) => format!("{e:#}"),
    };
    let check = Check {
        name: format!("profile {role} is the assumed role"),
        passed: role_name.is_some() && seen.starts_with(&expected_prefix),
        expected: format!("{expected_prefix}<session>"),
        seen,
        command: format!("aws sts get-caller-identity --profile {role}"),
    };
    Ok((as_role, check))
}

/// What the role may do (create and list a lab bucket) and may not (IAM, a bucket outside the
/// lab's prefix).
async fn role_checks(lab: &Lab, c: &Clients, lab_expires: Option<&str>, report: &dyn Report) -> Vec<Check> {
    let (names, role) = (&lab.names, &lab.names.assumed_profile);
    let mut tags = vec![(LAB_TAG_KEY, names.lab.as_str())];
    if let Some(at) = lab_expires {
        tags.push((EXPIRES_TAG_KEY, at));
    }
    let (bucket, made) = lab_bucket(lab, c, &tags, report).await;
    let made = async {
        made?;
        // Again on its own, for backends that ignore tags in CreateBucket.
        s3::tag_bucket(&c.s3, &bucket, &tags).await?;
        Ok(if listed_soon(c, &bucket, lab.backoff).await? {
            format!("created and listed {bucket}")
        } else {
            "not listed".to_owned()
        })
    }
    .await;
    let mut checks = vec![
        equal_row(
            format!("profile {role} creates and lists a lab bucket"),
            format!("created and listed {bucket}"),
            made,
        )
        .command(format!(
            "aws s3 mb s3://{bucket} --profile {role} && aws s3 ls --profile {role}"
        )),
        denied_row(
            format!("profile {role} is denied iam ListUsers"),
            iam::list_users(&c.iam).await,
        )
        .command(format!("aws iam list-users --profile {role}")),
    ];
    let outside = names.outside_bucket(lab.account());
    let created = s3::create_bucket(&c.s3, &outside, &c.region, &tags).await;
    if created.is_ok() {
        // The boundary is broken; do not leave the proof behind.
        let _ = s3::empty_and_delete_bucket(&lab.admin.s3, &outside).await;
    }
    checks.push(
        denied_row(
            format!("profile {role} is denied a bucket outside the lab prefix"),
            created,
        )
        .command(format!("aws s3 mb s3://{outside} --profile {role}")),
    );
    checks
}

/// Creates verify's bucket as the role: the one an earlier verify made, if any (one per lab, not
/// one per run), else a new name, and a new name too when S3 still holds the listed one (deleted
/// a moment ago: OperationAborted). Returns its name and whether it was made.
async fn lab_bucket(lab: &Lab, c: &Clients, tags: &[(&str, &str)], report: &dyn Report) -> (String, Result<()>) {
    let names = &lab.names;
    let verify_prefix = names.verify_bucket_prefix(lab.account());
    let earlier = s3::list_buckets(&c.s3)
        .await
        .ok()
        .and_then(|all| all.into_iter().find(|b| b.starts_with(&verify_prefix)));
    let fresh = names.verify_bucket(lab.account(), now_secs());
    // Right after assume, the role's S3 rights may still be propagating, as the trust was.
    let create = |bucket: String| async move {
        let made = crate::aws::retry::retry_codes(
            lab.backoff,
            &["AccessDenied"],
            |w| waiting(Steps::new(report), "the role's S3 rights", w),
            || s3::create_bucket(&c.s3, &bucket, &c.region, tags),
        )
        .await;
        (bucket, made.map(drop))
    };
    match earlier {
        Some(b) => match create(b).await {
            (_, Err(e)) if matches!(error_code(&e), Some("OperationAborted" | "BucketAlreadyExists")) => {
                create(fresh).await
            }
            other => other,
        },
        None => create(fresh).await,
    }
}

/// Verify's table: one row per check; with `--explain`, each row's aws CLI command under it.
pub fn show_checks(checks: &[Check], report: &dyn Report) {
    let w = checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    for c in checks {
        let detail = if c.passed {
            c.seen.clone()
        } else {
            format!("expected {}, saw {}", c.expected, c.seen)
        };
        report.outcome(c.passed, &format!("{:<w$}  {detail}", c.name));
        if report.explain() && !c.command.is_empty() {
            report.line(&format!("    $ {}", c.command));
        }
    }
}
