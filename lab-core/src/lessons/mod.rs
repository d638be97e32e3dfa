//! The STS ladder: lessons beyond the seed, each applied to the lab `setup` made as a change of one
//! or two policy lines (shown as a diff), then proven by requests that must be allowed or denied,
//! each with what decided it and the aws CLI command that does the same. `--undo` takes a lesson
//! back; `cleanup` removes what any lesson made (by the names in `model::names`).

mod checks;
mod identity;
mod sessions;
mod trust;

use std::str::FromStr;

use anyhow::{Result, bail};

use crate::lab::Lab;
use crate::output::LessonDoc;
use crate::output::report::{Report, Steps};

pub use checks::diff_lines;

/// The lessons, in the order the ladder climbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lesson {
    ExternalId,
    SessionPolicy,
    SessionTags,
    SourceIdentity,
    RoleChaining,
    RevokeSessions,
    Mfa,
    AutoRefresh,
    Expiry,
}

impl Lesson {
    pub const ALL: [Lesson; 9] = [
        Lesson::ExternalId,
        Lesson::SessionPolicy,
        Lesson::SessionTags,
        Lesson::SourceIdentity,
        Lesson::RoleChaining,
        Lesson::RevokeSessions,
        Lesson::Mfa,
        Lesson::AutoRefresh,
        Lesson::Expiry,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lesson::ExternalId => "external-id",
            Lesson::SessionPolicy => "session-policy",
            Lesson::SessionTags => "session-tags",
            Lesson::SourceIdentity => "source-identity",
            Lesson::Mfa => "mfa",
            Lesson::RevokeSessions => "revoke-sessions",
            Lesson::RoleChaining => "role-chaining",
            Lesson::AutoRefresh => "auto-refresh",
            Lesson::Expiry => "expiry",
        }
    }

    /// Whether the lesson moves an emulator's clock (one clock for every lab on it: such lessons
    /// run one lab at a time).
    pub fn moves_clock(self) -> bool {
        matches!(self, Lesson::AutoRefresh | Lesson::Expiry)
    }

    /// What the lesson teaches, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            Lesson::ExternalId => {
                "the trust requires sts:ExternalId: the confused deputy, and a profile with external_id"
            }
            Lesson::SessionPolicy => "a session policy narrower than the role: the session may list, not create",
            Lesson::SessionTags => {
                "attribute-based access: a session tagged team=blue may make blue buckets, not red; the tag survives a chained assume"
            }
            Lesson::SourceIdentity => "the trust requires sts:SourceIdentity, which stays with a chained session",
            Lesson::Mfa => "the trust requires aws:MultiFactorAuthPresent: a virtual MFA device, its codes computed",
            Lesson::RevokeSessions => {
                "revoke active sessions: a Deny on aws:TokenIssueTime refuses the open session, not a new one"
            }
            Lesson::RoleChaining => "a role assumed from a role's session: DurationSeconds above 3600 is refused",
            Lesson::AutoRefresh => {
                "a role_arn + source_profile profile the SDKs refresh themselves, beside the static keys"
            }
            Lesson::Expiry => "the lab's own TTL: after it the key is refused AssumeRole and the open session S3",
        }
    }
}

impl FromStr for Lesson {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        match Lesson::ALL.into_iter().find(|l| l.name() == name) {
            Some(lesson) => Ok(lesson),
            None => {
                let all: Vec<&str> = Lesson::ALL.iter().map(|l| l.name()).collect();
                bail!("no lesson {name:?}; the lessons are {}", all.join(", "))
            }
        }
    }
}

/// Applies `lesson` to the lab and runs its checks.
pub async fn run(lab: &Lab, lesson: Lesson, report: &dyn Report) -> Result<LessonDoc> {
    let steps = Steps::new(report);
    let role_arn = lab.role_arn().await?;
    let checks = match lesson {
        Lesson::ExternalId => trust::external_id(lab, &role_arn, steps).await?,
        Lesson::SessionPolicy => sessions::session_policy(lab, &role_arn, steps).await?,
        Lesson::SessionTags => identity::session_tags(lab, &role_arn, steps).await?,
        Lesson::SourceIdentity => identity::source_identity(lab, &role_arn, steps).await?,
        Lesson::Mfa => identity::mfa(lab, &role_arn, steps).await?,
        Lesson::RevokeSessions => sessions::revoke_sessions(lab, &role_arn, steps).await?,
        Lesson::RoleChaining => trust::role_chaining(lab, &role_arn, steps).await?,
        Lesson::AutoRefresh => sessions::auto_refresh(lab, &role_arn, steps).await?,
        Lesson::Expiry => sessions::expiry(lab, &role_arn, steps).await?,
    };
    Ok(LessonDoc {
        lesson: lesson.name().to_owned(),
        undone: false,
        checks,
    })
}

/// Takes `lesson` back: the lab as `setup` left it.
pub async fn undo(lab: &Lab, lesson: Lesson, report: &dyn Report) -> Result<LessonDoc> {
    let steps = Steps::new(report);
    match lesson {
        Lesson::ExternalId => trust::undo_external_id(lab, steps).await?,
        Lesson::SessionTags => identity::undo_session_tags(lab, steps).await?,
        Lesson::SourceIdentity => identity::undo_source_identity(lab, steps).await?,
        Lesson::Mfa => identity::undo_mfa(lab, steps).await?,
        Lesson::RevokeSessions => sessions::undo_revoke(lab, steps).await?,
        Lesson::RoleChaining => trust::undo_role_chaining(lab, steps).await?,
        Lesson::AutoRefresh => sessions::undo_auto_refresh(lab, steps)?,
        Lesson::SessionPolicy | Lesson::Expiry => {
            steps.note(format!(
                "lesson {} changes nothing of the lab: nothing to undo",
                lesson.name()
            ));
        }
    }
    Ok(LessonDoc {
        lesson: lesson.name().to_owned(),
        undone: true,
        checks: Vec::new(),
    })
}
