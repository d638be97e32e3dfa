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
    assert!(statement.names_caller(&session()));
    assert!(!statement.names_caller(&user()));
}
