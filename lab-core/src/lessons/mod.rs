//! The STS ladder: lessons beyond the seed, each applied to the lab `setup` made as a change of one
//! or two policy lines (shown as a diff), then proven by requests that must be allowed or refused
//! with an exact error code, each with what decided it and the aws CLI command that does the same.
//! One lesson at a time: the lab's user records the one applied (its `sts-lab-lesson` tag).
//! `verify` proves an applied lesson again by reading only (a class's `class verify`); `--undo`
//! takes a lesson back; `cleanup` removes what any lesson made (the inventory finds it).

mod checks;
mod expiry;
mod identity;
mod sessions;
mod trust;

use std::str::FromStr;

use anyhow::{Result, bail};

use crate::lab::Lab;
use crate::model::names::LESSON_TAG_KEY;
use crate::model::secret::Secret;
use crate::ops::iam;
use crate::output::report::{Report, Steps};
use crate::output::{LessonCheck, LessonDoc};

pub use checks::diff_lines;
use checks::{Cx, Open};

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

    /// Whether applying the lesson changes the lab (its trust, policies, roles, device or
    /// profiles): it is then recorded as applied, and `--undo` takes it back.
    pub fn changes_lab(self) -> bool {
        !matches!(self, Lesson::SessionPolicy | Lesson::Expiry)
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
            Lesson::Expiry => {
                "the lab's own TTL: past it a session still open is refused S3 by the lab's aws:CurrentTime condition, and the key AssumeRole"
            }
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

/// What applying a lesson leaves for its checks: the session opened before a revocation, the MFA
/// device's serial and seed.
#[derive(Default)]
struct Applied {
    open: Option<Open>,
    mfa: Option<(String, Secret)>,
}

/// The lesson applied to the lab, as its user's tag records it (None: the lab as setup left it).
pub async fn applied(lab: &Lab) -> Result<Option<Lesson>> {
    let user = iam::get_user(&lab.admin.iam, &lab.names.user).await?;
    Ok(user
        .as_ref()
        .and_then(|u| u.tag(LESSON_TAG_KEY))
        .and_then(|name| name.parse().ok()))
}

/// Refuses `lesson` while another is applied: lessons share the second role, and several change
/// the same trust, so a second lesson's checks would meet the first's conditions.
async fn one_at_a_time(lab: &Lab, lesson: Lesson) -> Result<()> {
    if let Some(other) = applied(lab).await?
        && other != lesson
    {
        bail!(
            "lesson {} is applied to lab {}; take it back first with `cargo xtask lesson {} --undo`",
            other.name(),
            lab.names.lab,
            other.name()
        );
    }
    Ok(())
}

/// Applies `lesson` to the lab and runs its checks.
pub async fn run(lab: &Lab, lesson: Lesson, report: &dyn Report) -> Result<LessonDoc> {
    one_at_a_time(lab, lesson).await?;
    let role_arn = lab.role_arn().await?;
    let cx = Cx {
        lab,
        steps: Steps::new(report),
        role_arn: &role_arn,
    };
    let applied = apply(cx, lesson).await?;
    if lesson.changes_lab() {
        iam::tag_user(&lab.admin.iam, &lab.names.user, &[(LESSON_TAG_KEY, lesson.name())]).await?;
    }
    let checks = prove(cx, lesson, &applied).await?;
    Ok(doc(lesson, false, checks))
}

/// Runs the checks of `lesson`, applied to the lab before, reading only: nothing of the lab is
/// written (its clock aside, put back after, and a check bucket of the lab's, deleted at once).
pub async fn verify(lab: &Lab, lesson: Lesson, report: &dyn Report) -> Result<LessonDoc> {
    let role_arn = lab.role_arn().await?;
    let cx = Cx {
        lab,
        steps: Steps::new(report),
        role_arn: &role_arn,
    };
    let mut applied = Applied::default();
    if lesson == Lesson::Mfa {
        applied.mfa = identity::recorded_device(cx).await?;
    }
    let checks = prove(cx, lesson, &applied).await?;
    Ok(doc(lesson, false, checks))
}

fn doc(lesson: Lesson, undone: bool, checks: Vec<LessonCheck>) -> LessonDoc {
    LessonDoc {
        lesson: lesson.name().to_owned(),
        undone,
        checks,
    }
}

async fn apply(cx: Cx<'_>, lesson: Lesson) -> Result<Applied> {
    let mut applied = Applied::default();
    match lesson {
        Lesson::ExternalId => trust::apply_external_id(cx).await?,
        Lesson::SessionPolicy => sessions::show_session_policy(cx),
        Lesson::SessionTags => identity::apply_session_tags(cx).await?,
        Lesson::SourceIdentity => identity::apply_source_identity(cx).await?,
        Lesson::Mfa => applied.mfa = Some(identity::apply_mfa(cx).await?),
        Lesson::RevokeSessions => applied.open = Some(sessions::apply_revoke(cx).await?),
        Lesson::RoleChaining => trust::apply_role_chaining(cx).await.map(drop)?,
        Lesson::AutoRefresh => sessions::apply_auto_refresh(cx).await?,
        Lesson::Expiry => {}
    }
    Ok(applied)
}

async fn prove(cx: Cx<'_>, lesson: Lesson, applied: &Applied) -> Result<Vec<LessonCheck>> {
    match lesson {
        Lesson::ExternalId => trust::prove_external_id(cx).await,
        Lesson::SessionPolicy => sessions::prove_session_policy(cx).await,
        Lesson::SessionTags => identity::prove_session_tags(cx).await,
        Lesson::SourceIdentity => identity::prove_source_identity(cx).await,
        Lesson::Mfa => identity::prove_mfa(cx, applied.mfa.as_ref()).await,
        Lesson::RevokeSessions => sessions::prove_revoke(cx, applied.open.as_ref()).await,
        Lesson::RoleChaining => trust::prove_role_chaining(cx).await,
        Lesson::AutoRefresh => sessions::prove_auto_refresh(cx).await,
        Lesson::Expiry => expiry::prove(cx).await,
    }
}

/// Takes `lesson` back: the lab as `setup` left it.
pub async fn undo(lab: &Lab, lesson: Lesson, report: &dyn Report) -> Result<LessonDoc> {
    let steps = Steps::new(report);
    if !lesson.changes_lab() {
        steps.note(format!(
            "lesson {} changes nothing of the lab: nothing to undo",
            lesson.name()
        ));
        return Ok(doc(lesson, true, Vec::new()));
    }
    let role_arn = lab.role_arn().await?;
    let cx = Cx {
        lab,
        steps,
        role_arn: &role_arn,
    };
    match lesson {
        Lesson::ExternalId => trust::undo_external_id(cx).await?,
        Lesson::SessionTags => identity::undo_session_tags(cx).await?,
        Lesson::SourceIdentity => identity::undo_source_identity(cx).await?,
        Lesson::Mfa => identity::undo_mfa(cx).await?,
        Lesson::RevokeSessions => sessions::undo_revoke(cx).await?,
        Lesson::RoleChaining => trust::undo_role_chaining(cx).await?,
        Lesson::AutoRefresh => sessions::undo_auto_refresh(cx).await?,
        Lesson::SessionPolicy | Lesson::Expiry => {}
    }
    if applied(lab).await? == Some(lesson) {
        iam::untag_user(&lab.admin.iam, &lab.names.user, LESSON_TAG_KEY).await?;
    }
    Ok(doc(lesson, true, Vec::new()))
}
