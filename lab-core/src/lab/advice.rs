//! Advice on the lab's refusals, read from the lab (`model::advice` ranks it): the ground (the
//! user it protects, the admin, its roles, its buckets' prefix, its expiry, and verify's proof
//! questions as the goals that want refusals), read once a reading; and, for each refusal, the
//! paths that exist: the lab's roles the caller may assume, by itself or through another of
//! them, whose session the documents allow the request, each step decided with the evaluator.
//! The goals of what sits above the lab (a challenge set on it) come as a [`GoalsOf`].

use anyhow::Result;
use futures_util::future::BoxFuture;

use super::Lab;
use super::decisions::Reader;
use super::proven::{self, SESSION_ROW, TRUST_ROW, USER_ROW};
use crate::model::advice::{self, Advice, Goal, Ground, Path};
use crate::model::decide::{self, Ask, Caller, Document, Effect, PolicyKind, Request};

/// More goals of a lab, read when a refusal first needs them (`challenges::goals`).
pub type GoalsOf = for<'a> fn(&'a Lab) -> BoxFuture<'a, Result<Vec<Goal>>>;

/// The lab's ground for advice, read once for every refusal of a reading.
pub(super) struct Adviser {
    ground: Ground,
}

impl Adviser {
    pub(super) async fn new(lab: &Lab, reader: &mut Reader<'_>, more: Option<GoalsOf>) -> Result<Self> {
        let stack = lab.ready_stack().await.ok();
        let role_arn = stack.as_ref().map(|(_, arn)| arn.clone());
        let expires = stack
            .as_ref()
            .and_then(|(s, _)| s.tag(crate::model::names::EXPIRES_TAG_KEY).map(str::to_owned));
        let mut roles: Vec<String> = role_arn
            .as_deref()
            .and_then(crate::model::policy::role_name)
            .map(str::to_owned)
            .into_iter()
            .collect();
        roles.extend([lab.names.chained_role(), lab.names.challenge_role()]);
        let mut goals = Vec::new();
        if let Some(arn) = &role_arn
            && let Some(q) = proven::questions(lab, reader, arn, expires.as_deref()).await?
        {
            let goal = |row: &str, question: &crate::model::prove::Question, subjects| Goal {
                check: format!("verify's check \"{row}\""),
                question: question.clone(),
                subjects,
            };
            goals.push(goal(USER_ROW, &q.lab, vec!["user"]));
            goals.push(goal(SESSION_ROW, &q.lab, vec!["session"]));
            goals.push(goal(TRUST_ROW, &q.trust, Vec::new()));
        }
        if let Some(more) = more {
            goals.extend(more(lab).await?);
        }
        let ground = Ground {
            partition: lab.admin_identity.partition().to_owned(),
            account: lab.account().to_owned(),
            protected: Some(lab.user_arn()),
            admin: Some(lab.admin_identity.arn.clone()),
            roles,
            bucket_prefix: lab.bucket_prefix(),
            expires,
            goals,
        };
        Ok(Self { ground })
    }

    /// The advice on `ask`, refused on `documents` as `request`.
    pub(super) async fn advise(
        &self,
        lab: &Lab,
        reader: &mut Reader<'_>,
        ask: &Ask,
        (documents, request): (&[Document], &Request),
    ) -> Result<Vec<Advice>> {
        let paths = self.paths(lab, reader, ask).await?;
        advice::advise(&self.ground, documents, request, &paths)
    }

    /// The lab's roles the caller may assume (one, or one then another), whose session the
    /// documents allow `ask`.
    async fn paths(&self, lab: &Lab, reader: &mut Reader<'_>, ask: &Ask) -> Result<Vec<Path>> {
        let own_role = match &ask.caller {
            Caller::Session { role, .. } => Some(role.as_str()),
            Caller::User(_) => None,
        };
        let mut out = Vec::new();
        for first in self.ground.roles.iter().filter(|r| Some(r.as_str()) != own_role) {
            if !assumes(lab, reader, &ask.caller, first).await? {
                continue;
            }
            let by_first = session_of(lab, first);
            if allowed(reader, &as_caller(ask, &by_first)).await? {
                out.push(self.path(lab, &ask.caller, &[first]));
                continue;
            }
            for second in self
                .ground
                .roles
                .iter()
                .filter(|r| *r != first && Some(r.as_str()) != own_role)
            {
                let by_second = session_of(lab, second);
                if assumes(lab, reader, &by_first, second).await?
                    && allowed(reader, &as_caller(ask, &by_second)).await?
                {
                    out.push(self.path(lab, &ask.caller, &[first, second]));
                }
            }
        }
        Ok(out)
    }

    /// The path through `roles`, with the commands that take it.
    fn path(&self, lab: &Lab, caller: &Caller, roles: &[&String]) -> Path {
        let names = &lab.names;
        let lab_role = self.ground.roles.first();
        let by_user = *caller == Caller::User(names.user.clone());
        // A learner with this repository takes the lab's own step; a student with a handout
        // takes the aws CLI's, as the handout says.
        if by_user && roles.len() == 1 && Some(roles[0]) == lab_role && !names.handout {
            return Path {
                roles: vec![roles[0].clone()],
                commands: vec![
                    crate::output::command::xtask("assume").to_string(),
                    format!("the same request with --profile {}", names.assumed_profile),
                ],
            };
        }
        let profile = match caller {
            Caller::User(user) if *user == names.user => format!(" --profile {}", names.user_profile),
            Caller::Session { role, .. } if Some(role) == lab_role => format!(" --profile {}", names.assumed_profile),
            _ => String::new(),
        };
        let mut commands: Vec<String> = roles
            .iter()
            .enumerate()
            .map(|(n, role)| {
                let from = if n == 0 {
                    profile.clone()
                } else {
                    " with the keys it gave".to_owned()
                };
                format!(
                    "aws sts assume-role --role-arn {} --role-session-name {}{from}",
                    lab.iam_arn("role", role),
                    crate::model::names::DEFAULT_SESSION_NAME
                )
            })
            .collect();
        commands.push("the same request with the last session's keys".to_owned());
        Path {
            roles: roles.iter().map(|r| (*r).clone()).collect(),
            commands,
        }
    }
}

/// A session of role `role`, named as the lab names its own.
fn session_of(lab: &Lab, role: &str) -> Caller {
    Caller::Session {
        role: role.to_owned(),
        session_arn: format!(
            "arn:{}:sts::{}:assumed-role/{role}/{}",
            lab.admin_identity.partition(),
            lab.account(),
            crate::model::names::DEFAULT_SESSION_NAME
        ),
    }
}

/// `ask` made by `caller` instead (without the session policies of the one who asked).
fn as_caller(ask: &Ask, caller: &Caller) -> Ask {
    Ask {
        caller: caller.clone(),
        session: Vec::new(),
        ..ask.clone()
    }
}

/// Whether the documents allow `ask`.
async fn allowed(reader: &mut Reader<'_>, ask: &Ask) -> Result<bool> {
    let (docs, request) = reader.request_for(ask).await?;
    Ok(decide::decide(&docs, &request)?.decided_by.effect == Effect::Allow)
}

/// Whether `caller` may assume role `role`: it exists (its trust is read) and both the caller's
/// policies and the trust allow it.
async fn assumes(lab: &Lab, reader: &mut Reader<'_>, caller: &Caller, role: &str) -> Result<bool> {
    let ask = Ask::new(caller, "sts:AssumeRole", lab.iam_arn("role", role));
    let (docs, request) = reader.request_for(&ask).await?;
    if !docs.iter().any(|d| d.kind == PolicyKind::Trust) {
        return Ok(false);
    }
    Ok(decide::decide(&docs, &request)?.decided_by.effect == Effect::Allow)
}
