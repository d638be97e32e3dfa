//! Every challenge's check against the answers learners write: for each, answers too open, too
//! closed, and right but written otherwise (wildcards, lists, `NotAction`, extra statements,
//! `IfExists`, keys in another case), each judged by the proof as the goal wants, every miss with
//! its counterexample (decided again by the evaluator in `proof_of`).

use serde_json::{Value as Json, json};

use super::tests::{NOW, proof_of, scene};
use super::{Challenge, Scene, State, named};
use crate::model::expiry::format_utc;
use crate::model::prove::Miss;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Right,
    TooOpen,
    TooClosed,
    /// Both at once (a reversed condition).
    Both,
}

use Expect::{Both, Right, TooClosed, TooOpen};

/// Checks each answer of `table` on `ch`, each `(what, expected, state, session policy)`.
fn judge(ch: &Challenge, table: Vec<(&str, Expect, State, Option<Json>)>) {
    let mut wrong = Vec::new();
    for (what, expected, state, session) in &table {
        let proof = proof_of(ch, state, session.as_ref());
        assert!(proof.outside.is_empty(), "{}: {what}: {:?}", ch.name, proof.outside);
        let open = proof.misses.iter().any(|m| m.miss == Miss::TooOpen);
        let closed = proof.misses.iter().any(|m| m.miss == Miss::TooClosed);
        let got = match (open, closed) {
            (false, false) => Right,
            (true, false) => TooOpen,
            (false, true) => TooClosed,
            (true, true) => Both,
        };
        if got != *expected {
            let examples: Vec<String> = proof
                .misses
                .iter()
                .map(|m| format!("{:?} {} {} on {} {:?}", m.miss, m.who, m.action, m.resource, m.carried))
                .collect();
            wrong.push(format!("{what}: expected {expected:?}, judged {got:?}: {examples:?}"));
        }
    }
    let count = |e: Expect| {
        table
            .iter()
            .filter(|(_, x, _, _)| *x == e || (*x == Both && e != Right))
            .count()
    };
    assert!(
        count(TooOpen) >= 5 && count(TooClosed) >= 2 && count(Right) >= 3,
        "{}: table too small",
        ch.name
    );
    assert!(wrong.is_empty(), "{}:\n{}", ch.name, wrong.join("\n"));
}

fn policy(statements: Json) -> Option<Json> {
    Some(json!({"Version": "2012-10-17", "Statement": statements}))
}

/// The challenge's start with the role's policy `statements`.
fn role(ch: &Challenge, s: &Scene, statements: Json) -> State {
    State {
        role_policy: policy(statements),
        ..ch.start(s)
    }
}

/// The challenge's start with the trust `statements`.
fn trust(ch: &Challenge, s: &Scene, statements: Json) -> State {
    State {
        trust: json!({"Version": "2012-10-17", "Statement": statements}),
        ..ch.start(s)
    }
}

const LIST: &str = r#"{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}"#;

fn list() -> Json {
    serde_json::from_str(LIST).unwrap_or_default()
}

#[test]
fn narrow_role_answers() {
    let (s, ch) = (scene(), named("narrow-role").unwrap());
    let p = format!("arn:aws:s3:::{}*", s.prefix);
    let create = |actions: Json, resource: &str| json!({"Effect": "Allow", "Action": actions, "Resource": resource});
    let table = vec![
        (
            "CreateBucket with lifecycle, versioning and CORS (the issue's answer)",
            TooOpen,
            role(
                ch,
                &s,
                json!([
                    create(
                        json!([
                            "s3:CreateBucket",
                            "s3:PutLifecycleConfiguration",
                            "s3:PutBucketVersioning",
                            "s3:PutBucketCORS"
                        ]),
                        &p
                    ),
                    list()
                ]),
            ),
            None,
        ),
        (
            "s3:* under the prefix",
            TooOpen,
            role(ch, &s, json!([create(json!("s3:*"), &p), list()])),
            None,
        ),
        (
            "s3:Create* under the prefix",
            TooOpen,
            role(ch, &s, json!([create(json!("s3:Create*"), &p), list()])),
            None,
        ),
        (
            "and DeleteBucket",
            TooOpen,
            role(
                ch,
                &s,
                json!([create(json!(["s3:CreateBucket", "s3:DeleteBucket"]), &p), list()]),
            ),
            None,
        ),
        (
            "NotAction of the deletions",
            TooOpen,
            role(
                ch,
                &s,
                json!([{"Effect": "Allow", "NotAction": ["s3:DeleteBucket", "s3:DeleteObject"], "Resource": p}, list()]),
            ),
            None,
        ),
        (
            "s3:List* on everything",
            TooOpen,
            role(
                ch,
                &s,
                json!([create(json!("s3:CreateBucket"), &p), create(json!("s3:List*"), "*")]),
            ),
            None,
        ),
        (
            "one bucket's name only",
            TooClosed,
            role(
                ch,
                &s,
                json!([
                    create(json!("s3:CreateBucket"), &format!("arn:aws:s3:::{}new", s.prefix)),
                    list()
                ]),
            ),
            None,
        ),
        (
            "no listing",
            TooClosed,
            role(ch, &s, json!([create(json!("s3:CreateBucket"), &p)])),
            None,
        ),
        (
            "only in one region",
            TooClosed,
            role(
                ch,
                &s,
                json!([{"Effect": "Allow", "Action": "s3:CreateBucket", "Resource": p, "Condition": {"StringEquals": {"s3:LocationConstraint": "eu-west-1"}}}, list()]),
            ),
            None,
        ),
        (
            "lists and lower case",
            Right,
            role(
                ch,
                &s,
                json!([
                    create(json!(["s3:createbucket"]), &p),
                    create(json!(["s3:ListAllMyBuckets"]), "*")
                ]),
            ),
            None,
        ),
        (
            "s3:* denied but for CreateBucket (NotAction in a Deny)",
            Right,
            role(
                ch,
                &s,
                json!([create(json!("s3:*"), &p), {"Effect": "Deny", "NotAction": "s3:CreateBucket", "Resource": p}, list()]),
            ),
            None,
        ),
        (
            "an IfExists condition that always holds",
            Right,
            role(
                ch,
                &s,
                json!([{"Effect": "Allow", "Action": "s3:CreateBucket", "Resource": [p], "Condition": {"DateLessThanIfExists": {"aws:CurrentTime": format_utc(NOW + 3600)}}}, list()]),
            ),
            None,
        ),
    ];
    judge(ch, table);
}

#[test]
fn external_id_answers() {
    let (s, ch) = (scene(), named("external-id").unwrap());
    let id = format!("{}-partner", s.role);
    let user = s.user_arn.clone();
    let allow = |principal: Json, condition: Json| json!({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole", "Condition": condition});
    let table = vec![
        (
            "StringLike with a trailing * (the issue's answer)",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(
                    json!(user),
                    json!({"StringLike": {"sts:ExternalId": format!("{id}*")}})
                )]),
            ),
            None,
        ),
        (
            "StringLike *",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(json!(user), json!({"StringLike": {"sts:ExternalId": "*"}}))]),
            ),
            None,
        ),
        (
            "any case",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(
                    json!(user),
                    json!({"StringEqualsIgnoreCase": {"sts:ExternalId": id}})
                )]),
            ),
            None,
        ),
        (
            "the account as principal",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(
                    json!("arn:aws:iam::123456789012:root"),
                    json!({"StringEquals": {"sts:ExternalId": id}})
                )]),
            ),
            None,
        ),
        (
            "IfExists: no id passes",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(
                    json!(user),
                    json!({"StringEqualsIfExists": {"sts:ExternalId": id}})
                )]),
            ),
            None,
        ),
        (
            "StringNotEquals another id",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(
                    json!(user),
                    json!({"StringNotEquals": {"sts:ExternalId": "another-partner"}})
                )]),
            ),
            None,
        ),
        (
            "the id in capitals",
            Both,
            trust(
                ch,
                &s,
                json!([allow(
                    json!(user),
                    json!({"StringEquals": {"sts:ExternalId": id.to_uppercase()}})
                )]),
            ),
            None,
        ),
        (
            "an id and a SourceIdentity required",
            TooClosed,
            trust(
                ch,
                &s,
                json!([allow(
                    json!(user),
                    json!({"StringEquals": {"sts:ExternalId": id, "sts:SourceIdentity": s.user}})
                )]),
            ),
            None,
        ),
        (
            "the key in lower case, lists",
            Right,
            trust(
                ch,
                &s,
                json!([{"Effect": "Allow", "Principal": {"AWS": [user]}, "Action": ["sts:AssumeRole"], "Condition": {"StringEquals": {"sts:externalid": [id]}}}]),
            ),
            None,
        ),
        (
            "an Allow and a Deny of every other id",
            Right,
            trust(
                ch,
                &s,
                json!([allow(json!(user), json!({})), {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": {"StringNotEquals": {"sts:ExternalId": id}}}]),
            ),
            None,
        ),
        (
            "with a Null check",
            Right,
            trust(
                ch,
                &s,
                json!([allow(
                    json!(user),
                    json!({"StringEquals": {"sts:ExternalId": id}, "Null": {"sts:ExternalId": "false"}})
                )]),
            ),
            None,
        ),
    ];
    judge(ch, table);
}

#[test]
fn revoke_old_sessions_answers() {
    let (s, ch) = (scene(), named("revoke-old-sessions").unwrap());
    let deny = |op: &str, key: &str, at: i64| json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {op: {key: format_utc(at)}}});
    let table = vec![
        (
            "a cut-off an hour too early",
            TooOpen,
            role(
                ch,
                &s,
                json!([list(), deny("DateLessThan", "aws:TokenIssueTime", s.started - 3600)]),
            ),
            None,
        ),
        (
            "the time now, not the issue time",
            TooOpen,
            role(
                ch,
                &s,
                json!([list(), deny("DateLessThan", "aws:CurrentTime", s.now - 60)]),
            ),
            None,
        ),
        (
            "the cut-off and s3:* for everyone",
            TooOpen,
            role(
                ch,
                &s,
                json!([list(), {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, deny("DateLessThan", "aws:TokenIssueTime", s.now)]),
            ),
            None,
        ),
        (
            "DateLessThanEquals an hour early",
            TooOpen,
            role(
                ch,
                &s,
                json!([
                    list(),
                    deny("DateLessThanEquals", "aws:TokenIssueTime", s.started - 3600)
                ]),
            ),
            None,
        ),
        (
            "a Deny of the buckets' ARNs only",
            TooOpen,
            role(
                ch,
                &s,
                json!([list(), {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::*", "Condition": {"DateLessThan": {"aws:TokenIssueTime": format_utc(s.now)}}}]),
            ),
            None,
        ),
        (
            "the condition reversed",
            Both,
            role(
                ch,
                &s,
                json!([list(), deny("DateGreaterThan", "aws:TokenIssueTime", s.started)]),
            ),
            None,
        ),
        (
            "a Deny of everything",
            TooClosed,
            role(
                ch,
                &s,
                json!([list(), {"Effect": "Deny", "Action": "*", "Resource": "*"}]),
            ),
            None,
        ),
        (
            "a cut-off in the future",
            TooClosed,
            role(
                ch,
                &s,
                json!([list(), deny("DateLessThan", "aws:TokenIssueTime", s.now + 3600)]),
            ),
            None,
        ),
        (
            "the cut-off at the challenge's start",
            Right,
            role(
                ch,
                &s,
                json!([list(), deny("DateLessThan", "aws:TokenIssueTime", s.started)]),
            ),
            None,
        ),
        (
            "the Allow itself conditioned",
            Right,
            role(
                ch,
                &s,
                json!([{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:TokenIssueTime": format_utc(s.started)}}}]),
            ),
            None,
        ),
        (
            "NotAction in the Deny, the key in lower case",
            Right,
            role(
                ch,
                &s,
                json!([list(), {"Effect": "Deny", "NotAction": "iam:ListRoles", "Resource": "*", "Condition": {"DateLessThan": {"aws:tokenissuetime": format_utc(s.started)}}}]),
            ),
            None,
        ),
    ];
    judge(ch, table);
}

#[test]
fn session_policy_answers() {
    let (s, ch) = (scene(), named("session-policy").unwrap());
    let read_me = format!("arn:aws:s3:::{}read-me", s.prefix);
    let objects = format!("{read_me}/*");
    let start = ch.start(&s);
    let session = |statements: Json| (start.clone(), policy(statements));
    let allow = |actions: Json, resources: Json| json!({"Effect": "Allow", "Action": actions, "Resource": resources});
    let the_two = || {
        vec![
            allow(json!("s3:ListBucket"), json!(read_me)),
            allow(json!("s3:GetObject"), json!(objects)),
        ]
    };
    let with = |extra: Json| {
        let mut all = the_two();
        all.push(extra);
        Json::Array(all)
    };
    type Row<'a> = (&'a str, Expect, (State, Option<Json>));
    let rows: Vec<Row> = vec![
        (
            "Get* and List* on everything",
            TooOpen,
            session(json!([allow(json!(["s3:Get*", "s3:List*"]), json!("*"))])),
        ),
        (
            "a prefix, not the name",
            TooOpen,
            session(json!([allow(
                json!(["s3:ListBucket", "s3:GetObject"]),
                json!([format!("{read_me}*")])
            )])),
        ),
        (
            "s3:* on the bucket",
            TooOpen,
            session(json!([allow(json!("s3:*"), json!([read_me, objects]))])),
        ),
        (
            "and the account's buckets",
            TooOpen,
            session(with(allow(json!("s3:ListAllMyBuckets"), json!("*")))),
        ),
        (
            "NotAction of the writes",
            TooOpen,
            session(
                json!([{"Effect": "Allow", "NotAction": ["s3:PutObject", "s3:DeleteObject"], "Resource": [read_me, objects]}]),
            ),
        ),
        (
            "any bucket ending in read-me",
            TooOpen,
            session(json!([
                allow(json!("s3:GetObject"), json!("arn:aws:s3:::*read-me/*")),
                allow(json!("s3:ListBucket"), json!(read_me))
            ])),
        ),
        (
            "no listing",
            TooClosed,
            session(json!([allow(json!("s3:GetObject"), json!(objects))])),
        ),
        (
            "listing one folder only",
            TooClosed,
            session(
                json!([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": read_me, "Condition": {"StringEquals": {"s3:prefix": "docs/"}}}, allow(json!("s3:GetObject"), json!(objects))]),
            ),
        ),
        (
            "one statement, lists",
            Right,
            session(json!([allow(
                json!(["s3:ListBucket", "s3:GetObject"]),
                json!([read_me, objects])
            )])),
        ),
        (
            "s3:* and a Deny of all else",
            Right,
            session(
                json!([allow(json!("s3:*"), json!([read_me, objects])), {"Effect": "Deny", "NotAction": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"}]),
            ),
        ),
        (
            "an IfExists on the listing's prefix",
            Right,
            session(
                json!([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": read_me, "Condition": {"StringLikeIfExists": {"s3:prefix": "*"}}}, allow(json!("s3:getobject"), json!(objects))]),
            ),
        ),
    ];
    judge(ch, rows.into_iter().map(|(w, e, (st, p))| (w, e, st, p)).collect());
}

#[test]
fn source_identity_answers() {
    let (s, ch) = (scene(), named("source-identity").unwrap());
    let both = json!(["sts:AssumeRole", "sts:SetSourceIdentity"]);
    let user = s.user_arn.clone();
    let allow = |principal: &str, actions: &Json, condition: Json| json!({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, "Condition": condition});
    let me = json!({"StringEquals": {"sts:SourceIdentity": s.user}});
    let table = vec![
        (
            "StringLike on the lab's names",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(
                    &user,
                    &both,
                    json!({"StringLike": {"sts:SourceIdentity": "sts-lab-*"}})
                )]),
            ),
            None,
        ),
        (
            "IfExists: none passes",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(
                    &user,
                    &both,
                    json!({"StringEqualsIfExists": {"sts:SourceIdentity": s.user}})
                )]),
            ),
            None,
        ),
        (
            "the condition on SetSourceIdentity only",
            TooOpen,
            trust(
                ch,
                &s,
                json!([
                    allow(&user, &json!("sts:AssumeRole"), json!({})),
                    allow(&user, &json!("sts:SetSourceIdentity"), me.clone())
                ]),
            ),
            None,
        ),
        (
            "the account as principal",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow("arn:aws:iam::123456789012:root", &both, me.clone())]),
            ),
            None,
        ),
        (
            "any case",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(
                    &user,
                    &both,
                    json!({"StringEqualsIgnoreCase": {"sts:SourceIdentity": s.user}})
                )]),
            ),
            None,
        ),
        (
            "without SetSourceIdentity",
            TooClosed,
            trust(ch, &s, json!([allow(&user, &json!("sts:AssumeRole"), me.clone())])),
            None,
        ),
        (
            "the caller's key, not the request's",
            TooClosed,
            trust(
                ch,
                &s,
                json!([allow(
                    &user,
                    &both,
                    json!({"StringEquals": {"aws:SourceIdentity": s.user}})
                )]),
            ),
            None,
        ),
        (
            "the key in lower case",
            Right,
            trust(
                ch,
                &s,
                json!([allow(
                    &user,
                    &both,
                    json!({"StringEquals": {"sts:sourceidentity": s.user}})
                )]),
            ),
            None,
        ),
        (
            "a statement each",
            Right,
            trust(
                ch,
                &s,
                json!([
                    allow(&user, &json!("sts:AssumeRole"), me.clone()),
                    allow(&user, &json!(["sts:SetSourceIdentity"]), me.clone())
                ]),
            ),
            None,
        ),
        (
            "an Allow and a Deny of every other name",
            Right,
            trust(
                ch,
                &s,
                json!([allow(&user, &both, json!({})), {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"], "Condition": {"StringNotEquals": {"sts:SourceIdentity": s.user}}}]),
            ),
            None,
        ),
    ];
    judge(ch, table);
}

#[test]
fn trust_the_user_answers() {
    let (s, ch) = (scene(), named("trust-the-user").unwrap());
    let user = s.user_arn.clone();
    let admin = "arn:aws:iam::123456789012:user/admin";
    let allow = |principal: Json, actions: Json, condition: Json| json!({"Effect": "Allow", "Principal": principal, "Action": actions, "Condition": condition});
    let assume = json!("sts:AssumeRole");
    let table = vec![
        ("the whole account (the start)", TooOpen, ch.start(&s), None),
        (
            "everyone of the account by PrincipalArn",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(
                    json!("*"),
                    assume.clone(),
                    json!({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:*"}})
                )]),
            ),
            None,
        ),
        (
            "the user and the admin",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(json!({"AWS": [user, admin]}), assume.clone(), json!({}))]),
            ),
            None,
        ),
        (
            "the user, every STS action",
            TooOpen,
            trust(ch, &s, json!([allow(json!({"AWS": user}), json!("sts:*"), json!({}))])),
            None,
        ),
        (
            "the account by its id",
            TooOpen,
            trust(
                ch,
                &s,
                json!([allow(json!({"AWS": "123456789012"}), assume.clone(), json!({}))]),
            ),
            None,
        ),
        (
            "the admin instead",
            Both,
            trust(ch, &s, json!([allow(json!({"AWS": admin}), assume.clone(), json!({}))])),
            None,
        ),
        (
            "the user with a tag it lacks",
            TooClosed,
            trust(
                ch,
                &s,
                json!([allow(
                    json!({"AWS": user}),
                    assume.clone(),
                    json!({"StringEquals": {"aws:PrincipalTag/team": "blue"}})
                )]),
            ),
            None,
        ),
        (
            "lists",
            Right,
            trust(
                ch,
                &s,
                json!([allow(json!({"AWS": [user]}), json!(["sts:AssumeRole"]), json!({}))]),
            ),
            None,
        ),
        (
            "everyone, narrowed to the user's ARN",
            Right,
            trust(
                ch,
                &s,
                json!([allow(
                    json!("*"),
                    assume.clone(),
                    json!({"StringEquals": {"aws:PrincipalArn": user}})
                )]),
            ),
            None,
        ),
        (
            "the user, and a Deny for the admin",
            Right,
            trust(
                ch,
                &s,
                json!([allow(json!({"AWS": user}), assume.clone(), json!({})), {"Effect": "Deny", "Principal": {"AWS": admin}, "Action": "sts:AssumeRole"}]),
            ),
            None,
        ),
    ];
    judge(ch, table);
}
