//! Hand-written cases, from AWS's documentation, of the policy kinds beside identity and session
//! policies: a permissions boundary and a bucket policy, alone and together, for a user and for a
//! role session inside one account. IAM User Guide: "Permissions boundaries for IAM entities"
//! (evaluating effective permissions with boundaries), "Policy evaluation for requests within a
//! single account", "Session policies", "AWS JSON policy elements: Principal" (an account as
//! principal delegates to the account).

use super::*;

const ACCOUNT: &str = "123456789012";
const BUCKET: &str = "arn:aws:s3:::lab-1234-box";

fn user() -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/learner")
}

fn role() -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/lab-role")
}

fn session() -> String {
    format!("arn:aws:sts::{ACCOUNT}:assumed-role/lab-role/s1")
}

fn doc(name: &str, kind: PolicyKind, statement: &str) -> Document {
    Document {
        name: name.into(),
        kind,
        json: format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#),
    }
}

fn allows(name: &str, kind: PolicyKind, action: &str) -> Document {
    doc(
        name,
        kind,
        &format!(r#"{{"Sid":"{name}","Effect":"Allow","Action":"{action}","Resource":"*"}}"#),
    )
}

fn denies(name: &str, kind: PolicyKind, action: &str) -> Document {
    doc(
        name,
        kind,
        &format!(r#"{{"Sid":"{name}","Effect":"Deny","Action":"{action}","Resource":"*"}}"#),
    )
}

/// A bucket policy allowing `s3:ListBucket` to `principal` (a JSON value).
fn bucket_policy(principal: &str) -> Document {
    doc(
        "bucket policy",
        PolicyKind::Resource,
        &format!(
            r#"{{"Sid":"Grant","Effect":"Allow","Principal":{principal},"Action":"s3:ListBucket","Resource":"{BUCKET}"}}"#
        ),
    )
}

fn list(principal: &str, docs: &[Document]) -> (Effect, Option<String>, String) {
    let request = Request {
        principal: principal.into(),
        action: "s3:ListBucket".into(),
        resource: BUCKET.into(),
        context: BTreeMap::new(),
    };
    let d = decide(docs, &request).unwrap();
    (d.decided_by.effect, d.decided_by.policy, d.why)
}

use Effect::{Allow, ExplicitDeny, ImplicitDeny};
use PolicyKind::{Boundary, Identity, Session};

/// "An entity's permissions boundary allows it to perform only the actions that are allowed by
/// both its identity-based policies and its permissions boundaries."
#[test]
fn a_boundary_caps_the_identity_policies_and_grants_nothing() {
    let identity = allows("id", Identity, "s3:*");
    let boundary = allows("cap", Boundary, "s3:List*");
    let narrow = allows("cap", Boundary, "iam:*");
    for caller in [user(), session()] {
        assert_eq!(list(&caller, &[identity.clone(), boundary.clone()]).0, Allow);
        let (effect, _, why) = list(&caller, &[identity.clone(), narrow.clone()]);
        assert_eq!(effect, ImplicitDeny);
        assert_eq!(why, "implicit deny: no permissions boundary allows s3:ListBucket");
        // The boundary alone grants nothing.
        let (effect, _, why) = list(&caller, std::slice::from_ref(&boundary));
        assert_eq!(
            (effect, why.as_str()),
            (ImplicitDeny, "implicit deny: no statement allows s3:ListBucket")
        );
        // An explicit deny in the boundary wins.
        let deny = denies("cap", Boundary, "s3:ListBucket");
        assert_eq!(list(&caller, &[identity.clone(), deny]).0, ExplicitDeny);
    }
}

/// A session is limited by its role's identity policies, the role's boundary and its session
/// policies together: each must allow.
#[test]
fn a_session_needs_identity_boundary_and_session_policy_alike() {
    let identity = allows("id", Identity, "s3:*");
    let boundary = allows("cap", Boundary, "s3:*");
    let session_policy = allows("sp", Session, "s3:ListBucket");
    let all = [identity.clone(), boundary.clone(), session_policy.clone()];
    assert_eq!(list(&session(), &all).0, Allow);
    let no_session = allows("sp", Session, "s3:GetObject");
    let (effect, _, why) = list(&session(), &[identity.clone(), boundary, no_session]);
    assert_eq!(
        (effect, why.as_str()),
        (ImplicitDeny, "implicit deny: no session policy allows s3:ListBucket")
    );
    let narrow = allows("cap", Boundary, "s3:GetObject");
    let (_, _, why) = list(&session(), &[identity, narrow, session_policy]);
    assert_eq!(why, "implicit deny: no permissions boundary allows s3:ListBucket");
}

/// "If either the identity-based policy or the resource-based policy within the same account
/// allows the request and the other doesn't, the request is still allowed"; an explicit deny in
/// either refuses; an account principal delegates to the account's identity policies.
#[test]
fn a_bucket_policy_grants_beside_the_identity_policies() {
    let by_user = bucket_policy(&format!(r#"{{"AWS":"{}"}}"#, user()));
    let (effect, policy, _) = list(&user(), std::slice::from_ref(&by_user));
    assert_eq!((effect, policy.as_deref()), (Allow, Some("bucket policy")));
    assert_eq!(list(&user(), &[bucket_policy(r#""*""#)]).0, Allow);
    assert_eq!(list(&user(), &[bucket_policy(r#"{"AWS":"*"}"#)]).0, Allow);
    // Another principal named: nothing granted to this one.
    let other = bucket_policy(&format!(r#"{{"AWS":"arn:aws:iam::{ACCOUNT}:user/other"}}"#));
    assert_eq!(list(&user(), &[other]).0, ImplicitDeny);
    // The account named: the caller's own policies decide.
    let account = bucket_policy(&format!(r#"{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}}"#));
    assert_eq!(list(&user(), std::slice::from_ref(&account)).0, ImplicitDeny);
    let identity = allows("id", Identity, "s3:ListBucket");
    assert_eq!(list(&user(), &[identity.clone(), account]).0, Allow);
    // An explicit deny in the bucket policy wins over the identity policy's allow.
    let deny = doc(
        "bucket policy",
        PolicyKind::Resource,
        &format!(r#"{{"Sid":"Keep","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"{BUCKET}"}}"#),
    );
    let (effect, policy, _) = list(&user(), &[identity, deny]);
    assert_eq!((effect, policy.as_deref()), (ExplicitDeny, Some("bucket policy")));
}

/// "Within an account, an implicit deny in a permissions boundary does not limit the permissions
/// granted to an IAM user or a role session by a resource-based policy"; a grant to the role's
/// ARN is limited by the role's boundary and by the session's policies.
#[test]
fn a_bucket_policy_naming_the_caller_itself_passes_the_boundary_naming_the_role_does_not() {
    let narrow = allows("cap", Boundary, "iam:*");
    let to_user = bucket_policy(&format!(r#"{{"AWS":"{}"}}"#, user()));
    assert_eq!(list(&user(), &[narrow.clone(), to_user]).0, Allow);
    let to_session = bucket_policy(&format!(r#"{{"AWS":"{}"}}"#, session()));
    let session_policy = allows("sp", Session, "s3:GetObject");
    assert_eq!(
        list(&session(), &[narrow.clone(), session_policy.clone(), to_session]).0,
        Allow
    );
    let to_role = bucket_policy(&format!(r#"{{"AWS":"{}"}}"#, role()));
    let (effect, _, why) = list(&session(), &[narrow.clone(), to_role.clone()]);
    assert_eq!(
        (effect, why.as_str()),
        (
            ImplicitDeny,
            "implicit deny: no permissions boundary allows s3:ListBucket"
        )
    );
    let (_, _, why) = list(&session(), &[session_policy, to_role.clone()]);
    assert_eq!(why, "implicit deny: no session policy allows s3:ListBucket");
    // Without a boundary or session policy the role's grant needs no identity policy.
    assert_eq!(list(&session(), &[to_role]).0, Allow);
}

/// A trust is a resource policy too: one naming the user itself is not limited by the user's
/// boundary; one naming the account needs the user's identity policy and boundary both.
#[test]
fn a_trust_naming_the_user_passes_its_boundary_naming_the_account_does_not() {
    let assume = |trust_principal: &str, docs: &[Document]| {
        let mut docs = docs.to_vec();
        docs.push(doc(
            "trust",
            PolicyKind::Trust,
            &format!(
                r#"{{"Sid":"T","Effect":"Allow","Principal":{{"AWS":"{trust_principal}"}},"Action":"sts:AssumeRole"}}"#
            ),
        ));
        let request = Request {
            principal: user(),
            action: "sts:AssumeRole".into(),
            resource: role(),
            context: BTreeMap::new(),
        };
        let d = decide(&docs, &request).unwrap();
        (d.decided_by.effect, d.why)
    };
    let identity = allows("id", Identity, "sts:AssumeRole");
    let narrow = allows("cap", Boundary, "s3:*");
    assert_eq!(assume(&user(), std::slice::from_ref(&narrow)).0, Allow);
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    let (effect, why) = assume(&root, &[identity.clone(), narrow]);
    assert_eq!(
        (effect, why.as_str()),
        (
            ImplicitDeny,
            "implicit deny: no permissions boundary allows sts:AssumeRole"
        )
    );
    let wide = allows("cap", Boundary, "sts:*");
    assert_eq!(assume(&root, &[identity, wide]).0, Allow);
}
