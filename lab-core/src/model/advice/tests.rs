//! Advice ranked on the lab's own shapes, offline: the user's S3 call takes the path that exists
//! (and is refused by design), the admin's AssumeRole and a session's bucket outside the prefix
//! are refused by design, a learner's too-closed role gets the narrowest change, proven, with the
//! lab's expiry; no advice ever widens the protected user or opens a trust to the admin.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::model::decide::{Value, decide};
use crate::model::prove::{Question, Subject, Want};

const ACCOUNT: &str = "123456789012";
const USER: &str = "arn:aws:iam::123456789012:user/sts-machine-user";
const ADMIN: &str = "arn:aws:iam::123456789012:user/admin";
const ROLE: &str = "arn:aws:iam::123456789012:role/lab-role";
const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/lab-role/s1";
const EXPIRES: &str = "2026-12-09T00:00:00Z";
const PREFIX: &str = "sts-lab-default-123456789012-";

fn doc(name: &str, kind: PolicyKind, statements: serde_json::Value) -> Document {
    Document {
        name: name.into(),
        kind,
        json: json!({"Version": "2012-10-17", "Statement": statements}).to_string(),
    }
}

fn request(principal: &str, action: &str, resource: &str) -> Request {
    let context = BTreeMap::from([(
        "aws:CurrentTime".to_owned(),
        Value::One("2026-12-08T01:00:00Z".to_owned()),
    )]);
    Request {
        principal: principal.into(),
        action: action.into(),
        resource: resource.into(),
        context,
    }
}

fn want(who: &'static str, statement: serde_json::Value) -> Want {
    Want {
        who: vec![who],
        statement,
    }
}

/// The lab's goals as verify proves them: the user exactly AssumeRole on the role, the sessions
/// S3 under the prefix and the bucket list, no one but the user assuming the role.
fn ground() -> Ground {
    let subject = |id, arn: &str| Subject::new(id, id, arn, Vec::new(), BTreeMap::new());
    let prefix = format!("arn:aws:s3:::{PREFIX}*");
    let lab = Question {
        partition: "aws".into(),
        account: ACCOUNT.into(),
        subjects: vec![subject("user", USER), subject("session", SESSION)],
        actions: vec!["*".into()],
        resources: Vec::new(),
        attached: Vec::new(),
        allow: vec![
            want("user", json!({"Action": "sts:AssumeRole", "Resource": ROLE})),
            want("session", json!({"Action": "s3:ListAllMyBuckets", "Resource": "*"})),
            want(
                "session",
                json!({"Action": "s3:*", "Resource": [prefix, format!("{prefix}/*")]}),
            ),
        ],
        either: Vec::new(),
    };
    let trust = Question {
        subjects: vec![subject("user", USER), subject("admin", ADMIN)],
        actions: vec!["sts:AssumeRole".into()],
        resources: vec![ROLE.into()],
        allow: vec![want("user", json!({"Action": "sts:AssumeRole", "Resource": ROLE}))],
        ..lab.clone()
    };
    let goal = |check: &str, question: &Question, subjects: Vec<&'static str>| Goal {
        check: check.into(),
        question: question.clone(),
        subjects,
    };
    Ground {
        partition: "aws".into(),
        account: ACCOUNT.into(),
        protected: Some(USER.into()),
        admin: Some(ADMIN.into()),
        roles: vec!["lab-role".into()],
        bucket_prefix: PREFIX.into(),
        expires: Some(EXPIRES.into()),
        goals: vec![
            goal("verify's user row", &lab, vec!["user"]),
            goal("verify's session row", &lab, vec!["session"]),
            goal("verify's trust row", &trust, Vec::new()),
        ],
    }
}

/// No advice widens the user the lab protects or lets the admin into a trust.
fn widens_nothing_protected(advice: &[Advice]) {
    for a in advice {
        if let Advice::Change { steps, .. } = a {
            for step in steps {
                assert!(
                    !(step.kind == PolicyKind::Identity && step.change.contains("user sts-machine-user")),
                    "{a:?}"
                );
                assert!(!step.change.contains(ADMIN), "{a:?}");
            }
        }
    }
}

#[test]
fn the_users_s3_call_takes_the_path_that_exists_and_is_refused_by_design() {
    let req = request(USER, "s3:ListAllMyBuckets", "*");
    let path = Path {
        roles: vec!["lab-role".into()],
        commands: vec!["cargo xtask assume".into()],
    };
    let advice = advise(&ground(), &[], &req, &[path]).unwrap();
    assert_eq!(advice[0].kind(), "path", "{advice:?}");
    assert_eq!(advice[1].kind(), "by_design", "{advice:?}");
    assert!(advice[1].line().contains("verify's user row"), "{advice:?}");
    assert_eq!(advice.len(), 2, "no change when the lab wants it refused: {advice:?}");
}

#[test]
fn the_admins_assume_role_and_a_bucket_outside_the_prefix_are_refused_by_design() {
    let trust = doc(
        "trust",
        PolicyKind::Trust,
        json!([{"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "sts:AssumeRole"}]),
    );
    let admin = request(ADMIN, "sts:AssumeRole", ROLE);
    let advice = advise(&ground(), &[trust], &admin, &[]).unwrap();
    assert_eq!(advice[0].kind(), "by_design", "{advice:?}");
    assert!(advice[0].line().contains("verify's trust row"));
    widens_nothing_protected(&advice);

    let outside = request(SESSION, "s3:CreateBucket", "arn:aws:s3:::someone-elses-bucket");
    let advice = advise(&ground(), &[], &outside, &[]).unwrap();
    assert_eq!(advice[0].kind(), "by_design", "{advice:?}");
    assert!(advice[0].line().contains("verify's session row"));
}

#[test]
fn a_too_closed_role_gets_the_narrowest_change_proven_with_the_labs_expiry() {
    let object = format!("arn:aws:s3:::{PREFIX}data/report.csv");
    let req = request(SESSION, "s3:GetObject", &object);
    let policy = doc(
        "sts-lab-s3",
        PolicyKind::Identity,
        json!([{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]),
    );
    let advice = advise(&ground(), std::slice::from_ref(&policy), &req, &[]).unwrap();
    let Advice::Change {
        steps, narrow, proof, ..
    } = &advice[0]
    else {
        panic!("{advice:?}")
    };
    assert!(narrow, "{proof}");
    let How::AddStatement { statement } = &steps[0].how else {
        panic!("{steps:?}")
    };
    assert_eq!(statement["Action"], "s3:GetObject");
    assert_eq!(statement["Resource"], object.as_str());
    assert_eq!(
        statement["Condition"],
        json!({"DateLessThan": {"aws:CurrentTime": EXPIRES}})
    );
    assert!(steps[0].change.contains(EXPIRES), "{}", steps[0].change);
    // The change, made, lets the request through.
    let mut docs = vec![policy];
    let mut req2 = req.clone();
    assert!(fix::apply(&steps[0], &mut docs, &mut req2));
    assert_eq!(
        decide(&docs, &req2).unwrap().decided_by.effect,
        crate::model::decide::Effect::Allow
    );
}

#[test]
fn the_protected_user_and_the_admin_are_never_widened() {
    let mut bare = ground();
    bare.goals.clear();
    let user = request(USER, "iam:ListUsers", "*");
    let advice = advise(&bare, &[], &user, &[]).unwrap();
    assert_eq!(advice[0].kind(), "withheld", "{advice:?}");
    assert!(advice[0].line().contains("protects that user"), "{advice:?}");
    let trust = doc(
        "trust",
        PolicyKind::Trust,
        json!([{"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "sts:AssumeRole"}]),
    );
    let admin = request(ADMIN, "sts:AssumeRole", ROLE);
    let advice = advise(&bare, &[trust], &admin, &[]).unwrap();
    assert_eq!(advice[0].kind(), "withheld", "{advice:?}");
    assert!(advice[0].line().contains("to the admin"), "{advice:?}");
    widens_nothing_protected(&advice);
}

#[test]
fn a_change_that_grants_more_is_not_called_narrow() {
    // A trust statement naming the session's role for any sts action is wider than AssumeRole.
    let step = Fix {
        change: "add".into(),
        kind: PolicyKind::Trust,
        policy: None,
        how: How::AddStatement {
            statement: json!({"Effect": "Allow", "Principal": {"AWS": SESSION}, "Action": "sts:*"}),
        },
    };
    let req = request(SESSION, "sts:AssumeRole", ROLE);
    let (narrow, proof) = narrow::prove_steps(&ground(), &req, &[step]).unwrap();
    assert!(!narrow, "{proof}");
    assert!(proof.contains("grants more"), "{proof}");
}

#[test]
fn a_change_carries_the_conditions_its_policy_holds_on_every_allow_when_the_request_meets_them() {
    let object = format!("arn:aws:s3:::{PREFIX}data/report.csv");
    let secure = json!({"Bool": {"aws:SecureTransport": "true"}});
    let policy = doc(
        "sts-lab-s3",
        PolicyKind::Identity,
        json!([{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*", "Condition": secure},
               {"Effect": "Allow", "Action": "s3:CreateBucket", "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:PrincipalTag/team": "blue"}}}]),
    );
    let statement_of = |advice: &[Advice]| match &advice[0] {
        Advice::Change { steps, .. } => match &steps[0].how {
            How::AddStatement { statement } => statement.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let mut req = request(SESSION, "s3:GetObject", &object);
    req.context
        .insert("aws:SecureTransport".into(), Value::One("true".into()));
    let advice = advise(&ground(), std::slice::from_ref(&policy), &req, &[]).unwrap();
    assert_eq!(
        statement_of(&advice)["Condition"],
        json!({"Bool": {"aws:SecureTransport": "true"}, "DateLessThan": {"aws:CurrentTime": EXPIRES}})
    );
    // Over plain http the carried condition would refuse the request: the expiry alone.
    req.context
        .insert("aws:SecureTransport".into(), Value::One("false".into()));
    let advice = advise(&ground(), std::slice::from_ref(&policy), &req, &[]).unwrap();
    assert_eq!(
        statement_of(&advice)["Condition"],
        json!({"DateLessThan": {"aws:CurrentTime": EXPIRES}})
    );
}
