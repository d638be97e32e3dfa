//! `verify`'s proofs of the lab's documents as they are now (`model::prove`): the user may make
//! exactly sts:AssumeRole on the lab's role; the role's sessions exactly what the stack's policy
//! grants (S3 under the prefix, but for what it denies there, and the list of buckets); no one
//! but the user may assume the role. Each is a row: proven, or a counterexample with the
//! statement that lets it through (or refuses it), decided again by the evaluator. A hand edit
//! that widens the lab fails its row.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::Lab;
use super::decisions::Reader;
use crate::model::decide::{Ask, Caller, Document, PolicyKind, Value};
use crate::model::names::DEFAULT_SESSION_NAME;
use crate::model::policy::role_denied_actions;
use crate::model::prove::{self, ANOTHER_ACCOUNT, Attached, Proof, Question, Subject, TRUST_ACTIONS, Want};
use crate::output::Check;

/// A subject's own documents and the context it fixes, read as the lab's predictions read them;
/// the trust of the role, when the request reads it.
async fn read(
    reader: &mut Reader<'_>,
    ask: &Ask,
) -> anyhow::Result<(Vec<Document>, BTreeMap<String, Value>, Option<Document>)> {
    let (docs, request) = reader.request_for(ask).await?;
    let (trust, own): (Vec<Document>, Vec<Document>) = docs.into_iter().partition(|d| d.kind == PolicyKind::Trust);
    Ok((own, request.context, trust.into_iter().next()))
}

/// A part of the lab's goal, holding only until the lab expires (as every Allow it writes).
fn want(who: &[&'static str], statement: Json, expires: Option<&str>) -> Want {
    let mut statement = statement;
    if let Some(at) = expires {
        statement["Condition"] = json!({"DateLessThan": {"aws:CurrentTime": at}});
    }
    Want {
        who: who.to_vec(),
        statement,
    }
}

/// The rows' names, as `verify` shows them (and advice names the check that wants a refusal).
pub const USER_ROW: &str = "proof: the user may make exactly sts:AssumeRole on the role";
pub const SESSION_ROW: &str = "proof: the role's sessions may make exactly S3 under the prefix and the bucket list";
pub const TRUST_ROW: &str = "proof: no one but the user may assume the role";

/// The lab's two questions: what the user and the role's sessions may do (every action of the
/// catalog), and who may assume the role (the trust's actions on it).
pub struct LabQuestions {
    pub lab: Question,
    pub trust: Question,
}

/// The rows of the proofs, for the lab whose role is `role_arn` and which expires at `expires`.
pub(super) async fn rows(
    lab: &Lab,
    reader: &mut Reader<'_>,
    role_arn: &str,
    expires: Option<&str>,
) -> anyhow::Result<Vec<Check>> {
    let Some(q) = questions(lab, reader, role_arn, expires).await? else {
        return Ok(Vec::new());
    };
    let (lab_proof, trust_proof) = (prove::prove(&q.lab)?, prove::prove(&q.trust)?);
    Ok(vec![
        row(USER_ROW, &lab_proof, |s| s == "user"),
        row(SESSION_ROW, &lab_proof, |s| s == "session"),
        row(TRUST_ROW, &trust_proof, |_| true),
    ])
}

/// The lab's questions as its documents stand now (None: the stack names no role).
pub async fn lab_questions(lab: &Lab) -> anyhow::Result<Option<LabQuestions>> {
    let (stack, role_arn) = lab.ready_stack().await?;
    let expires = stack.tag(crate::model::names::EXPIRES_TAG_KEY).map(str::to_owned);
    let mut reader = Reader::new(lab).await?;
    questions(lab, &mut reader, &role_arn, expires.as_deref()).await
}

/// The lab's questions, its documents read with `reader`.
pub(super) async fn questions(
    lab: &Lab,
    reader: &mut Reader<'_>,
    role_arn: &str,
    expires: Option<&str>,
) -> anyhow::Result<Option<LabQuestions>> {
    let partition = lab.admin_identity.partition().to_owned();
    let Some(role) = crate::model::policy::role_name(role_arn) else {
        return Ok(None);
    };
    let user = Caller::User(lab.names.user.clone());
    let session_arn = format!(
        "arn:{partition}:sts::{}:assumed-role/{role}/{DEFAULT_SESSION_NAME}",
        lab.account()
    );
    let session = Caller::Session {
        role: role.to_owned(),
        session_arn: session_arn.clone(),
    };
    let (user_docs, user_fixed, trust) = read(reader, &Ask::new(&user, "sts:AssumeRole", role_arn)).await?;
    let (session_docs, session_fixed, _) = read(reader, &Ask::new(&session, "s3:ListAllMyBuckets", "*")).await?;
    let admin = Caller::of_arn(&lab.admin_identity.arn);
    let admin_own = match &admin {
        Some(a) => Some(read(reader, &Ask::new(a, "sts:AssumeRole", role_arn)).await?),
        None => None,
    };
    let the_user = Subject::new(
        "user",
        format!("the lab's user {}", lab.names.user),
        lab.user_arn(),
        user_docs,
        user_fixed.clone(),
    );
    let the_session = Subject::new(
        "session",
        format!("a session of role {role}"),
        session_arn,
        session_docs,
        session_fixed,
    );
    let attached: Vec<Attached> = trust
        .into_iter()
        .map(|document| Attached {
            document,
            on: vec![role_arn.to_owned()],
        })
        .collect();
    let lab_goal = Question {
        partition: partition.clone(),
        account: lab.account().to_owned(),
        subjects: vec![the_user.clone(), the_session],
        actions: vec!["*".to_owned()],
        resources: Vec::new(),
        attached: attached.clone(),
        allow: lab_wants(lab, role_arn, expires),
        either: Vec::new(),
    };
    let mut everyone = vec![the_user];
    if let (Some(a), Some((docs, fixed, _))) = (&admin, admin_own) {
        everyone.push(Subject::new("admin", "the admin", lab.caller_arn(a), docs, fixed));
    }
    everyone.extend(stand_ins(&partition, lab.account(), &user_fixed));
    let trust_goal = Question {
        subjects: everyone,
        actions: TRUST_ACTIONS.iter().map(|a| (*a).to_owned()).collect(),
        resources: vec![role_arn.to_owned()],
        allow: vec![want(
            &["user"],
            json!({"Action": "sts:AssumeRole", "Resource": role_arn}),
            expires,
        )],
        ..lab_goal.clone()
    };
    Ok(Some(LabQuestions {
        lab: lab_goal,
        trust: trust_goal,
    }))
}

/// What the lab wants allowed: the user AssumeRole on the role; the sessions the bucket list and
/// S3 under the prefix but for what the stack's policy denies there; while the lab lasts.
fn lab_wants(lab: &Lab, role_arn: &str, expires: Option<&str>) -> Vec<Want> {
    let partition = lab.admin_identity.partition();
    let prefix = format!("arn:{partition}:s3:::{}*", lab.bucket_prefix());
    vec![
        want(
            &["user"],
            json!({"Action": "sts:AssumeRole", "Resource": role_arn}),
            expires,
        ),
        want(
            &["session"],
            json!({"Action": "s3:ListAllMyBuckets", "Resource": "*"}),
            expires,
        ),
        want(
            &["session"],
            json!({"NotAction": role_denied_actions(), "Resource": [prefix.clone(), format!("{prefix}/*")]}),
            expires,
        ),
    ]
}

/// Stand-ins for any other principal of the account and of another account, with any policy.
fn stand_ins(partition: &str, account: &str, fixed: &BTreeMap<String, Value>) -> [Subject; 2] {
    [
        prove::stand_in(
            "other",
            "another principal of the account, with any policy",
            partition,
            account,
            fixed,
        ),
        prove::stand_in(
            "other-account",
            "a principal of another account, with any policy",
            partition,
            ANOTHER_ACCOUNT,
            fixed,
        ),
    ]
}

/// A proof's row, for the counterexamples of the subjects `of` keeps.
fn row(name: &str, proof: &Proof, of: impl Fn(&str) -> bool) -> Check {
    let miss = proof.misses.iter().find(|m| of(m.subject));
    let (seen, why) = match (miss, proof.outside.first()) {
        (Some(m), _) => (
            m.line(),
            Some(match m.confirm() {
                Ok(decision) => decision.why,
                Err(e) => e.to_string(),
            }),
        ),
        (None, Some(outside)) => (format!("not proven: {outside}"), None),
        (None, None) => (
            format!(
                "proven over {} classes of requests ({} actions)",
                proof.classes, proof.actions
            ),
            None,
        ),
    };
    Check {
        name: name.to_owned(),
        expected: "exactly that, proven".to_owned(),
        passed: miss.is_none() && proof.outside.is_empty(),
        seen,
        why,
        agrees: true,
        command: crate::output::command::xtask("verify").to_string(),
        ..Check::default()
    }
}
