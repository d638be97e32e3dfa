//! The aws CLI commands that do what each step of the lab does, shown with `--explain`, so the
//! lab still teaches what the hand-run guide taught. Pure: names in, command lines out; secrets
//! never appear in them, only placeholders.

use crate::model::names::{LAB_TAG_KEY, LabNames};

/// The commands as the admin would run them: `--profile <admin>` added to each aws command that
/// names no profile (the lab's own profiles are already named).
pub fn as_admin(commands: Vec<String>, admin_profile: Option<&str>) -> Vec<String> {
    let Some(profile) = admin_profile else { return commands };
    commands
        .into_iter()
        .map(|c| {
            if !c.starts_with("aws ") || c.contains(" --profile ") {
                return c;
            }
            // Before a trailing `# remark`, and inside each `&&` part.
            let (cmd, remark) = c.split_once("    #").map_or((c.as_str(), None), |(a, b)| (a, Some(b)));
            let with = cmd
                .split(" && ")
                .map(|part| format!("{part} --profile {profile}"))
                .collect::<Vec<_>>()
                .join(" && ");
            remark.map_or(with.clone(), |r| format!("{with}    #{r}"))
        })
        .collect()
}

pub fn connect() -> Vec<String> {
    vec!["aws sts get-caller-identity".to_owned()]
}

pub fn preflight(n: &LabNames) -> Vec<String> {
    vec![
        format!("aws iam get-user --user-name {}", n.user),
        format!("aws cloudformation describe-stacks --stack-name {}", n.stack),
    ]
}

pub fn create_user(n: &LabNames) -> Vec<String> {
    vec![format!(
        "aws iam create-user --user-name {} --tags Key={LAB_TAG_KEY},Value={}",
        n.user, n.lab
    )]
}

pub fn access_key(n: &LabNames) -> Vec<String> {
    vec![
        format!("aws iam create-access-key --user-name {} --output table", n.user),
        format!(
            "aws configure set aws_access_key_id <AccessKeyId> --profile {}",
            n.user_profile
        ),
        format!(
            "aws configure set aws_secret_access_key <SecretAccessKey> --profile {}",
            n.user_profile
        ),
    ]
}

pub fn user_identity(n: &LabNames) -> Vec<String> {
    vec![format!("aws sts get-caller-identity --profile {}", n.user_profile)]
}

pub fn user_has_no_s3(n: &LabNames) -> Vec<String> {
    vec![format!("aws s3 ls --profile {}    # AccessDenied", n.user_profile)]
}

pub fn deploy(n: &LabNames, user_arn: &str, bucket_prefix: &str) -> Vec<String> {
    vec![format!(
        "aws cloudformation deploy --stack-name {} --template-file infra/template.yaml --capabilities CAPABILITY_IAM --parameter-overrides LabUserArn={user_arn} BucketPrefix={bucket_prefix} --tags {LAB_TAG_KEY}={}",
        n.stack, n.lab
    )]
}

pub fn put_user_policy(n: &LabNames, role_arn: &str) -> Vec<String> {
    vec![format!(
        "aws iam put-user-policy --user-name {} --policy-name {} --policy-document file://infra/policy.json    # with {{{{ROLE_ARN}}}} = {role_arn}",
        n.user, n.user_policy
    )]
}

pub fn assume(n: &LabNames, role_arn: &str, session: &str, duration: Option<i32>) -> Vec<String> {
    let duration = duration.map(|d| format!(" --duration-seconds {d}")).unwrap_or_default();
    vec![format!(
        "aws sts assume-role --role-arn {role_arn} --role-session-name {session}{duration} --profile {}",
        n.user_profile
    )]
}

pub fn write_assumed(n: &LabNames) -> Vec<String> {
    [
        "aws_access_key_id <AccessKeyId>",
        "aws_secret_access_key <SecretAccessKey>",
        "aws_session_token <SessionToken>",
    ]
    .iter()
    .map(|kv| format!("aws configure set {kv} --profile {}", n.assumed_profile))
    .collect()
}

pub fn delete_buckets(buckets: &[String]) -> Vec<String> {
    buckets.iter().map(|b| format!("aws s3 rb s3://{b} --force")).collect()
}

pub fn delete_stack(n: &LabNames) -> Vec<String> {
    vec![
        format!("aws cloudformation delete-stack --stack-name {}", n.stack),
        format!("aws cloudformation wait stack-delete-complete --stack-name {}", n.stack),
    ]
}

pub fn delete_user_policies(n: &LabNames, policies: &[String]) -> Vec<String> {
    policies
        .iter()
        .map(|p| format!("aws iam delete-user-policy --user-name {} --policy-name {p}", n.user))
        .collect()
}

pub fn delete_access_keys(n: &LabNames) -> Vec<String> {
    vec![
        format!("aws iam list-access-keys --user-name {}", n.user),
        format!(
            "aws iam delete-access-key --user-name {} --access-key-id <AccessKeyId>",
            n.user
        ),
    ]
}

pub fn delete_user(n: &LabNames) -> Vec<String> {
    vec![format!("aws iam delete-user --user-name {}", n.user)]
}

pub fn remove_profiles(n: &LabNames) -> Vec<String> {
    vec![format!(
        "# remove [{}] and [{}] from ~/.aws/credentials, and their [profile …] sections from ~/.aws/config (the aws CLI has no command for it)",
        n.user_profile, n.assumed_profile
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_use_the_labs_names_and_no_secrets() {
        let n = LabNames::new(Some("team-a")).unwrap();
        assert_eq!(
            create_user(&n),
            ["aws iam create-user --user-name sts-machine-user-team-a --tags Key=sts-lab,Value=team-a"]
        );
        assert!(access_key(&n).iter().all(|c| !c.contains("=") || c.contains("<")));
        assert_eq!(
            assume(&n, "arn:aws:iam::1:role/r", "s", Some(900)),
            [
                "aws sts assume-role --role-arn arn:aws:iam::1:role/r --role-session-name s --duration-seconds 900 --profile sts-team-a"
            ]
        );
        assert!(
            write_assumed(&n)
                .iter()
                .all(|c| c.contains("<") && c.ends_with("--profile assumed-team-a"))
        );
        assert!(put_user_policy(&n, "R").iter().all(|c| c.contains("{{ROLE_ARN}} = R")));
    }

    #[test]
    fn admin_commands_get_the_admin_profile_and_lab_profiles_keep_theirs() {
        let n = LabNames::new(None).unwrap();
        assert_eq!(
            as_admin(connect(), Some("admin")),
            ["aws sts get-caller-identity --profile admin"]
        );
        assert_eq!(as_admin(connect(), None), ["aws sts get-caller-identity"]);
        assert_eq!(as_admin(user_identity(&n), Some("admin")), user_identity(&n));
        let policy = as_admin(put_user_policy(&n, "R"), Some("admin"));
        assert!(
            policy[0].contains("policy.json --profile admin    # with"),
            "{policy:?}"
        );
        assert_eq!(as_admin(remove_profiles(&n), Some("admin")), remove_profiles(&n));
    }
}
