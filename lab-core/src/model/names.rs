//! The names a lab uses (user, stack, policy, profiles, bucket prefix, tag), derived from the lab name.
//!
//! Every name is a pure function of the lab name (and, for buckets, the account id), so that
//! `cleanup` can find everything the lab made even when every local file is gone.

use anyhow::{Result, bail};

/// The tag key put on everything the lab creates; its value is the lab name.
pub const LAB_TAG_KEY: &str = "sts-lab";
/// The tag key on the lab user that records the region of the lab's stack and buckets.
pub const REGION_TAG_KEY: &str = "sts-lab-region";
/// The tag key on the lab's user, stack and buckets that records when the lab expires.
pub const EXPIRES_TAG_KEY: &str = "sts-lab-expires";
/// The tag key on the lab's user that records the lesson applied to the lab (one at a time).
pub const LESSON_TAG_KEY: &str = "sts-lab-lesson";
/// The tag key on the lab's user that records the challenge set on the lab (one at a time).
pub const CHALLENGE_TAG_KEY: &str = "sts-lab-challenge";
/// The tag key on the lab's user that records when the challenge was set (UTC).
pub const CHALLENGE_AT_TAG_KEY: &str = "sts-lab-challenge-at";
/// The prefix of the tag keys on the lab's user that record what its learner passed, and when:
/// `sts-lab-passed:challenge:NAME` or `sts-lab-passed:lesson:NAME`, the time (UTC) as the value.
pub const PASSED_TAG_PREFIX: &str = "sts-lab-passed:";
/// The inline policy a challenge puts on the lab's user: assume the challenge role, and edit it.
pub const CHALLENGE_USER_POLICY: &str = "ChallengeAccess";
/// The inline policy of the challenge role that a challenge starts with and a learner edits.
pub const CHALLENGE_ROLE_POLICY: &str = "ChallengePolicy";
/// The inline policy the stack puts on its role (`infra/template.yaml`); any other inline policy
/// of the lab's roles was put there by a lesson or a learner.
pub const STACK_ROLE_POLICY: &str = "sts-lab-s3";
/// The lab name used when `--lab` is not given: it keeps the guide's names.
pub const DEFAULT_LAB: &str = "default";
/// The session name the guide uses for `sts assume-role`.
pub const DEFAULT_SESSION_NAME: &str = "s3-sts-aws-prep";
/// The longest lab name: it keeps every derived name within IAM's and S3's limits.
pub const MAX_LAB_NAME_LEN: usize = 20;

/// All the names of one lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabNames {
    /// The lab name, `default` for the guide's names.
    pub lab: String,
    /// The IAM user with no permissions but `sts:AssumeRole` on the role.
    pub user: String,
    /// The inline policy on the user that allows `sts:AssumeRole`.
    pub user_policy: String,
    /// The CloudFormation stack holding the role.
    pub stack: String,
    /// The credentials-file profile holding the user's access key.
    pub user_profile: String,
    /// The credentials-file profile holding the assumed role's temporary credentials.
    pub assumed_profile: String,
    /// A class's student lab, whose learner has a handout and the aws CLI, not this repository.
    pub handout: bool,
}

impl LabNames {
    /// Names for `lab` (None: the guide's names), after checking the lab name.
    pub fn new(lab: Option<&str>) -> Result<Self> {
        match lab {
            None => Ok(Self::guide()),
            Some(name) if name == DEFAULT_LAB => Ok(Self::guide()),
            Some(name) => {
                validate_lab_name(name)?;
                Ok(Self {
                    lab: name.to_owned(),
                    user: format!("sts-machine-user-{name}"),
                    user_policy: format!("StsAssumePolicy-{name}"),
                    stack: format!("sts-stack-aws-prep-{name}"),
                    user_profile: format!("sts-{name}"),
                    assumed_profile: format!("assumed-{name}"),
                    handout: false,
                })
            }
        }
    }

    /// The guide's names: user `sts-machine-user`, profiles `sts` and `assumed`.
    fn guide() -> Self {
        Self {
            lab: DEFAULT_LAB.to_owned(),
            user: "sts-machine-user".to_owned(),
            user_policy: "StsAssumePolicy".to_owned(),
            stack: "sts-stack-aws-prep".to_owned(),
            user_profile: "sts".to_owned(),
            assumed_profile: "assumed".to_owned(),
            handout: false,
        }
    }

    /// The role inline policy of lesson revoke-sessions (the console's name for it).
    pub fn revoke_policy(&self) -> &'static str {
        "AWSRevokeOlderSessions"
    }

    /// The inline policy lesson session-tags puts on the stack's role and on the chained role.
    pub fn team_policy(&self) -> &'static str {
        "TeamBuckets"
    }

    /// The inline policy lesson source-identity puts on the stack's role: its sessions may pass
    /// their source identity on to the chained role.
    pub fn source_identity_policy(&self) -> &'static str {
        "PassSourceIdentity"
    }

    /// The customer managed policy lesson permission-boundary sets as the role's boundary.
    pub fn boundary_policy(&self) -> String {
        format!("sts-lab-{}-boundary", self.lab)
    }

    /// The inline policy lesson permission-boundary puts on the role: broader than the boundary.
    pub fn broad_policy(&self) -> &'static str {
        "BroadAccess"
    }

    /// The bucket lesson bucket-policy guards with a policy (under the lab's prefix).
    pub fn guarded_bucket(&self, account: &str) -> String {
        format!("{}guarded", self.bucket_prefix(account))
    }

    /// The second role of lessons role-chaining, session-tags and source-identity.
    pub fn chained_role(&self) -> String {
        format!("sts-lab-{}-chained", self.lab)
    }

    /// The role the challenges set up and a learner edits (with the lab's user).
    pub fn challenge_role(&self) -> String {
        format!("sts-lab-{}-challenge", self.lab)
    }

    /// The managed policy that bounds the challenge role: whatever the learner writes on it, its
    /// sessions reach no further than S3 under the lab's prefix.
    pub fn challenge_boundary(&self) -> String {
        format!("sts-lab-{}-challenge-boundary", self.lab)
    }

    /// The serial number of the lab user's virtual MFA device (lesson mfa), named after the user.
    pub fn mfa_serial(&self, partition: &str, account: &str) -> String {
        format!("arn:{partition}:iam::{account}:mfa/{}", self.user)
    }

    /// The config profile of lesson external-id: role_arn, source_profile and external_id.
    pub fn external_id_profile(&self) -> String {
        format!("{}-external-id", self.assumed_profile)
    }

    /// The config profile of lesson auto-refresh: role_arn and source_profile.
    pub fn auto_profile(&self) -> String {
        format!("{}-auto", self.assumed_profile)
    }

    /// Prefix of every bucket of this lab in `account`; bucket names are global, so the account
    /// id keeps two accounts running the same lab apart.
    pub fn bucket_prefix(&self, account: &str) -> String {
        format!("sts-lab-{}-{account}-", self.lab)
    }

    /// The bucket `verify` creates with the assumed role, named anew by the time of each run
    /// (`stamp`, seconds since the epoch): S3 may refuse a deleted bucket's name for a while
    /// (409 OperationAborted), so a verify after a cleanup never reuses one.
    pub fn verify_bucket(&self, account: &str, stamp: i64) -> String {
        format!("{}verify-{}", self.bucket_prefix(account), base36(stamp.max(0) as u64))
    }

    /// The prefix of every bucket `verify` creates.
    pub fn verify_bucket_prefix(&self, account: &str) -> String {
        format!("{}verify-", self.bucket_prefix(account))
    }

    /// A bucket name outside the lab prefix, which `verify` proves the role may not create.
    pub fn outside_bucket(&self, account: &str) -> String {
        format!("outside-{}check", self.bucket_prefix(account))
    }

    /// The prefix CloudFormation gives the role's generated name (`<stack>-StsRole-<random>`).
    pub fn role_name_prefix(&self) -> String {
        format!("{}-StsRole-", self.stack)
    }

    /// The ARN of the lab user in `account`.
    pub fn user_arn(&self, partition: &str, account: &str) -> String {
        format!("arn:{partition}:iam::{account}:user/{}", self.user)
    }
}

/// `n` in lowercase base 36 (digits, then letters): short, and valid in a bucket name.
fn base36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks a lab name before any AWS call: lowercase letters, digits and single hyphens, starting
/// with a letter, at most 20 characters, so that it is valid in IAM user, stack, profile and S3
/// bucket names alike.
pub fn validate_lab_name(name: &str) -> Result<()> {
    let fix = "use 1 to 20 lowercase letters, digits or hyphens, starting with a letter, e.g. --lab team-a";
    if name.is_empty() || name.len() > MAX_LAB_NAME_LEN {
        bail!("invalid lab name {name:?}: {fix}");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        bail!("invalid lab name {name:?}: it must start with a lowercase letter; {fix}");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        bail!("invalid lab name {name:?}: only lowercase letters, digits and hyphens are allowed; {fix}");
    }
    if name.as_bytes().windows(12).any(|w| w.iter().all(u8::is_ascii_digit)) {
        // Bucket names are `sts-lab-<lab>-<account>-…`: a lab named `a-<account>…` would have its
        // buckets under lab `a`'s prefix.
        bail!("invalid lab name {name:?}: 12 digits in a row read as an account id in bucket names; {fix}");
    }
    if name.ends_with('-') || name.contains("--") {
        bail!("invalid lab name {name:?}: no trailing or double hyphens; {fix}");
    }
    Ok(())
}

/// Checks an STS role session name: 2 to 64 of `[\w+=,.@-]`.
/// A role session name, checked once when it is read (as STS checks `RoleSessionName`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionName(String);

impl SessionName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SessionName {
    /// The guide's.
    fn default() -> Self {
        Self(DEFAULT_SESSION_NAME.to_owned())
    }
}

impl std::str::FromStr for SessionName {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        validate_session_name(name)?;
        Ok(Self(name.to_owned()))
    }
}

impl std::fmt::Display for SessionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn validate_session_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if !(2..=64).contains(&name.len()) || !name.chars().all(ok_char) {
        bail!(
            "invalid session name {name:?}: use 2 to 64 letters, digits or any of _+=,.@- (e.g. --session-name {DEFAULT_SESSION_NAME})"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lab_keeps_the_guides_names() {
        let n = LabNames::new(None).unwrap();
        assert_eq!(n.user, "sts-machine-user");
        assert_eq!(n.user_policy, "StsAssumePolicy");
        assert_eq!(n.user_profile, "sts");
        assert_eq!(n.assumed_profile, "assumed");
        assert_eq!(n.stack, "sts-stack-aws-prep");
        assert_eq!(LabNames::new(Some("default")).unwrap(), n);
        assert_eq!(n.bucket_prefix("123456789012"), "sts-lab-default-123456789012-");
        assert_eq!(
            n.user_arn("aws", "123456789012"),
            "arn:aws:iam::123456789012:user/sts-machine-user"
        );
    }

    /// Bucket prefixes never nest: a lab name may not hold an account id's 12 digits.
    #[test]
    fn no_lab_name_holds_an_account_id() {
        let err = validate_lab_name("a-123456789012").unwrap_err().to_string();
        assert!(err.contains("12 digits in a row"), "{err}");
        assert!(validate_lab_name("a-12345678901").is_ok());
        assert!(validate_lab_name("class-01").is_ok());
    }

    #[test]
    fn a_named_lab_namespaces_every_name() {
        let n = LabNames::new(Some("team-a")).unwrap();
        let d = LabNames::new(None).unwrap();
        assert_eq!(n.user, "sts-machine-user-team-a");
        assert_eq!(n.user_policy, "StsAssumePolicy-team-a");
        assert_eq!(n.stack, "sts-stack-aws-prep-team-a");
        assert_eq!(n.user_profile, "sts-team-a");
        assert_eq!(n.assumed_profile, "assumed-team-a");
        assert_ne!(n.bucket_prefix("1"), d.bucket_prefix("1"));
        assert!(!n.bucket_prefix("1").starts_with(&d.bucket_prefix("1")));
    }

    #[test]
    fn longest_lab_name_fits_bucket_and_iam_limits() {
        let n = LabNames::new(Some("abcdefghij0123456789")).unwrap();
        assert!(n.verify_bucket("123456789012", i64::MAX).len() <= 63);
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_ne!(n.verify_bucket("1", 1_800_000_000), n.verify_bucket("1", 1_800_000_001));
        assert!(n.verify_bucket("1", 5).starts_with(&n.verify_bucket_prefix("1")));
        assert!(n.outside_bucket("123456789012").len() <= 63);
        assert!(!n.outside_bucket("1").starts_with(&n.bucket_prefix("1")));
        assert!(n.user.len() <= 64);
        assert!(n.stack.len() <= 128);
    }

    #[test]
    fn bad_lab_names_are_refused_with_a_hint() {
        for bad in [
            "",
            "Team",
            "1abc",
            "a_b",
            "a--b",
            "a-",
            "abcdefghij01234567890",
            "a b",
            "ü",
        ] {
            let err = LabNames::new(Some(bad)).unwrap_err().to_string();
            assert!(err.contains("invalid lab name"), "{bad}: {err}");
            assert!(err.contains("--lab"), "{bad}: {err}");
        }
    }

    #[test]
    fn session_names_follow_sts_rules() {
        validate_session_name(DEFAULT_SESSION_NAME).unwrap();
        validate_session_name("a@b.c,d=e+f_g").unwrap();
        assert!(validate_session_name("x").is_err());
        assert!(validate_session_name("has space").is_err());
        assert!(validate_session_name(&"a".repeat(65)).is_err());
    }
}
