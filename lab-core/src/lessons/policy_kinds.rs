//! The lessons about the two policy kinds beside identity and session policies:
//! `permission-boundary` (a broad policy on the role, capped by a boundary: each check says
//! which of the two decided) and `bucket-policy` (a bucket's own policy: it refuses everyone but
//! the lab's role and user, the admin too, and grants the user, who has no S3 rights of its own,
//! the listing of that bucket; the way back in is the role the policy still lets in).

use anyhow::Result;
use serde_json::json;

use super::checks::{self, ACCESS_DENIED, Cx, Probe, check, put_policy, show_diff, until_allowed, until_refused};
use super::{Applied, Rung};
use crate::model::decide::{Ask, Caller};
use crate::ops::{boundary, bucket_policy, objects, s3};
use crate::output::{Expect, LessonCheck};

pub static PERMISSION_BOUNDARY: Rung = Rung {
    name: "permission-boundary",
    summary: "a permissions boundary caps a broad role policy: allowed only where both allow",
    moves_clock: false,
    changes_lab: true,
    apply: |cx| Box::pin(async move { apply_boundary(cx).await.map(|()| Applied::default()) }),
    prove: |cx, _| Box::pin(prove_boundary(cx)),
    undo: |cx| Box::pin(undo_boundary(cx)),
};

pub static BUCKET_POLICY: Rung = Rung {
    name: "bucket-policy",
    summary: "a bucket policy refuses everyone but the lab's role (the admin too) and grants the user one bucket",
    moves_clock: false,
    changes_lab: true,
    apply: |cx| Box::pin(async move { apply_bucket_policy(cx).await.map(|()| Applied::default()) }),
    prove: |cx, _| Box::pin(prove_bucket_policy(cx)),
    undo: |cx| Box::pin(undo_bucket_policy(cx)),
};

/// The boundary: what the role may ever do, whatever its own policies say (S3 inside the lab).
fn boundary_document(cx: Cx<'_>) -> String {
    let lab = cx.lab;
    let partition = lab.admin_identity.partition();
    let prefix = lab.bucket_prefix();
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "SeeBucketList", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        {"Sid": "LabBucketsOnly", "Effect": "Allow", "Action": "s3:*",
         "Resource": [format!("arn:{partition}:s3:::{prefix}*"), format!("arn:{partition}:s3:::{prefix}*/*")]}]})
    .to_string()
}

/// The broad policy the lesson adds to the role: every S3 bucket and reading IAM's roles.
const BROAD: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Broad","Effect":"Allow","Action":["s3:*","iam:ListRoles"],"Resource":"*"}]}"#;

async fn apply_boundary(cx: Cx<'_>) -> Result<()> {
    let lab = cx.lab;
    let (name, arn) = (lab.names.boundary_policy(), lab.boundary_policy_arn());
    let document = boundary_document(cx);
    show_diff(cx.steps, &format!("the boundary policy {name}"), "", &document);
    boundary::put_managed_policy(&lab.admin.iam, &arn, &name, &document).await?;
    boundary::set_role_boundary(&lab.admin.iam, cx.role(), &arn).await?;
    cx.steps
        .note(format!("set {name} as the permissions boundary of role {}", cx.role()));
    put_policy(cx, cx.role(), lab.names.broad_policy(), BROAD).await
}

async fn prove_boundary(cx: Cx<'_>) -> Result<Vec<LessonCheck>> {
    let open = checks::assume_for_lesson(cx, "bounded", None).await?;
    let me = open.caller()?;
    // On AWS the boundary takes a moment to arrive: asked again while the session still lists.
    let listed = until_refused(cx, || boundary::first_roles(&open.clients.iam, 1)).await;
    let ask = Ask::new(&me, "iam:ListRoles", "*");
    let command = format!("aws iam list-roles --max-items 1 {}", open.how);
    let name = "the session lists the account's roles (the broad policy allows it, the boundary does not)";
    let roles = Probe::new(name, ACCESS_DENIED, &listed, command)
        .asking(ask)
        .because("no permissions boundary allows");
    let buckets = s3::list_buckets(&open.clients.s3).await;
    let ask = Ask::new(&me, "s3:ListAllMyBuckets", "*");
    let command = format!("aws s3 ls {}", open.how);
    let name = "the session lists the buckets (the role's policies and the boundary both allow it)";
    let list = Probe::new(name, Expect::Allowed, &buckets, command).asking(ask);
    // The claim is a set: where both allow, and nowhere else. The broad policy holds no expiry,
    // so neither does the set.
    let prefix = format!(
        "arn:{}:s3:::{}*",
        cx.lab.admin_identity.partition(),
        cx.lab.bucket_prefix()
    );
    let both = vec![
        json!({"Action": "s3:ListAllMyBuckets", "Resource": "*"}),
        json!({"NotAction": crate::model::policy::role_denied_actions(), "Resource": [prefix.clone(), format!("{prefix}/*")]}),
    ];
    let name = "proof: the bounded session may make exactly what both allow (S3 in the lab but what the stack denies, the bucket list)";
    let exactly = super::proven::exactly(cx, "permission-boundary", name, &me, None, both).await?;
    Ok(vec![check(cx, roles).await?, check(cx, list).await?, exactly])
}

async fn undo_boundary(cx: Cx<'_>) -> Result<()> {
    let lab = cx.lab;
    let name = lab.names.broad_policy();
    if crate::ops::policies::delete_role_policy(&lab.admin.iam, cx.role(), name).await? {
        cx.steps
            .note(format!("deleted the inline policy {name} of role {}", cx.role()));
    }
    crate::lab::remove_boundary(lab, &[cx.role().to_owned()], &lab.boundary_policy_arn(), cx.steps).await
}

/// The lesson's bucket policy: everyone but the lab's role and user is refused everything on the
/// bucket (reading this policy aside, so that `why` can show it), and the user, who has no S3
/// rights of its own, may list the bucket.
fn guard_document(cx: Cx<'_>, bucket: &str) -> String {
    let lab = cx.lab;
    let partition = lab.admin_identity.partition();
    let bucket_arn = format!("arn:{partition}:s3:::{bucket}");
    let user_arn = lab.names.user_arn(partition, lab.account());
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "OnlyTheLabsRoleAndUser", "Effect": "Deny", "Principal": "*", "NotAction": "s3:GetBucketPolicy",
         "Resource": [bucket_arn.clone(), format!("{bucket_arn}/*")],
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [cx.role_arn, user_arn.clone()]}}},
        {"Sid": "TheLabsUserMayList", "Effect": "Allow", "Principal": {"AWS": user_arn},
         "Action": "s3:ListBucket", "Resource": bucket_arn}]})
    .to_string()
}

async fn apply_bucket_policy(cx: Cx<'_>) -> Result<()> {
    let lab = cx.lab;
    let bucket = lab.names.guarded_bucket(lab.account());
    let open = checks::assume_for_lesson(cx, "guard", None).await?;
    s3::create_bucket(&open.clients.s3, &bucket, &open.clients.region, &[]).await?;
    cx.steps.note(format!("the role's session made bucket {bucket}"));
    let document = guard_document(cx, &bucket);
    show_diff(
        cx.steps,
        &format!("the policy of bucket {bucket} (put by the admin)"),
        "",
        &document,
    );
    bucket_policy::put(&lab.admin.s3, &bucket, &document).await
}

async fn prove_bucket_policy(cx: Cx<'_>) -> Result<Vec<LessonCheck>> {
    let lab = cx.lab;
    let bucket = lab.names.guarded_bucket(lab.account());
    let arn = format!("arn:{}:s3:::{bucket}", lab.admin_identity.partition());
    let mut out = Vec::new();
    let admin_list = until_refused(cx, || objects::list_objects(&lab.admin.s3, &bucket)).await;
    let name = "the admin lists the guarded bucket";
    let command = format!("aws s3 ls s3://{bucket}  # as the admin");
    let probe = Probe::new(name, ACCESS_DENIED, &admin_list, command);
    let probe = match Caller::of_arn(&lab.admin_identity.arn) {
        Some(admin) => probe
            .asking(Ask::new(&admin, "s3:ListBucket", &arn))
            .because("explicit deny"),
        None => probe.limit("the account's root user: a bucket policy cannot lock it out of the policy itself"),
    };
    out.push(check(cx, probe).await?);
    let user = lab.profile(&lab.names.user_profile).await?;
    let me = Caller::User(lab.names.user.clone());
    let listed = until_allowed(cx, || objects::list_objects(&user.s3, &bucket)).await;
    let command = format!("aws s3 ls s3://{bucket} --profile {}", lab.names.user_profile);
    let name = "the lab's user (no S3 rights of its own) lists the guarded bucket";
    let probe = Probe::new(name, Expect::Allowed, &listed, command).asking(Ask::new(&me, "s3:ListBucket", &arn));
    out.push(check(cx, probe).await?);
    let all = s3::list_buckets(&user.s3).await;
    let command = format!("aws s3 ls --profile {}", lab.names.user_profile);
    let name = "the lab's user lists every bucket (the bucket policy grants one bucket only)";
    let probe = Probe::new(name, ACCESS_DENIED, &all, command).asking(Ask::new(&me, "s3:ListAllMyBuckets", "*"));
    out.push(check(cx, probe).await?);
    let open = checks::assume_for_lesson(cx, "guarded", None).await?;
    let listed = objects::list_objects(&open.clients.s3, &bucket).await;
    let command = format!("aws s3 ls s3://{bucket} {}", open.how);
    let name = "a session of the lab's role lists the guarded bucket";
    let probe =
        Probe::new(name, Expect::Allowed, &listed, command).asking(Ask::new(&open.caller()?, "s3:ListBucket", &arn));
    out.push(check(cx, probe).await?);
    Ok(out)
}

/// The way back in: the admin is refused, the role is not; a session of the role deletes the
/// policy, then the admin deletes the bucket.
async fn undo_bucket_policy(cx: Cx<'_>) -> Result<()> {
    let lab = cx.lab;
    let bucket = lab.names.guarded_bucket(lab.account());
    crate::lab::unlock_guarded_bucket(lab, cx.steps).await?;
    if s3::empty_and_delete_bucket(&lab.admin.s3, &bucket).await? == crate::ops::Deleted::Deleted {
        cx.steps.note(format!("deleted bucket {bucket}"));
    }
    Ok(())
}
