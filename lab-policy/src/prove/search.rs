//! The classes of requests of a question enumerated and decided: for each subject, the actions of
//! the universe grouped by what the documents and the goal say of them; for each group, the
//! classes of resources (a partition of the strings) and of each context key's values; one
//! request of each combination decided with [`settle`], held against the goal.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Result, anyhow};

use super::catalog::{self, Action};
use super::compile::{self, Fixed, Policy, Statement};
use super::conditions::{self, Cond, SetMode};
use super::strings::{self, Pattern, glob_matches_ci};
use super::{Counterexample, MOST_MISSES, Miss, Proof, Question, Subject, Want};
use crate::decide::trace::{account_of, names_account, session_role};
use crate::decide::{Document, Effect, NO_RESOURCE, Naming, Part, PolicyKind, Settled, Value, settle};
use resources::Slots;

/// The most requests one group of actions may take to decide; past it, the group is named
/// outside the fragment.
const MOST_COMBINATIONS: usize = 2_000_000;

/// Keys that describe the caller or the moment: a subject that does not fix one lacks it.
const CALLER_KEYS: [&str; 20] = [
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principaltype",
    "aws:principalisawsservice",
    "aws:principalservicename",
    "aws:principalservicenameslist",
    "aws:userid",
    "aws:username",
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "aws:sourceidentity",
    "aws:federatedprovider",
    "aws:tokenissuetime",
    "aws:currenttime",
    "aws:epochtime",
    "aws:securetransport",
    "aws:viaawsservice",
    "aws:resourceaccount",
];

/// Keys that hold several values.
const MULTIVALUED: [&str; 5] = [
    "aws:tagkeys",
    "aws:calledvia",
    "sts:transitivetagkeys",
    "aws:principalservicenameslist",
    "aws:principalorgpaths",
];

fn describes_caller(key: &str) -> bool {
    CALLER_KEYS.contains(&key)
        || key.starts_with("aws:principaltag/")
        || key.starts_with("aws:resourcetag/")
        || key.starts_with("aws:calledvia")
}

/// A policy in play, compiled for a subject, and the resources it is attached to (None: the
/// subject's own, in play for every request).
struct InPlay {
    policy: Policy,
    on: Option<Vec<Pattern>>,
}

pub fn run(q: &Question) -> Result<Proof> {
    // sts:GetCallerIdentity needs no permission: no policy can refuse it (as `decide` says).
    let universe: Vec<&'static Action> = catalog::all()
        .iter()
        .filter(|a| q.actions.iter().any(|p| glob_matches_ci(p, a.full())))
        .filter(|a| !a.full().eq_ignore_ascii_case("sts:GetCallerIdentity"))
        .collect();
    let mut proof = Proof {
        actions: universe.len(),
        ..Proof::default()
    };
    if universe.is_empty() {
        return Err(anyhow!("the universe holds no action of the catalog ({:?})", q.actions));
    }
    let partitions = Partitions::default();
    for subject in &q.subjects {
        Subjected::new(q, subject, &partitions)?.run(&universe, &mut proof);
    }
    proof.outside.sort();
    proof.outside.dedup();
    Ok(proof)
}

/// What sets a group of actions apart: which statements name them, their ARN formats, which of
/// the keys the documents read they take.
type GroupKey = (Vec<bool>, Vec<&'static str>, Vec<bool>);

/// One subject's part of a proof.
struct Subjected<'a> {
    q: &'a Question,
    subject: &'a Subject,
    fixed: Fixed,
    policies: Vec<InPlay>,
    /// The goal's statements for this subject, and whether each may go either way.
    wants: Vec<(Statement, bool)>,
    /// Whether each statement's Principal names the subject, and how (policy, statement).
    principal: Vec<Vec<(bool, Naming)>>,
    partitions: &'a Partitions,
}

/// The partitions made so far, by their patterns: groups of actions, and subjects, share most.
type Partitions = RefCell<HashMap<Vec<Pattern>, Option<Vec<strings::Class>>>>;

fn lowered(fixed: &BTreeMap<String, Value>) -> Fixed {
    fixed.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect()
}

fn want_document(want: &Want) -> Document {
    let mut statement = want.statement.clone();
    statement["Effect"] = serde_json::json!("Allow");
    Document {
        name: "the goal".to_owned(),
        kind: PolicyKind::Identity,
        json: serde_json::json!({"Version": "2012-10-17", "Statement": [statement]}).to_string(),
    }
}

impl<'a> Subjected<'a> {
    fn new(q: &'a Question, subject: &'a Subject, partitions: &'a Partitions) -> Result<Self> {
        let fixed = lowered(&subject.fixed);
        let mut policies = Vec::new();
        for d in &subject.documents {
            let policy = compile::policy(d, &fixed).map_err(|e| anyhow!(e))?;
            policies.push(InPlay { policy, on: None });
        }
        for a in &q.attached {
            let policy = compile::policy(&a.document, &fixed).map_err(|e| anyhow!(e))?;
            let on = a.on.iter().filter_map(|arn| strings::arn(arn)).collect();
            policies.push(InPlay { policy, on: Some(on) });
        }
        let mut wants = Vec::new();
        for (list, either) in [(&q.allow, false), (&q.either, true)] {
            for want in list.iter().filter(|w| w.who.contains(&subject.id)) {
                let compiled = compile::policy(&want_document(want), &fixed).map_err(|e| anyhow!(e))?;
                wants.extend(compiled.statements.into_iter().map(|s| (s, either)));
            }
        }
        let principal = policies
            .iter()
            .map(|p| p.policy.statements.iter().map(|s| names(s, &subject.arn)).collect())
            .collect();
        Ok(Self {
            q,
            subject,
            fixed,
            policies,
            wants,
            principal,
            partitions,
        })
    }

    fn statements(&self) -> impl Iterator<Item = &Statement> {
        self.policies
            .iter()
            .flat_map(|p| p.policy.statements.iter())
            .chain(self.wants.iter().map(|(s, _)| s))
    }

    fn run(&self, universe: &[&'static Action], proof: &mut Proof) {
        self.name_actions(proof);
        let keys: BTreeSet<String> = self
            .statements()
            .flat_map(|s| s.conds.iter().map(|c| c.key.clone()))
            .collect();
        let mut groups: BTreeMap<GroupKey, Vec<&Action>> = BTreeMap::new();
        for action in universe {
            let full = action.full();
            let matched: Vec<bool> = self.statements().map(|s| s.action_matches(full)).collect();
            let takes: Vec<bool> = keys.iter().map(|k| action.takes_key(k)).collect();
            groups
                .entry((matched, action.arn_formats(), takes))
                .or_default()
                .push(action);
        }
        for actions in groups.values() {
            if proof.misses.len() >= MOST_MISSES {
                return;
            }
            // No Allow and no want names these actions: every request of them is refused, as the
            // goal wants; one class stands for them all, decided without more.
            let name = actions[0].full();
            let allowed_somewhere = self.statements().any(|s| !s.deny && s.action_matches(name));
            if !allowed_somewhere {
                proof.classes += 1;
                continue;
            }
            self.decide_group(actions, proof);
        }
    }

    /// Names each action pattern of the subject's Allow statements that the catalog does not
    /// hold, where the universe could hold it (a Deny can only refuse more; a service the
    /// universe leaves out is not asked of).
    fn name_actions(&self, proof: &mut Proof) {
        let asked = |pattern: &str| {
            let service = pattern.split_once(':').map_or(pattern, |(s, _)| s);
            self.q.actions.iter().any(|u| {
                let u = u.split_once(':').map_or(u.as_str(), |(s, _)| s);
                u == "*" || u.eq_ignore_ascii_case(service) || pattern == "*"
            })
        };
        for p in &self.policies {
            for s in p.policy.statements.iter().filter(|s| !s.deny && !s.not_action) {
                for pattern in s.actions.iter().filter(|a| asked(a)) {
                    if let Some(problem) = catalog::problem(pattern) {
                        proof.outside.push(format!("{}: {problem}", p.policy.name));
                    }
                }
            }
        }
    }
}

/// Whether a statement's Principal names `caller`, and how directly.
fn names(statement: &Statement, caller: &str) -> (bool, Naming) {
    let Some((principals, not)) = &statement.principal else {
        return (true, Naming::Account);
    };
    let role = session_role(caller);
    let account = account_of(caller);
    let naming = principals
        .aws
        .iter()
        .filter_map(|p| {
            if p == caller {
                Some(Naming::Exact)
            } else if role.as_deref() == Some(p.as_str()) {
                Some(Naming::Role)
            } else if account.is_some_and(|a| names_account(p, a)) {
                Some(Naming::Account)
            } else {
                None
            }
        })
        .chain(principals.everyone.then_some(Naming::Exact))
        .min();
    (naming.is_some() != *not, naming.unwrap_or(Naming::Account))
}

/// The values a key takes in one group: fixed (or absent), or free with the values to try.
enum Domain {
    Fixed(Option<Vec<String>>),
    Free(Vec<Option<Vec<String>>>),
}

fn values(v: &Value) -> Vec<String> {
    match v {
        Value::One(one) => vec![one.clone()],
        Value::Many(many) => many.clone(),
    }
}

mod group;
mod resources;
