//! What lessons (or a learner) left in a lab beyond what setup made, as one typed value: the
//! inventory reads it, `status --json` shows it as it is, the plan and the cleanup go over it.

use serde::Serialize;

/// What lessons (or a learner) added to the lab beyond what setup made: the inventory's reading,
/// and `status --json`'s `lesson` (`class status --json`'s) as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LessonParts {
    /// The lesson applied, as the user's `sts-lab-lesson` tag records it.
    pub applied: Option<String>,
    /// Inline policies of the lab's roles that the stack did not put there.
    pub role_policies: Vec<RolePolicy>,
    /// The lessons' second role (tagged with the lab).
    pub chained_role: Option<String>,
    /// The user's virtual MFA device (lesson mfa), by its serial number.
    pub mfa_device: Option<String>,
    /// The lab's boundary policy (lesson permission-boundary), by its ARN.
    pub boundary_policy: Option<String>,
    /// The challenges' role (tagged with the lab), and the policy that bounds it, by its ARN.
    pub challenge_role: Option<String>,
    pub challenge_boundary: Option<String>,
}

impl LessonParts {
    pub fn is_empty(&self) -> bool {
        self.applied.is_none()
            && self.role_policies.is_empty()
            && self.chained_role.is_none()
            && self.mfa_device.is_none()
            && self.boundary_policy.is_none()
            && self.challenge_role.is_none()
            && self.challenge_boundary.is_none()
    }

    /// One line per part.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.applied.iter().map(|l| format!("lesson {l} applied")));
        out.extend(self.chained_role.iter().map(|r| format!("IAM role {r} (a lesson's)")));
        out.extend(
            self.challenge_role
                .iter()
                .map(|r| format!("IAM role {r} (a challenge's)")),
        );
        out.extend(
            self.challenge_boundary
                .iter()
                .map(|p| format!("IAM policy {p} (a challenge's boundary)")),
        );
        out.extend(
            self.role_policies
                .iter()
                .map(|p| format!("role policy {} of {}", p.policy, p.role)),
        );
        out.extend(self.mfa_device.iter().map(|s| format!("MFA device {s}")));
        out.extend(
            self.boundary_policy
                .iter()
                .map(|p| format!("IAM policy {p} (a boundary)")),
        );
        out
    }

    /// A student's lesson in a table's cell: its name, or `none`, with what lessons left beyond it.
    pub fn cell(&self) -> String {
        let left = self.role_policies.len()
            + usize::from(self.chained_role.is_some())
            + usize::from(self.mfa_device.is_some())
            + usize::from(self.boundary_policy.is_some())
            + usize::from(self.challenge_role.is_some())
            + usize::from(self.challenge_boundary.is_some());
        match (&self.applied, left) {
            (Some(lesson), _) => lesson.clone(),
            (None, 0) => "none".to_owned(),
            (None, n) => format!("none ({n} parts left)"),
        }
    }
}

/// An inline policy of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolePolicy {
    pub role: String,
    pub policy: String,
}
