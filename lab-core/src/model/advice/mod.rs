//! Advice on a refusal, ranked as a careful engineer gives it, for `why`, the trail, the class's
//! page and a challenge's check alike: first the path that exists (a role the caller may assume
//! whose session would be allowed: found by the reader of the documents, proven with `decide`),
//! then refused by design (a goal of the lab wants it refused: verify's proof rows, a challenge's
//! goal; the check is named), and only then a change, to a document the learner owns in this lab
//! (a lab role's policy, boundary or trust, a session policy, a lab bucket's policy), never
//! granting the user the lab protects (unless a goal wants exactly that request allowed) and never
//! opening a trust or a bucket policy to the admin or the whole account. An added statement is the
//! narrowest (the request's own action and resource, the conditions its policy holds on every
//! Allow, and the lab's expiry: `carry`), and proven to grant that request and nothing more
//! (`narrow`). Pure.

mod carry;
mod goals;
mod narrow;
#[cfg(test)]
mod tests;

use anyhow::Result;
use serde::Serialize;

pub use goals::Goal;

use super::decide::fix::{self, Fix, How};
use super::decide::{Caller, Document, PolicyKind, Request};

/// One piece of advice on a refusal; `line` says it in one line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Advice {
    /// Roles the caller may assume (the first by itself, each next from the one before), the last
    /// one's session allowed the request; and the commands that take that path.
    Path {
        line: String,
        roles: Vec<String>,
        commands: Vec<String>,
    },
    /// A check of the lab wants the request refused.
    ByDesign { line: String, check: String },
    /// A change to a document the learner owns: its steps, and what its proof says.
    Change {
        line: String,
        steps: Vec<Fix>,
        proof: String,
        /// Proven to grant the request and nothing more.
        narrow: bool,
    },
    /// The only change that would let it through is one the lab never makes: why.
    Withheld { line: String },
}

impl Advice {
    pub fn line(&self) -> &str {
        match self {
            Advice::Path { line, .. }
            | Advice::ByDesign { line, .. }
            | Advice::Change { line, .. }
            | Advice::Withheld { line } => line,
        }
    }

    /// `path`, `by_design`, `change` or `withheld`, as the JSON names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Advice::Path { .. } => "path",
            Advice::ByDesign { .. } => "by_design",
            Advice::Change { .. } => "change",
            Advice::Withheld { .. } => "withheld",
        }
    }
}

/// A path that exists, as the reader found it: the roles in order, and the commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub roles: Vec<String>,
    pub commands: Vec<String>,
}

/// What advice knows of the lab: whom it protects, what the learner owns, its goals.
#[derive(Debug, Clone, Default)]
pub struct Ground {
    pub partition: String,
    pub account: String,
    /// The user the lab protects (its ARN): never granted more than its goals want.
    pub protected: Option<String>,
    /// The admin the lab runs with (its ARN): never let into a trust or a bucket policy.
    pub admin: Option<String>,
    /// The lab's roles, by name: their policies, boundaries and trusts are the learner's.
    pub roles: Vec<String>,
    /// The prefix of the lab's buckets: their policies are the learner's.
    pub bucket_prefix: String,
    /// When the lab expires (UTC): every statement a change adds holds only before.
    pub expires: Option<String>,
    pub goals: Vec<Goal>,
}

/// The advice on a refused `request` (decided on `documents`), ranked: the `paths` found, the
/// goals that want it refused, else a change the learner may make (or why none is offered).
pub fn advise(ground: &Ground, documents: &[Document], request: &Request, paths: &[Path]) -> Result<Vec<Advice>> {
    let mut out: Vec<Advice> = paths.iter().map(path_advice).collect();
    let designed: Vec<&Goal> = ground
        .goals
        .iter()
        .filter(|g| g.wants(request) == Some(false))
        .collect();
    out.extend(designed.iter().map(|g| Advice::ByDesign {
        line: format!("refused by design: {} wants it refused", g.check),
        check: g.check.clone(),
    }));
    if designed.is_empty()
        && let Some(change) = change(ground, documents, request)?
    {
        out.push(change);
    }
    Ok(out)
}

fn path_advice(path: &Path) -> Advice {
    let through = path.roles.join(", then role ");
    Advice::Path {
        line: format!(
            "the path that exists: assume role {through}, whose session is allowed this request: {}",
            path.commands.join("; then ")
        ),
        roles: path.roles.clone(),
        commands: path.commands.clone(),
    }
}

/// The steps that would let the request through, each on a document the learner owns, the
/// added statements narrowed to the lab's lifetime and proven; or why none is offered.
fn change(ground: &Ground, documents: &[Document], request: &Request) -> Result<Option<Advice>> {
    let steps = fix::fixes(documents, request)?;
    if steps.is_empty() {
        return Ok(None);
    }
    let wanted = ground.goals.iter().any(|g| g.wants(request) == Some(true));
    let expiry = ground
        .expires
        .as_ref()
        .map(|at| serde_json::json!({"DateLessThan": {"aws:CurrentTime": at}}));
    if let Some(reason) = steps.iter().find_map(|step| withheld(ground, step, request, wanted)) {
        return Ok(Some(Advice::Withheld {
            line: format!("no change offered: {reason}"),
        }));
    }
    // The conditions the document already holds on every Allow, and the lab's expiry; only the
    // expiry when those would refuse the request after all.
    let carried = carry::narrowed(documents, &steps, expiry.as_ref(), true);
    let narrowed = match carry::lets_through(documents, request, &carried) {
        true => carried,
        false => carry::narrowed(documents, &steps, expiry.as_ref(), false),
    };
    let (narrow, proof) = narrow::prove_steps(ground, request, &narrowed)?;
    let more = match narrowed.len() {
        1 => String::new(),
        n => format!(" (then {} more step{})", n - 1, if n == 2 { "" } else { "s" }),
    };
    Ok(Some(Advice::Change {
        line: format!("a change: {}{more}; {proof}", narrowed[0].change),
        steps: narrowed,
        proof,
        narrow,
    }))
}

/// Why the lab never makes `step` for `request` (None: the learner owns what it changes).
fn withheld(ground: &Ground, step: &Fix, request: &Request, wanted: bool) -> Option<String> {
    if matches!(step.how, How::MeetCondition { .. }) {
        return None;
    }
    let caller = Caller::of_arn(&request.principal);
    let protected = ground.protected.as_deref() == Some(request.principal.as_str());
    let admin = ground
        .admin
        .as_deref()
        .is_some_and(|a| same_principal(a, &request.principal));
    match step.kind {
        PolicyKind::Identity | PolicyKind::Boundary => match caller {
            Some(Caller::Session { role, .. }) if ground.roles.contains(&role) => None,
            _ if protected => Some(format!(
                "it would grant the lab's user more than sts:AssumeRole on its role; the lab protects that user ({})",
                step.change
            )),
            _ if admin => Some("it would change the admin's own policies, which are not the lab's".to_owned()),
            _ => Some("the caller's policies are not the lab's".to_owned()),
        },
        PolicyKind::Session => None,
        PolicyKind::Trust => {
            let role = super::policy::role_name(&request.resource)?;
            if !ground.roles.iter().any(|r| r == role) {
                return Some(format!("role {role} is not the lab's"));
            }
            opened(ground, request, protected, admin, wanted, "the role's trust")
        }
        PolicyKind::Resource => {
            let bucket = super::policy::bucket_of(&request.resource).unwrap_or_default();
            if !bucket.starts_with(&ground.bucket_prefix) || ground.bucket_prefix.is_empty() {
                return Some(format!("bucket {bucket} is not the lab's"));
            }
            opened(ground, request, protected, admin, wanted, "the bucket's policy")
        }
    }
}

/// Why a trust or bucket policy may not name the request's caller (None: it may).
fn opened(
    ground: &Ground,
    request: &Request,
    protected: bool,
    admin: bool,
    wanted: bool,
    what: &str,
) -> Option<String> {
    if admin {
        return Some(format!(
            "it would open {what} to the admin; the lab keeps its roles to its learner"
        ));
    }
    if request.principal.ends_with(":root") || account_of(&request.principal) != ground.account {
        return Some(format!("it would open {what} to a whole account"));
    }
    if protected && !wanted {
        return Some(format!(
            "it would let the lab's user past {what}, which no goal of the lab asks"
        ));
    }
    None
}

/// The account an ARN names (its fifth field; empty when it has none).
pub(super) fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

/// Whether two ARNs are one principal: equal, or sessions of one role.
pub fn same_principal(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (Caller::of_arn(a), Caller::of_arn(b)) {
        (Some(Caller::Session { role: x, .. }), Some(Caller::Session { role: y, .. })) => x == y,
        _ => false,
    }
}
