//! `verify`: the checks that prove the lab both ways, and their table.

use anyhow::{Result, anyhow};

use super::*;
use crate::aws::error::{aws_error, error_code};
use crate::model::names::{EXPIRES_TAG_KEY, LAB_TAG_KEY};
use crate::ops::iam;
use crate::ops::s3;
use crate::ops::sts;
use crate::output::report::{Report, Steps};

use crate::model::decide::{Ask, Caller};
pub use crate::output::{Answered, Check};

impl Check {
    fn command(mut self, command: impl Into<String>) -> Self {
        self.command = command.into();
        self
    }

    /// The request this row makes, for the prediction from the lab's documents.
    fn asking(mut self, ask: Option<Ask>) -> Self {
        self.ask = ask;
        self
    }
}

/// What the endpoint answered a call.
fn answered<T>(call: &Result<T>) -> Answered {
    match call {
        Ok(_) => Answered::Allowed,
        Err(e) => match aws_error(e) {
            Some(ae) if ae.is_access_denied() => Answered::Denied(ae.message.clone()),
            Some(_) => Answered::Failed(seen_error(e)),
            // Never reached the endpoint (a profile missing from a local file): not its answer.
            None => Answered::Nothing,
        },
    }
}

fn seen_error(e: &anyhow::Error) -> String {
    match aws_error(e) {
        Some(ae) if ae.code.as_deref() == Some("ExpiredToken") => {
            format!(
                "ExpiredToken: the session expired; run `{}` again",
                crate::output::command::xtask("assume")
            )
        }
        Some(ae) => ae.code.clone().unwrap_or_else(|| ae.message.clone()),
        None => crate::aws::error::one_line(e),
    }
}

/// The least pause between two listings of the buckets while a new one is not in the list yet:
/// a listing names every bucket of the account, heavier than most requests (a class of 50 polling
/// every tenth of a second was a quarter of its verify's requests), and a lag is seconds.
const LIST_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Whether `bucket` shows in the bucket list, asking again while the list lags behind a new
/// bucket (S3's bucket listing is eventually consistent), within the lab's backoff. Each listing
/// is ListBuckets with the bucket's own name as its prefix (the same s3:ListAllMyBuckets): the
/// answer names this bucket, not every bucket of the account (a hundred in a class of 50, each
/// listing polled several times while the list lags).
async fn listed_soon(c: &Clients, bucket: &str, backoff: crate::aws::retry::Backoff) -> Result<bool> {
    let mut delays = backoff.pausing_at_least(LIST_POLL).delays();
    loop {
        let listed = s3::list_buckets_with_regions(&c.s3, Some(bucket)).await?;
        if listed.iter().any(|b| b.name == bucket) {
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
        answered: answered(&call),
        ..Check::default()
    }
}

fn equal_row(name: String, expected: String, seen: Result<String>) -> Check {
    let answered = answered(&seen);
    let seen = seen.unwrap_or_else(|e| seen_error(&e));
    Check {
        name,
        passed: seen == expected,
        expected,
        seen,
        answered,
        ..Check::default()
    }
}

/// Proves the lab, both ways: who each profile is and what it may do, and each boundary it must
/// not cross, refused with AccessDenied.
pub async fn verify(lab: &Lab, report: &dyn Report) -> Result<Vec<Check>> {
    verify_with(lab, None, Proofs::Made, report).await
}

/// Whether `verify` proves the lab's documents too (`proven`), beside its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proofs {
    Made,
    /// A class's verify: each student's isolation is proven by requests; the proofs' time
    /// (a tenth of a second a lab) is left out.
    Skipped,
}

/// [`verify`], with the assumed role's clients given (a session held in memory, nothing written)
/// rather than read from the assumed profile.
pub async fn verify_with(
    lab: &Lab,
    session: Option<Clients>,
    proofs: Proofs,
    report: &dyn Report,
) -> Result<Vec<Check>> {
    // What does not wait on another answer is asked side by side: the user's checks, the clock,
    // the stack, and the documents every prediction reads.
    let (mut checks, now, stack, reader) = tokio::join!(
        Box::pin(user_checks(lab)),
        lab.now(),
        lab.ready_stack(),
        Box::pin(super::decisions::Reader::new(lab))
    );
    let now = now?;
    // The lab's expiry, as setup tagged the stack: past it, AWS refuses every Allow it wrote.
    let lab_expires = stack
        .as_ref()
        .ok()
        .and_then(|(s, _)| s.tag(EXPIRES_TAG_KEY))
        .map(str::to_owned);
    checks.push(expiry_check(lab, lab_expires.as_deref(), now));
    let role_arn = stack.map(|(_, arn)| arn).ok();
    let as_the_role = async {
        let (as_role, identity) = role_identity(lab, session, role_arn.as_deref(), now).await?;
        let me = Caller::of_arn(&identity.seen);
        let mut checks = vec![identity];
        if let Ok(c) = &as_role {
            checks.extend(role_checks(lab, c, me.as_ref(), lab_expires.as_deref(), report).await);
        }
        Ok::<_, anyhow::Error>(checks)
    };
    // Boxed: the SDK's futures are large, and inline they make a verify's too large for a 2 MB
    // thread stack where labs are joined.
    let (role_rows, admin_row) = tokio::join!(Box::pin(as_the_role), Box::pin(admin_check(lab, role_arn.as_deref())));
    checks.extend(role_rows?);
    checks.extend(admin_row);
    let mut reader = reader?;
    lab.judge_with(&mut reader, &mut checks).await;
    if let (Proofs::Made, Some(role_arn)) = (proofs, role_arn.as_deref()) {
        match super::proven::rows(lab, &mut reader, role_arn, lab_expires.as_deref()).await {
            Ok(rows) => checks.extend(rows),
            Err(e) => Steps::new(report).note(format!(
                "the lab's documents could not be proven: {}",
                crate::aws::error::one_line(&e)
            )),
        }
    }
    Ok(checks)
}

/// That the admin may not assume the role: its trust names the lab's user only.
async fn admin_check(lab: &Lab, role_arn: Option<&str>) -> Option<Check> {
    let arn = role_arn?;
    let admin_try = sts::assume_role(&lab.admin.sts, arn, "sts-lab-verify-admin", None).await;
    let admin = Caller::of_arn(&lab.admin_identity.arn);
    Some(
        denied_row(
            "the admin may not assume the role (trust is the lab user only)".to_owned(),
            admin_try,
        )
        .command(format!(
            "aws sts assume-role --role-arn {arn} --role-session-name sts-lab-verify-admin"
        ))
        .asking(admin.map(|a| Ask::new(&a, "sts:AssumeRole", arn))),
    )
}

/// Who the user profile is, and that it may use neither S3 nor IAM.
async fn user_checks(lab: &Lab) -> Vec<Check> {
    let user = &lab.names.user_profile;
    let as_user = lab.profile(user).await;
    let user_id = match &as_user {
        Ok(c) => sts::caller_identity(&c.sts).await.map(|id| id.arn),
        Err(e) => Err(anyhow!("{e:#}")),
    };
    let me = Caller::User(lab.names.user.clone());
    let mut checks = vec![
        equal_row(format!("profile {user} is the lab user"), lab.user_arn(), user_id)
            .command(format!("aws sts get-caller-identity --profile {user}"))
            .asking(Some(Ask::new(&me, "sts:GetCallerIdentity", "*"))),
    ];
    if let Ok(c) = &as_user {
        let (s3_call, iam_call) = tokio::join!(s3::list_buckets(&c.s3), iam::list_users(&c.iam));
        checks.push(
            denied_row(format!("profile {user} is denied s3 ListBuckets"), s3_call)
                .command(format!("aws s3 ls --profile {user}"))
                .asking(Some(Ask::new(&me, "s3:ListAllMyBuckets", "*"))),
        );
        checks.push(
            denied_row(format!("profile {user} is denied iam ListUsers"), iam_call)
                .command(format!("aws iam list-users --profile {user}"))
                .asking(Some(Ask::new(&me, "iam:ListUsers", "*"))),
        );
    }
    checks
}

/// That the lab has not expired, from the expiry tagged on its stack.
/// By the endpoint's clock: an emulator's may have been moved on.
fn expiry_check(lab: &Lab, lab_expires: Option<&str>, now: i64) -> Check {
    Check {
        name: "the lab has not expired".to_owned(),
        expected: "an expiry after now".to_owned(),
        seen: match lab_expires {
            Some(_) => crate::model::expiry::text(lab_expires, now),
            None => format!(
                "no expiry (no stack, or one from before --ttl; run `{}`)",
                crate::output::command::xtask("setup")
            ),
        },
        passed: lab_expires.and_then(|at| crate::model::expiry::has_passed(at, now)) == Some(false),
        agrees: true,
        command: format!(
            "aws cloudformation describe-stacks --stack-name {} --query \"Stacks[0].Tags\"",
            lab.names.stack
        ),
        ..Check::default()
    }
}

/// The assumed role's clients (the session given, else the assumed profile unless its recorded
/// expiry has passed), and the check that they are the role.
async fn role_identity(
    lab: &Lab,
    session: Option<Clients>,
    role_arn: Option<&str>,
    now: i64,
) -> Result<(Result<Clients>, Check)> {
    let role = &lab.names.assumed_profile;
    let role_name = role_arn.and_then(crate::model::policy::role_name);
    let expected_prefix = format!(
        "arn:{}:sts::{}:assumed-role/{}/",
        lab.admin_identity.partition(),
        lab.account(),
        role_name.unwrap_or("<no stack>")
    );
    // A session past the end `assume` recorded is not tried: its error would only say so.
    let expired = super::recorded_session_end(&lab.target, &lab.names)?
        .filter(|end| crate::model::expiry::has_ended(*end, now))
        .map(crate::model::expiry::format_utc);
    let as_role = match (session, &expired) {
        (Some(clients), _) => Ok(clients),
        (None, Some(at)) => Err(anyhow!(
            "the session expired at {at}; run `{}` again",
            crate::output::command::xtask("assume")
        )),
        (None, None) => lab.profile(role).await,
    };
    let identity = match &as_role {
        Ok(c) => sts::caller_identity(&c.sts).await.map(|id| id.arn),
        Err(e) => Err(anyhow!("{}", crate::aws::error::one_line(e))),
    };
    let answered = answered(&identity);
    let seen = identity.unwrap_or_else(|e| seen_error(&e));
    let check = Check {
        name: format!("profile {role} is the assumed role"),
        passed: role_name.is_some() && seen.starts_with(&expected_prefix),
        expected: format!("{expected_prefix}<session>"),
        ask: Caller::of_arn(&seen).map(|me| Ask::new(&me, "sts:GetCallerIdentity", "*")),
        seen,
        answered,
        command: format!("aws sts get-caller-identity --profile {role}"),
        ..Check::default()
    };
    Ok((as_role, check))
}

/// What the role may do (create and list a lab bucket) and may not (IAM, a bucket outside the
/// lab's prefix).
async fn role_checks(
    lab: &Lab,
    c: &Clients,
    me: Option<&Caller>,
    lab_expires: Option<&str>,
    report: &dyn Report,
) -> Vec<Check> {
    let ask = |action: &str, resource: String| me.map(|me| Ask::new(me, action, resource));
    let partition = lab.admin_identity.partition();
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
            "aws s3 mb s3://{bucket} --profile {role} && aws s3 ls --bucket-name-prefix {bucket} --profile {role}"
        ))
        .asking(ask("s3:CreateBucket", format!("arn:{partition}:s3:::{bucket}"))),
        denied_row(
            format!("profile {role} is denied iam ListUsers"),
            iam::list_users(&c.iam).await,
        )
        .command(format!("aws iam list-users --profile {role}"))
        .asking(ask("iam:ListUsers", "*".to_owned())),
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
        .command(format!("aws s3 mb s3://{outside} --profile {role}"))
        .asking(ask("s3:CreateBucket", format!("arn:{partition}:s3:::{outside}"))),
    );
    checks
}

/// Creates verify's bucket as the role: the one an earlier verify made, if any (one per lab, not
/// one per run), else a new name, and a new name too when S3 still holds the listed one (deleted
/// a moment ago: OperationAborted). Returns its name and whether it was made.
async fn lab_bucket(lab: &Lab, c: &Clients, tags: &[(&str, &str)], report: &dyn Report) -> (String, Result<()>) {
    let names = &lab.names;
    let verify_prefix = names.verify_bucket_prefix(lab.account());
    let earlier = s3::list_buckets_with_regions(&c.s3, Some(&verify_prefix))
        .await
        .ok()
        .and_then(|listed| listed.into_iter().next())
        .map(|b| b.name);
    let fresh = names.verify_bucket(lab.account(), crate::model::expiry::machine_now());
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
