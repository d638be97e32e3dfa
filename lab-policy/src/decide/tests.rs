//! Tests of the offline decisions on the lab's own documents: each check of `verify`, before and
//! after the lab's expiry, a session policy, a trust with and without an identity policy.

use super::*;

const ACCOUNT: &str = "123456789012";
const EXPIRES: &str = "2026-12-01T20:00:00Z";
const BEFORE: &str = "2026-12-01T19:00:00Z";
const AFTER: &str = "2026-12-01T21:00:00Z";

fn user() -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/sts-machine-user")
}

fn role() -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/sts-lab-role")
}

fn session() -> String {
    format!("arn:aws:sts::{ACCOUNT}:assumed-role/sts-lab-role/s3-sts-aws-prep")
}

fn user_policy() -> Document {
    let json = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"AssumeTheLabRoleOnly","Effect":"Allow","Action":"sts:AssumeRole","Resource":"{}","Condition":{{"DateLessThan":{{"aws:CurrentTime":"{EXPIRES}"}}}}}}]}}"#,
        role()
    );
    Document {
        name: "StsAssumePolicy".into(),
        kind: PolicyKind::Identity,
        json,
    }
}

fn trust() -> Document {
    let json = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"TrustTheLabUserOnlyAIDA1","Effect":"Allow","Principal":{{"AWS":["{}"]}},"Action":"sts:AssumeRole","Condition":{{"DateLessThan":{{"aws:CurrentTime":"{EXPIRES}"}}}}}}]}}"#,
        user()
    );
    Document {
        name: "trust of sts-lab-role".into(),
        kind: PolicyKind::Trust,
        json,
    }
}

fn role_policy() -> Document {
    let json = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Sid":"SeeBucketList","Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*","Condition":{{"DateLessThan":{{"aws:CurrentTime":"{EXPIRES}"}}}}}},
        {{"Sid":"UseLabBucketsOnly","Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::lab-1234-*","arn:aws:s3:::lab-1234-*/*"],"Condition":{{"DateLessThan":{{"aws:CurrentTime":"{EXPIRES}"}}}}}},
        {{"Sid":"NoPolicyAclOwnershipOrLock","Effect":"Deny","Action":["s3:PutBucketPolicy","s3:PutBucketAcl"],"Resource":["arn:aws:s3:::lab-1234-*"]}}]}}"#
    );
    Document {
        name: "sts-lab-s3".into(),
        kind: PolicyKind::Identity,
        json,
    }
}

fn request(principal: &str, action: &str, resource: &str, now: &str) -> Request {
    let mut context = BTreeMap::new();
    context.insert("aws:CurrentTime".to_owned(), Value::One(now.to_owned()));
    Request {
        principal: principal.to_owned(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        context,
    }
}

fn decided(documents: &[Document], request: &Request) -> (DecidedBy, String) {
    let d = decide(documents, request).unwrap();
    (d.decided_by, d.why)
}

fn allow(policy: &str, statement: &str) -> DecidedBy {
    DecidedBy {
        effect: Effect::Allow,
        policy: Some(policy.into()),
        statement: Some(statement.into()),
    }
}

const IMPLICIT: DecidedBy = DecidedBy {
    effect: Effect::ImplicitDeny,
    policy: None,
    statement: None,
};

#[test]
fn the_user_may_assume_the_role_until_the_lab_expires_and_nothing_else() {
    let docs = [user_policy(), trust()];
    let (by, why) = decided(&docs, &request(&user(), "sts:AssumeRole", &role(), BEFORE));
    assert_eq!(by, allow("StsAssumePolicy", "AssumeTheLabRoleOnly"));
    assert_eq!(why, "Allow by AssumeTheLabRoleOnly (StsAssumePolicy)");
    let (by, why) = decided(&docs, &request(&user(), "sts:AssumeRole", &role(), AFTER));
    assert_eq!(by, IMPLICIT);
    assert_eq!(
        why,
        format!(
            "implicit deny: the role's trust does not let this caller call sts:AssumeRole; TrustTheLabUserOnlyAIDA1 (trust of sts-lab-role) would allow it but its DateLessThan aws:CurrentTime \"{EXPIRES}\" does not hold (the request has {AFTER})"
        )
    );
    let (by, why) = decided(&[user_policy()], &request(&user(), "s3:ListAllMyBuckets", "*", BEFORE));
    assert_eq!(by, IMPLICIT);
    assert_eq!(why, "implicit deny: no statement allows s3:ListAllMyBuckets");
}

#[test]
fn the_trust_alone_lets_the_user_in_and_keeps_others_out() {
    // A trust that names the user itself needs no identity policy (one account).
    let (by, _) = decided(&[trust()], &request(&user(), "sts:AssumeRole", &role(), BEFORE));
    assert_eq!(by, allow("trust of sts-lab-role", "TrustTheLabUserOnlyAIDA1"));
    let admin = format!("arn:aws:iam::{ACCOUNT}:user/emulator-admin");
    let everything = Document {
        name: "admin".into(),
        kind: PolicyKind::Identity,
        json: r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#.into(),
    };
    let (by, why) = decided(
        &[everything, trust()],
        &request(&admin, "sts:AssumeRole", &role(), BEFORE),
    );
    assert_eq!(by, IMPLICIT);
    assert_eq!(
        why,
        "implicit deny: the role's trust does not let this caller call sts:AssumeRole"
    );
}

#[test]
fn the_role_uses_lab_buckets_only_and_never_writes_their_policy() {
    let docs = [role_policy()];
    let at = |action: &str, resource: &str| decided(&docs, &request(&session(), action, resource, BEFORE)).0;
    assert_eq!(at("s3:ListAllMyBuckets", "*"), allow("sts-lab-s3", "SeeBucketList"));
    assert_eq!(
        at("s3:CreateBucket", "arn:aws:s3:::lab-1234-verify"),
        allow("sts-lab-s3", "UseLabBucketsOnly")
    );
    assert_eq!(at("s3:CreateBucket", "arn:aws:s3:::elsewhere"), IMPLICIT);
    assert_eq!(at("iam:ListUsers", "*"), IMPLICIT);
    let deny = at("s3:PutBucketPolicy", "arn:aws:s3:::lab-1234-verify");
    assert_eq!(deny.effect, Effect::ExplicitDeny);
    assert_eq!(deny.statement.as_deref(), Some("NoPolicyAclOwnershipOrLock"));
    let (after, _) = decided(&docs, &request(&session(), "s3:ListAllMyBuckets", "*", AFTER));
    assert_eq!(after, IMPLICIT);
}

#[test]
fn a_session_policy_narrows_the_role() {
    let listing = Document {
        name: "session policy".into(),
        kind: PolicyKind::Session,
        json: r#"{"Version":"2012-10-17","Statement":[{"Sid":"ListOnly","Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#.into(),
    };
    let docs = [role_policy(), listing];
    let (by, why) = decided(
        &docs,
        &request(&session(), "s3:CreateBucket", "arn:aws:s3:::lab-1234-x", BEFORE),
    );
    assert_eq!(by, IMPLICIT);
    assert_eq!(why, "implicit deny: no session policy allows s3:CreateBucket");
    let (by, _) = decided(&docs, &request(&session(), "s3:ListAllMyBuckets", "*", BEFORE));
    assert_eq!(by, allow("sts-lab-s3", "SeeBucketList"));
}

#[test]
fn each_condition_is_shown_with_the_requests_value() {
    let d = decide(&[user_policy()], &request(&user(), "sts:AssumeRole", &role(), AFTER)).unwrap();
    let statement = &d.policies[0].statements[0];
    assert!(!statement.applies);
    let condition = &statement.conditions[0];
    assert_eq!(
        (condition.operator.as_str(), condition.key.as_str()),
        ("DateLessThan", "aws:CurrentTime")
    );
    assert_eq!(condition.request, Some(Value::One(AFTER.into())));
    assert!(!condition.holds);
}

#[test]
fn a_session_is_named_by_its_roles_arn_in_a_trust() {
    let statement = StatementTrace {
        sid: None,
        effect: "Allow".into(),
        deny: false,
        applies: true,
        why: String::new(),
        conditions: Vec::new(),
        principals: vec![role()],
    };
    assert_eq!(statement.naming(&session()), Naming::Role);
    assert_eq!(statement.naming(&user()), Naming::Account);
}

// Cases from AWS's documentation, written by hand: the evaluator's rules are written once (the
// emulator asks this evaluator too), so only cases written from the documentation find a mistake.

/// A chained AssumeRole's documents: the second role's trust names `principal` (the caller's
/// role, its session, or the account), with the caller's session policy `session` and the
/// caller's role policies `identity`.
fn chained(principal: &str, session_allows: Option<&str>, identity_allows: bool) -> (Vec<Document>, Request) {
    let second = format!("arn:aws:iam::{ACCOUNT}:role/second");
    let trust = Document {
        name: "trust of second".into(),
        kind: PolicyKind::Trust,
        json: format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Chain","Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
        ),
    };
    let mut docs = vec![trust];
    if identity_allows {
        docs.push(Document {
            name: "role policy".into(),
            kind: PolicyKind::Identity,
            json: r#"{"Version":"2012-10-17","Statement":[{"Sid":"MayChain","Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#.into(),
        });
    }
    if let Some(action) = session_allows {
        docs.push(Document {
            name: "session policy".into(),
            kind: PolicyKind::Session,
            json: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Narrow","Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
            ),
        });
    }
    (docs, request(&session(), "sts:AssumeRole", &second, BEFORE))
}

/// IAM User Guide, "Session policies" (access_policies.html#policies_session): "A resource-based
/// policy can specify the ARN of the user or role as a principal. [...] The session policy limits
/// the total permissions granted by the resource-based policy and the identity-based policy."
#[test]
fn a_trust_naming_the_role_is_limited_by_the_sessions_policy() {
    let (docs, req) = chained(&role(), Some("s3:ListAllMyBuckets"), false);
    let (by, why) = decided(&docs, &req);
    assert_eq!(by, IMPLICIT);
    assert_eq!(why, "implicit deny: no session policy allows sts:AssumeRole");
    // ... and the role's own policy does not lift the limit.
    let (docs, req) = chained(&role(), Some("s3:ListAllMyBuckets"), true);
    assert_eq!(decided(&docs, &req).0, IMPLICIT);
    // With the session policy allowing it, the trust alone grants it (no identity policy needed).
    let (docs, req) = chained(&role(), Some("sts:AssumeRole"), false);
    assert_eq!(decided(&docs, &req).0, allow("trust of second", "Chain"));
    // A session without a session policy is limited by nothing more.
    let (docs, req) = chained(&role(), None, false);
    assert_eq!(decided(&docs, &req).0, allow("trust of second", "Chain"));
}

/// Same page: "A resource-based policy can specify the ARN of the session as a principal. [...]
/// The resource-based policy permissions are not limited by the session policy."
#[test]
fn a_trust_naming_the_session_itself_is_not_limited_by_its_policy() {
    let (docs, req) = chained(&session(), Some("s3:ListAllMyBuckets"), false);
    assert_eq!(decided(&docs, &req).0, allow("trust of second", "Chain"));
    // An explicit deny still wins, in any policy.
    let (mut docs, req) = chained(&session(), None, false);
    docs.push(Document {
        name: "session policy".into(),
        kind: PolicyKind::Session,
        json: r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoChains","Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}"#.into(),
    });
    let (by, _) = decided(&docs, &req);
    assert_eq!(
        (by.effect, by.statement.as_deref()),
        (Effect::ExplicitDeny, Some("NoChains"))
    );
}

/// Policy evaluation logic, same account (reference_policies_evaluation-logic.html): a trust that
/// names the account delegates to the account, whose principal then needs its own identity policy
/// allowing it; a role trust must always allow the principal explicitly.
#[test]
fn a_trust_naming_the_account_needs_the_callers_own_policies() {
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    let (docs, req) = chained(&root, None, false);
    let (by, why) = decided(&docs, &req);
    assert_eq!(by, IMPLICIT);
    assert_eq!(why, "implicit deny: no statement allows sts:AssumeRole");
    let (docs, req) = chained(&root, None, true);
    assert_eq!(decided(&docs, &req).0, allow("role policy", "MayChain"));
    let (docs, req) = chained(&root, Some("s3:ListAllMyBuckets"), true);
    assert_eq!(
        decided(&docs, &req).1,
        "implicit deny: no session policy allows sts:AssumeRole"
    );
    let (docs, req) = chained(&root, Some("sts:AssumeRole"), true);
    assert_eq!(decided(&docs, &req).0, allow("role policy", "MayChain"));
}

/// IAM refuses a document without Effect, with an unknown condition operator or an unknown
/// top-level element (MalformedPolicyDocument): none is read as anything.
#[test]
fn a_document_iam_would_refuse_is_never_decided_on() {
    for (json, why) in [
        (
            r#"{"Version":"2012-10-17","Statement":[{"Action":"s3:*","Resource":"*"}]}"#,
            "statement 1: no Effect",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"u"}}}]}"#,
            "unknown condition operator StringEqualz",
        ),
        (
            r#"{"Version":"2012-10-17","Extra":true,"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            "unknown element \"Extra\"",
        ),
    ] {
        let doc = Document {
            name: "learner's".into(),
            kind: PolicyKind::Identity,
            json: json.into(),
        };
        let err = decide(&[doc], &request(&session(), "s3:ListAllMyBuckets", "*", BEFORE))
            .unwrap_err()
            .to_string();
        assert!(err.contains(why) && err.contains("MalformedPolicyDocument"), "{err}");
    }
}

fn identity(name: &str, statements: &str) -> Document {
    Document {
        name: name.into(),
        kind: PolicyKind::Identity,
        json: format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#),
    }
}

fn effect_of(
    documents: &[Document],
    principal: &str,
    action: &str,
    resource: &str,
    context: &[(&str, &str)],
) -> Effect {
    let request = Request {
        principal: principal.into(),
        action: action.into(),
        resource: resource.into(),
        context: context
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::One((*v).to_owned())))
            .collect(),
    };
    decide(documents, &request).unwrap().decided_by.effect
}

#[test]
fn a_variable_that_cannot_be_resolved_makes_its_statement_not_apply() {
    // A role's session has no aws:username: the statement is invalid for it (IAM User Guide,
    // "IAM policy elements: Variables and tags"), in Resource and in NotResource alike.
    let own = identity(
        "own",
        r#"{"Effect":"Allow","Action":"s3:CreateBucket","Resource":"arn:aws:s3:::${aws:username}-*"}"#,
    );
    assert_eq!(
        effect_of(
            std::slice::from_ref(&own),
            &session(),
            "s3:CreateBucket",
            "arn:aws:s3:::-x",
            &[]
        ),
        Effect::ImplicitDeny
    );
    assert_eq!(
        effect_of(
            &[own],
            &user(),
            "s3:CreateBucket",
            "arn:aws:s3:::sts-machine-user-x",
            &[("aws:username", "sts-machine-user")]
        ),
        Effect::Allow
    );
    let fence = identity(
        "fence",
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"OnlyMine","Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::${aws:username}/*"}"#,
    );
    assert_eq!(
        effect_of(
            std::slice::from_ref(&fence),
            &session(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &[]
        ),
        Effect::Allow
    );
    assert_eq!(
        effect_of(
            &[fence],
            &user(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &[("aws:username", "sts-machine-user")]
        ),
        Effect::ExplicitDeny
    );
    let negated = identity(
        "negated",
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"s3:prefix":"${aws:username}/"}}}"#,
    );
    assert_eq!(
        effect_of(
            &[negated],
            &session(),
            "s3:ListBucket",
            "arn:aws:s3:::b",
            &[("s3:prefix", "x/")]
        ),
        Effect::Allow
    );
}

#[test]
fn a_variable_default_is_read_when_the_key_is_missing() {
    let teams = identity(
        "teams",
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::team-${aws:PrincipalTag/team, 'none'}/*"}"#,
    );
    assert_eq!(
        effect_of(
            std::slice::from_ref(&teams),
            &user(),
            "s3:GetObject",
            "arn:aws:s3:::team-none/k",
            &[]
        ),
        Effect::Allow
    );
    assert_eq!(
        effect_of(
            std::slice::from_ref(&teams),
            &user(),
            "s3:GetObject",
            "arn:aws:s3:::team-blue/k",
            &[("aws:PrincipalTag/team", "blue")]
        ),
        Effect::Allow
    );
    assert_eq!(
        effect_of(&[teams], &user(), "s3:GetObject", "arn:aws:s3:::team-blue/k", &[]),
        Effect::ImplicitDeny
    );
    let folder = identity(
        "folder",
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":"${aws:PrincipalTag/team, 'none'}/*"}}}"#,
    );
    assert_eq!(
        effect_of(
            std::slice::from_ref(&folder),
            &user(),
            "s3:ListBucket",
            "arn:aws:s3:::b",
            &[("s3:prefix", "none/x")]
        ),
        Effect::Allow
    );
    assert_eq!(
        effect_of(
            &[folder],
            &user(),
            "s3:ListBucket",
            "arn:aws:s3:::b",
            &[("s3:prefix", "/x")]
        ),
        Effect::ImplicitDeny
    );
}
