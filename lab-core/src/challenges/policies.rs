//! The challenges on what a role's sessions may do: `narrow-role` (from `s3:*` on everything to
//! creating the lab's buckets and listing them) and `revoke-old-sessions` (refuse the sessions
//! issued before the challenge, not the new ones); `session_policy.rs` holds the third. Pure:
//! documents and spaces from the scene.

use serde_json::{Value as Json, json};

use super::proof::{Spec, Who, want};
use super::{Case, Challenge, Probe, S3Call, Scene, State, Target, document, statement, trust};
use crate::model::decide::Ask;
use crate::model::expiry::format_utc;
use crate::model::names::CHALLENGE_ROLE_POLICY;

/// The bucket narrow-role starts with, under the lab's prefix, with one object.
const MINE: &str = "mine";
/// The buckets of session-policy: the one to read, and one beside it.
pub(super) const READ_ME: &str = "read-me";
pub(super) const NOT_THIS: &str = "not-this";
/// The object each challenge bucket holds.
pub(super) const OBJECT: &str = "hello.txt";

/// The trust of the role-policy challenges: the lab's user, until the lab expires.
pub(super) fn user_trust(scene: &Scene) -> Json {
    trust(&scene.user_arn, &["sts:AssumeRole"], scene.until_expiry())
}

pub(super) fn list_buckets(scene: &Scene) -> Json {
    statement(
        "ListTheBuckets",
        "Allow",
        json!("s3:ListAllMyBuckets"),
        json!("*"),
        scene.until_expiry(),
    )
}

pub static NARROW_ROLE: Challenge = Challenge {
    name: "narrow-role",
    summary: "narrow a role from s3:* on everything to creating the lab's buckets and listing them",
    goal: |s| {
        format!(
            "Sessions of role {} may do anything in S3 (s3:* on *, its policy {CHALLENGE_ROLE_POLICY}). Narrow it: a session may create buckets whose names start with {} and list the account's buckets, and nothing else (no deleting, no objects, no bucket policies or ACLs, no bucket outside the prefix).",
            s.role, s.prefix
        )
    },
    hint: "s3:ListAllMyBuckets has no resource but \"*\"; s3:CreateBucket's resource is the bucket's ARN, and a wildcard after the prefix names every bucket that starts with it.",
    start: |s| State {
        trust: user_trust(s),
        role_policy: Some(document(vec![statement(
            "EverythingInS3",
            "Allow",
            json!("s3:*"),
            json!("*"),
            s.until_expiry(),
        )])),
        session_policy: None,
        buckets: vec![MINE],
    },
    answer: |s| State {
        trust: user_trust(s),
        role_policy: Some(document(vec![
            statement(
                "CreateLabBuckets",
                "Allow",
                json!("s3:CreateBucket"),
                json!(s.bucket_arn(&format!("{}*", s.prefix))),
                s.until_expiry(),
            ),
            list_buckets(s),
        ])),
        session_policy: None,
        buckets: vec![MINE],
    },
    space: |s, _| narrow_role_space(s),
    spec: |s| {
        let session = [Who::Session { issued_any_time: false }];
        Spec {
            who: session.to_vec(),
            actions: vec!["*".to_owned()],
            resources: Vec::new(),
            allow: vec![
                want(
                    &session,
                    &["s3:CreateBucket"],
                    &[s.bucket_arn(&format!("{}*", s.prefix))],
                    None,
                ),
                want(&session, &["s3:ListAllMyBuckets"], &["*".to_owned()], None),
            ],
            either: Vec::new(),
        }
    },
    session_policy: false,
};

fn narrow_role_space(s: &Scene) -> Vec<Case> {
    let me = s.session();
    let mine = s.bucket(MINE);
    let new = s.bucket("new");
    let elsewhere = format!("sts-lab-elsewhere-{}", s.account);
    let ask = |action: &str, resource: String| Ask::new(&me, action, resource);
    let mut out = vec![
        Case::new(
            "a session lists the account's buckets",
            ask("s3:ListAllMyBuckets", "*".into()),
            Target::Allowed,
        )
        .probed(session(S3Call::ListBuckets)),
        Case::new(
            format!("a session creates bucket {new}"),
            ask("s3:CreateBucket", s.bucket_arn(&new)),
            Target::Allowed,
        ),
        Case::new(
            format!("a session creates bucket {elsewhere} (outside the prefix)"),
            ask("s3:CreateBucket", s.bucket_arn(&elsewhere)),
            Target::Refused,
        ),
        Case::new(
            format!("a session lists bucket {mine}"),
            ask("s3:ListBucket", s.bucket_arn(&mine)),
            Target::Refused,
        )
        .probed(session(S3Call::ListObjects(mine.clone()))),
        Case::new(
            format!("a session reads {mine}/{OBJECT}"),
            ask("s3:GetObject", s.bucket_arn(&format!("{mine}/{OBJECT}"))),
            Target::Refused,
        )
        .probed(session(S3Call::GetObject(mine.clone(), OBJECT.into()))),
        Case::new(
            format!("a session writes {mine}/new.txt"),
            ask("s3:PutObject", s.bucket_arn(&format!("{mine}/new.txt"))),
            Target::Refused,
        )
        .probed(session(S3Call::PutObject(mine.clone(), "new.txt".into()))),
    ];
    for action in [
        "s3:DeleteBucket",
        "s3:PutBucketPolicy",
        "s3:PutBucketAcl",
        "s3:PutBucketTagging",
        "s3:PutBucketPublicAccessBlock",
    ] {
        for bucket in [&mine, &elsewhere] {
            out.push(Case::new(
                format!("a session: {action} on {bucket}"),
                ask(action, s.bucket_arn(bucket)),
                Target::Refused,
            ));
        }
    }
    out.push(Case::new(
        format!("a session deletes {mine}/{OBJECT}"),
        ask("s3:DeleteObject", s.bucket_arn(&format!("{mine}/{OBJECT}"))),
        Target::Refused,
    ));
    out
}

pub(super) fn session(call: S3Call) -> Probe {
    Probe::Session {
        session_policy: false,
        call,
    }
}

pub static REVOKE_OLD_SESSIONS: Challenge = Challenge {
    name: "revoke-old-sessions",
    summary: "refuse every session issued before now (leaked keys), not the ones issued after",
    goal: |s| {
        format!(
            "Keys of role {}'s sessions leaked. Every session issued before {} (when the challenge was set) must be refused everything; sessions issued from now on keep their rights (listing the account's buckets). Change the role's policies, not its trust: a session lives on after its role's trust changes.",
            s.role,
            format_utc(s.started)
        )
    },
    hint: "aws:TokenIssueTime is when the session was issued; a Deny of everything with DateLessThan on it, set to a time after the old sessions and before the new ones, is what IAM's console writes as AWSRevokeOlderSessions.",
    start: |s| State {
        trust: user_trust(s),
        role_policy: Some(document(vec![list_buckets(s)])),
        session_policy: None,
        buckets: Vec::new(),
    },
    answer: |s| State {
        trust: user_trust(s),
        role_policy: Some(document(vec![
            list_buckets(s),
            statement(
                "RevokeOlderSessions",
                "Deny",
                json!("*"),
                json!("*"),
                Some(json!({"DateLessThan": {"aws:TokenIssueTime": format_utc(s.now)}})),
            ),
        ])),
        session_policy: None,
        buckets: Vec::new(),
    },
    space: |s, _| revoke_space(s),
    spec: |s| {
        let session = [Who::Session { issued_any_time: true }];
        let list = ["s3:ListAllMyBuckets"];
        let all = ["*".to_owned()];
        let (started, now) = (format_utc(s.started), format_utc(s.now));
        Spec {
            who: session.to_vec(),
            actions: vec!["*".to_owned()],
            resources: Vec::new(),
            // A session issued now keeps its rights; one issued before the challenge, none.
            allow: vec![want(
                &session,
                &list,
                &all,
                Some(json!({"DateGreaterThanEquals": {"aws:TokenIssueTime": now}})),
            )],
            // Sessions issued between the challenge and now: the learner's cut-off is among them.
            either: vec![want(
                &session,
                &list,
                &all,
                Some(
                    json!({"DateGreaterThanEquals": {"aws:TokenIssueTime": started}, "DateLessThan": {"aws:TokenIssueTime": now}}),
                ),
            )],
        }
    },
    session_policy: false,
};

fn revoke_space(s: &Scene) -> Vec<Case> {
    let me = s.session();
    let old = format_utc(s.started - 60);
    let new = format_utc(s.now);
    let mine = s.bucket_arn(&s.bucket(MINE));
    let mut out = Vec::new();
    for (action, resource) in [
        ("s3:ListAllMyBuckets", "*".to_owned()),
        ("s3:CreateBucket", mine.clone()),
        ("s3:ListBucket", mine),
        ("iam:ListRoles", "*".to_owned()),
    ] {
        out.push(Case::new(
            format!("a session issued at {old}: {action}"),
            Ask::new(&me, action, resource).with("aws:TokenIssueTime", &old),
            Target::Refused,
        ));
    }
    out.push(
        Case::new(
            format!("a session issued now ({new}) lists the account's buckets"),
            Ask::new(&me, "s3:ListAllMyBuckets", "*").with("aws:TokenIssueTime", &new),
            Target::Allowed,
        )
        .probed(session(S3Call::ListBuckets)),
    );
    out
}
