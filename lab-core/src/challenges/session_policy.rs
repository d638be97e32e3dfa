//! Challenge `session-policy`: the session policy that lets a session read one bucket and
//! nothing else, the role unchanged. Pure: documents and spaces from the scene.

use serde_json::{Value as Json, json};

use super::policies::{NOT_THIS, OBJECT, READ_ME, list_buckets, session, user_trust};
use super::proof::{Spec, Who, want};
use super::{Case, Challenge, Probe, S3Call, Scene, State, Target, document, statement};
use crate::model::decide::Ask;

pub static SESSION_POLICY: Challenge = Challenge {
    name: "session-policy",
    summary: "write the session policy that lets a session read one bucket and nothing else",
    goal: |s| {
        format!(
            "Role {} may use every bucket under {}. Leave the role as it is and write a session policy (a JSON file) that lets a session read bucket {} (list it, get its objects) and nothing else: no other bucket, no writing, no listing of the account's buckets. Use it: aws sts assume-role --profile sts --role-arn {} --role-session-name reader --policy file://read-one.json; then check with --check --policy read-one.json.",
            s.role,
            s.prefix,
            s.bucket(READ_ME),
            s.role_arn
        )
    },
    hint: "A session may do only what both the role's policy and the session policy allow. Listing a bucket is s3:ListBucket on the bucket's ARN; reading an object is s3:GetObject on the object's ARN (the bucket's, then /*).",
    start: session_policy_start,
    answer: |s| {
        let read_me = s.bucket(READ_ME);
        State {
            session_policy: Some(document(vec![
                statement(
                    "ListTheBucket",
                    "Allow",
                    json!("s3:ListBucket"),
                    json!(s.bucket_arn(&read_me)),
                    None,
                ),
                statement(
                    "ReadItsObjects",
                    "Allow",
                    json!("s3:GetObject"),
                    json!(s.bucket_arn(&format!("{read_me}/*"))),
                    None,
                ),
            ])),
            ..session_policy_start(s)
        }
    },
    space: session_policy_space,
    spec: |s| {
        let (session, plain) = ([Who::Session { issued_any_time: false }], [Who::PlainSession]);
        let read_me = s.bucket(READ_ME);
        let prefix = format!("{}*", s.prefix);
        Spec {
            who: vec![session[0], plain[0]],
            actions: vec!["*".to_owned()],
            resources: Vec::new(),
            allow: vec![
                want(&session, &["s3:ListBucket"], &[s.bucket_arn(&read_me)], None),
                want(
                    &session,
                    &["s3:GetObject"],
                    &[s.bucket_arn(&format!("{read_me}/*"))],
                    None,
                ),
                // The role keeps its rights: the narrowing is the session's.
                want(&plain, &["s3:ListAllMyBuckets"], &["*".to_owned()], None),
                want(
                    &plain,
                    &["s3:*"],
                    &[s.bucket_arn(&prefix), s.bucket_arn(&format!("{prefix}/*"))],
                    None,
                ),
            ],
            either: Vec::new(),
        }
    },
    session_policy: true,
};

fn session_policy_start(s: &Scene) -> State {
    let prefix = format!("{}*", s.prefix);
    State {
        trust: user_trust(s),
        role_policy: Some(document(vec![
            list_buckets(s),
            statement(
                "UseLabBuckets",
                "Allow",
                json!("s3:*"),
                json!([s.bucket_arn(&prefix), s.bucket_arn(&format!("{prefix}/*"))]),
                s.until_expiry(),
            ),
        ])),
        session_policy: None,
        buckets: vec![READ_ME, NOT_THIS],
    }
}

/// `action` on `resource` by a session of the challenge role, with the learner's session policy.
fn asked(s: &Scene, policy: Option<&Json>, action: &str, resource: String) -> Ask {
    let ask = Ask::new(&s.session(), action, resource);
    match policy {
        Some(p) => ask.in_session(&p.to_string()),
        None => ask,
    }
}

/// The ARN of the object `key` of bucket `bucket`.
fn object_arn(s: &Scene, bucket: &str, key: &str) -> String {
    s.bucket_arn(&format!("{bucket}/{key}"))
}

fn session_policy_space(s: &Scene, policy: Option<&Json>) -> Vec<Case> {
    let (read_me, not_this) = (s.bucket(READ_ME), s.bucket(NOT_THIS));
    let object = |b: &str, key: &str| object_arn(s, b, key);
    let with = |action: &str, resource: String| asked(s, policy, action, resource);
    let probe = |call: S3Call| Probe::Session {
        session_policy: true,
        call,
    };
    let mut out = vec![
        Case::new(
            format!("a session lists {read_me}"),
            with("s3:ListBucket", s.bucket_arn(&read_me)),
            Target::Allowed,
        )
        .probed(probe(S3Call::ListObjects(read_me.clone()))),
        Case::new(
            format!("a session reads {read_me}/{OBJECT}"),
            with("s3:GetObject", object(&read_me, OBJECT)),
            Target::Allowed,
        )
        .probed(probe(S3Call::GetObject(read_me.clone(), OBJECT.into()))),
        Case::new(
            format!("a session lists {not_this}"),
            with("s3:ListBucket", s.bucket_arn(&not_this)),
            Target::Refused,
        )
        .probed(probe(S3Call::ListObjects(not_this.clone()))),
        Case::new(
            format!("a session reads {not_this}/{OBJECT}"),
            with("s3:GetObject", object(&not_this, OBJECT)),
            Target::Refused,
        )
        .probed(probe(S3Call::GetObject(not_this.clone(), OBJECT.into()))),
        Case::new(
            format!("a session writes {read_me}/new.txt"),
            with("s3:PutObject", object(&read_me, "new.txt")),
            Target::Refused,
        )
        .probed(probe(S3Call::PutObject(read_me.clone(), "new.txt".into()))),
        Case::new(
            "a session lists the account's buckets",
            with("s3:ListAllMyBuckets", "*".into()),
            Target::Refused,
        )
        .probed(probe(S3Call::ListBuckets)),
    ];
    out.extend(the_rest(s, policy));
    out
}

/// The space's other cases: what the session policy refuses beyond those before, and what the
/// role itself keeps (the narrowing is the session's, not the role's).
fn the_rest(s: &Scene, policy: Option<&Json>) -> Vec<Case> {
    let me = s.session();
    let (read_me, not_this) = (s.bucket(READ_ME), s.bucket(NOT_THIS));
    let object = |b: &str, key: &str| object_arn(s, b, key);
    let with = |action: &str, resource: String| asked(s, policy, action, resource);
    let mut out = Vec::new();
    for (action, resource) in [
        ("s3:DeleteObject", object(&read_me, OBJECT)),
        ("s3:PutObject", object(&not_this, "new.txt")),
        ("s3:DeleteBucket", s.bucket_arn(&read_me)),
        ("s3:PutBucketPolicy", s.bucket_arn(&read_me)),
        ("s3:CreateBucket", s.bucket_arn(&s.bucket("new"))),
        ("s3:GetObject", object(&format!("{read_me}-other"), OBJECT)),
    ] {
        out.push(Case::new(
            format!("a session: {action} on {resource}"),
            with(action, resource),
            Target::Refused,
        ));
    }
    // The role itself keeps its rights: the narrowing is the session's, not the role's.
    let plain = |action: &str, resource: String| Ask::new(&me, action, resource);
    out.push(
        Case::new(
            format!("a session without the session policy lists {not_this}"),
            plain("s3:ListBucket", s.bucket_arn(&not_this)),
            Target::Allowed,
        )
        .probed(session(S3Call::ListObjects(not_this.clone()))),
    );
    out.push(Case::new(
        format!("a session without the session policy writes {read_me}/new.txt"),
        plain("s3:PutObject", object(&read_me, "new.txt")),
        Target::Allowed,
    ));
    out
}
