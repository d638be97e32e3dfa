//! The STS ladder: lessons beyond the seed, each applied to the lab `setup` made as a change of one
//! or two policy lines (shown as a diff), then proven by requests that must be allowed or refused
//! with an exact error code, each with what decided it and the aws CLI command that does the same.
//! One lesson at a time: the lab's user records the one applied (its `sts-lab-lesson` tag).
//! `verify` proves an applied lesson again by reading only (a class's `class verify`); `--undo`
//! takes a lesson back; `cleanup` removes what any lesson made (the inventory finds it).

mod checks;
mod evidence;
mod expiry;
mod identity;
mod policy_kinds;
mod proven;
mod sessions;
mod trust;

use std::str::FromStr;

use anyhow::{Result, bail};
use futures_util::future::BoxFuture;

use crate::lab::Lab;
use crate::model::names::LESSON_TAG_KEY;
use crate::model::secret::Secret;
use crate::ops::iam;
use crate::output::report::{Report, Steps};
use crate::output::{LessonCheck, LessonDoc};

pub use checks::diff_lines;
use checks::{Cx, Open};

/// One rung of the ladder: what it is called and teaches, whether it moves the emulator's clock
/// (one clock for every lab on it: such lessons run one lab at a time) and whether it changes the
/// lab (then it is recorded as applied, and `--undo` takes it back), and its three steps. A lesson
/// is added by writing its `Rung` beside its steps and naming it in [`LADDER`]: nothing else.
pub struct Rung {
    pub name: &'static str,
    pub summary: &'static str,
    pub moves_clock: bool,
    pub changes_lab: bool,
    apply: Apply,
    prove: Prove,
    undo: Undo,
}

/// A lesson's change of the lab, and what it leaves for its checks.
type Apply = for<'a> fn(Cx<'a>) -> BoxFuture<'a, Result<Applied>>;
/// A lesson's checks, after it was applied now or before (`applied` is then empty).
type Prove = for<'a> fn(Cx<'a>, &'a Applied) -> BoxFuture<'a, Result<Vec<LessonCheck>>>;
/// A lesson taken back.
type Undo = for<'a> fn(Cx<'a>) -> BoxFuture<'a, Result<()>>;

/// The ladder, in the order it climbs: the one list of the lessons.
static LADDER: [&Rung; 11] = [
    &trust::EXTERNAL_ID,
    &sessions::SESSION_POLICY,
    &identity::SESSION_TAGS,
    &identity::SOURCE_IDENTITY,
    &trust::ROLE_CHAINING,
    &sessions::REVOKE_SESSIONS,
    &identity::MFA,
    &sessions::AUTO_REFRESH,
    &policy_kinds::PERMISSION_BOUNDARY,
    &policy_kinds::BUCKET_POLICY,
    &expiry::EXPIRY,
];

/// A lesson of the ladder.
#[derive(Clone, Copy)]
pub struct Lesson(&'static Rung);

/// Lesson `expiry`, which `demo --disarm` runs.
pub const EXPIRY: Lesson = Lesson(&expiry::EXPIRY);

impl Lesson {
    /// Every lesson, in the order the ladder climbs.
    pub fn all() -> impl Iterator<Item = Lesson> {
        LADDER.iter().map(|rung| Lesson(rung))
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// What the lesson teaches, in one line.
    pub fn summary(self) -> &'static str {
        self.0.summary
    }

    /// Whether the lesson moves an emulator's clock.
    pub fn moves_clock(self) -> bool {
        self.0.moves_clock
    }

    /// Whether applying the lesson changes the lab.
    pub fn changes_lab(self) -> bool {
        self.0.changes_lab
    }
}

impl PartialEq for Lesson {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Lesson {}

impl std::fmt::Debug for Lesson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lesson({})", self.name())
    }
}

impl FromStr for Lesson {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        match Lesson::all().find(|l| l.name() == name) {
            Some(lesson) => Ok(lesson),
            None => {
                let all: Vec<&str> = Lesson::all().map(Lesson::name).collect();
                bail!("no lesson {name:?}; the lessons are {}", all.join(", "))
            }
        }
    }
}

/// What applying a lesson leaves for its checks: the session opened before a revocation, the MFA
/// device's serial and seed.
#[derive(Default)]
pub struct Applied {
    open: Option<Open>,
    mfa: Option<(String, Secret)>,
}

/// The lesson applied to the lab, as its user's tag records it (None: the lab as setup left it).
pub async fn applied(lab: &Lab) -> Result<Option<Lesson>> {
    let user = iam::get_user(&lab.admin.iam, &lab.names.user).await?;
    Ok(lesson_of(user.as_ref()))
}

/// [`applied`] as the class's reading of the account saw it, when the lab shares one (a class's
/// verify: the users' tags are in it, not a GetUser a student), else asked.
pub async fn applied_as_read(lab: &Lab) -> Result<Option<Lesson>> {
    Ok(lesson_of(lab.user_as_read().await?.as_ref()))
}

fn lesson_of(user: Option<&crate::ops::iam::UserInfo>) -> Option<Lesson> {
    user.and_then(|u| u.tag(LESSON_TAG_KEY))
        .and_then(|name| name.parse().ok())
}

/// Refuses `lesson` while another is applied: lessons share the second role, and several change
/// the same trust, so a second lesson's checks would meet the first's conditions.
async fn one_at_a_time(lab: &Lab, lesson: Lesson) -> Result<()> {
    if let Some(other) = applied(lab).await?
        && other != lesson
    {
        bail!(
            "lesson {} is applied to lab {}; take it back first with `{}`",
            other.name(),
            lab.names.lab,
            crate::output::command::xtask(format!("lesson {} --undo", other.name()))
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
    let applied = (lesson.0.apply)(cx).await?;
    if lesson.changes_lab() {
        iam::tag_user(&lab.admin.iam, &lab.names.user, &[(LESSON_TAG_KEY, lesson.name())]).await?;
    }
    let checks = (lesson.0.prove)(cx, &applied).await?;
    if checks.iter().all(|c| c.ok) {
        crate::lab::progress::record_passed(lab, "lesson", lesson.name(), lab.now().await?).await?;
    }
    Ok(doc(lesson, false, checks))
}

/// [`run`], each check with the CloudTrail event of the request that proved it (on the emulator;
/// AWS delivers events minutes late): one reading of the trail after the checks.
pub async fn run_with_evidence(lab: &Lab, lesson: Lesson, report: &dyn Report) -> Result<LessonDoc> {
    let from = lab.now().await?;
    let mut doc = run(lab, lesson, report).await?;
    if let Err(e) = evidence::attach(lab, &mut doc.checks, from).await {
        Steps::new(report).note(format!(
            "the checks' events were not found in the trail: {}",
            crate::aws::error::one_line(&e)
        ));
    }
    Ok(doc)
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
    let checks = (lesson.0.prove)(cx, &Applied::default()).await?;
    Ok(doc(lesson, false, checks))
}

fn doc(lesson: Lesson, undone: bool, checks: Vec<LessonCheck>) -> LessonDoc {
    LessonDoc {
        lesson: lesson.name().to_owned(),
        undone,
        checks,
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
    (lesson.0.undo)(cx).await?;
    if applied(lab).await? == Some(lesson) {
        iam::untag_user(&lab.admin.iam, &lab.names.user, LESSON_TAG_KEY).await?;
    }
    Ok(doc(lesson, true, Vec::new()))
}
