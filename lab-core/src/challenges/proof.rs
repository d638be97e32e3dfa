//! A challenge's goal as a specification, and the question its proof answers: who makes requests
//! (the challenge role's sessions, the lab's user, the admin, and stand-ins for any other
//! principal of the account or of another account, with every right their own policies could
//! give), over which actions and resources, and which requests must be allowed, every other one
//! being refused. The documents come from the lab (or a test) through [`Documents`]. Pure.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::Scene;
use crate::model::decide::{Caller, Document, Value};
use crate::model::prove::{self, ANOTHER_ACCOUNT, Attached, Question, Subject, Want};

/// Who a goal speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// A session of the challenge role (with the learner's session policy, if the challenge
    /// grades one); `issued_any_time`: its `aws:TokenIssueTime` ranges over every time up to now.
    Session { issued_any_time: bool },
    /// A session of the challenge role without the session policy.
    PlainSession,
    /// The lab's user.
    User,
    /// The admin the lab runs with.
    Admin,
    /// Any other principal of the account, with every right its own policies could give.
    OtherInAccount,
    /// A principal of another account, likewise.
    OtherAccount,
}

impl Who {
    pub fn id(self) -> &'static str {
        match self {
            Who::Session { .. } => "session",
            Who::PlainSession => "plain-session",
            Who::User => "user",
            Who::Admin => "admin",
            Who::OtherInAccount => "other",
            Who::OtherAccount => "other-account",
        }
    }
}

/// A goal as sets: the universe it speaks of, and what must be allowed in it (and what may go
/// either way); everything else in it must be refused.
#[derive(Debug, Clone)]
pub struct Spec {
    pub who: Vec<Who>,
    pub actions: Vec<String>,
    /// Resource ARNs of the universe (empty: every resource).
    pub resources: Vec<String>,
    pub allow: Vec<Want>,
    pub either: Vec<Want>,
}

/// A part of a goal: `who` may make `actions` on `resources`, when `condition` holds.
pub fn want(who: &[Who], actions: &[&str], resources: &[String], condition: Option<Json>) -> Want {
    let mut statement = json!({"Action": actions, "Resource": resources});
    if let Some(c) = condition {
        statement["Condition"] = c;
    }
    Want {
        who: who.iter().map(|w| w.id()).collect(),
        statement,
    }
}

pub use crate::model::prove::TRUST_ACTIONS;

/// Every principal a trust challenge speaks of.
pub const EVERYONE: [Who; 4] = [Who::User, Who::Admin, Who::OtherInAccount, Who::OtherAccount];

/// Where a question's documents come from: a subject's own (its policies, boundary and session
/// policies, and the context it fixes), the challenge role's trust, a bucket's policy.
pub trait Documents {
    fn own(&self, caller: &Caller, session_policy: bool) -> (Vec<Document>, BTreeMap<String, Value>);
    fn trust(&self) -> Option<Document>;
    fn bucket_policy(&self, bucket: &str) -> Option<Document>;
}

fn subject(scene: &Scene, who: Who, docs: &dyn Documents) -> Option<Subject> {
    let base = Subject::new;
    let stand_in = |account: &str, label: &str| {
        let (_, fixed) = docs.own(&scene.me(), false);
        prove::stand_in(who.id(), label, &scene.partition, account, &fixed)
    };
    Some(match who {
        Who::Session { issued_any_time } => {
            let session = scene.session();
            let (documents, fixed) = docs.own(&session, true);
            let mut s = base(
                who.id(),
                format!("a session of role {}", scene.role),
                caller_arn(scene, &session),
                documents,
                fixed,
            );
            if issued_any_time {
                s.free_dates.push(("aws:TokenIssueTime".to_owned(), scene.now));
            }
            s
        }
        Who::PlainSession => {
            let session = scene.session();
            let (documents, fixed) = docs.own(&session, false);
            let label = format!("a session of role {} without the session policy", scene.role);
            base(who.id(), label, caller_arn(scene, &session), documents, fixed)
        }
        Who::User => {
            let (documents, fixed) = docs.own(&scene.me(), false);
            base(
                who.id(),
                format!("the lab's user {}", scene.user),
                scene.user_arn.clone(),
                documents,
                fixed,
            )
        }
        Who::Admin => {
            let admin = scene.admin.as_ref()?;
            let (documents, fixed) = docs.own(admin, false);
            base(
                who.id(),
                "the admin".to_owned(),
                caller_arn(scene, admin),
                documents,
                fixed,
            )
        }
        Who::OtherInAccount => stand_in(&scene.account, "another principal of the account, with any policy"),
        Who::OtherAccount => stand_in(ANOTHER_ACCOUNT, "a principal of another account, with any policy"),
    })
}

fn caller_arn(scene: &Scene, caller: &Caller) -> String {
    match caller {
        Caller::User(u) => format!("arn:{}:iam::{}:user/{u}", scene.partition, scene.account),
        Caller::Session { session_arn, .. } => session_arn.clone(),
    }
}

/// The question a challenge's check answers: its spec, with the documents as they are now.
pub fn question(scene: &Scene, spec: &Spec, buckets: &[&str], docs: &dyn Documents) -> Question {
    let mut attached: Vec<Attached> = docs
        .trust()
        .into_iter()
        .map(|document| Attached {
            document,
            on: vec![scene.role_arn.clone()],
        })
        .collect();
    for suffix in buckets {
        let bucket = scene.bucket(suffix);
        if let Some(document) = docs.bucket_policy(&bucket) {
            attached.push(Attached {
                document,
                on: vec![scene.bucket_arn(&bucket), scene.bucket_arn(&format!("{bucket}/*"))],
            });
        }
    }
    Question {
        partition: scene.partition.clone(),
        account: scene.account.clone(),
        subjects: spec.who.iter().filter_map(|w| subject(scene, *w, docs)).collect(),
        actions: spec.actions.clone(),
        resources: spec.resources.clone(),
        attached,
        allow: spec.allow.clone(),
        either: spec.either.clone(),
    }
}
