//! A classroom: many isolated labs `NAME-01` … `NAME-N` (numbers of a fixed width, so that no lab
//! name is a prefix of another), the pairs the isolation check tries, and each student's handout
//! README with their own values in the guide's steps. Pure; the AWS work is the lab's own.

use anyhow::{Result, bail};

use crate::model::names::{DEFAULT_SESSION_NAME, LabNames, MAX_LAB_NAME_LEN, validate_lab_name};

/// The class name when `--class` is not given.
pub const DEFAULT_CLASS: &str = "class";
/// The most students one class may have.
pub const MAX_STUDENTS: usize = 200;

/// The lab names of a class of `students`: `class-01` … `class-12`, zero-padded to the width of
/// the largest number (two digits at least).
pub fn student_labs(class: &str, students: usize) -> Result<Vec<String>> {
    if students == 0 || students > MAX_STUDENTS {
        bail!("--students {students} is out of range: use 1 to {MAX_STUDENTS}");
    }
    let width = students.to_string().len().max(2);
    let labs: Vec<String> = (1..=students).map(|n| format!("{class}-{n:0width$}")).collect();
    let longest = labs.last().map_or(0, String::len);
    if longest > MAX_LAB_NAME_LEN {
        bail!(
            "class name {class:?} is too long for {students} students: lab names must fit {MAX_LAB_NAME_LEN} characters; use a class name of at most {} characters",
            MAX_LAB_NAME_LEN - (longest - class.len())
        );
    }
    validate_lab_name(class).map_err(|e| anyhow::anyhow!("invalid --class: {e}"))?;
    Ok(labs)
}

/// Whether `lab` is one of class `class`'s labs: `class-` then digits only.
pub fn is_student_lab(class: &str, lab: &str) -> bool {
    lab.strip_prefix(class)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The names of a student's lab: the lab's own, but the guide's profile names (`sts`, `assumed`),
/// which live in the student's handout, not in the instructor's files.
pub fn student_names(lab: &str) -> Result<LabNames> {
    let mut names = LabNames::new(Some(lab))?;
    names.user_profile = "sts".to_owned();
    names.assumed_profile = "assumed".to_owned();
    Ok(names)
}

/// The (student, other student's lab) pairs the isolation check tries: every pair up to ten
/// students, else each student against the next two (wrapping), so each is tried against two.
pub fn isolation_pairs(students: usize) -> Vec<(usize, usize)> {
    if students <= 10 {
        (0..students)
            .flat_map(|i| (0..students).filter(move |&j| j != i).map(move |j| (i, j)))
            .collect()
    } else {
        (0..students)
            .flat_map(|i| [(i, (i + 1) % students), (i, (i + 2) % students)])
            .collect()
    }
}

/// What a student's handout says of their lab.
#[derive(Debug, Clone)]
pub struct Handout<'a> {
    pub lab: &'a str,
    pub user: &'a str,
    pub role_arn: &'a str,
    pub bucket_prefix: &'a str,
    pub expires: &'a str,
    pub region: &'a str,
    /// A custom endpoint (the emulator) to export, if any.
    pub endpoint: Option<&'a str>,
    /// The handout's own folder.
    pub folder: &'a str,
    /// The lab as a Mermaid diagram (`status --diagram`).
    pub diagram: &'a str,
}

/// The handout's README: the student's values, and the guide's steps with them filled in.
pub fn handout_readme(h: &Handout<'_>) -> String {
    let endpoint = h
        .endpoint
        .map(|e| format!("export AWS_ENDPOINT_URL={e}   # the class runs on this endpoint, not on AWS\n"))
        .unwrap_or_default();
    format!(
        r#"# Your STS lab: {lab}

| what | yours |
|---|---|
| IAM user | `{user}` (no permissions but `sts:AssumeRole` on your role) |
| role | `{role}` |
| bucket prefix | `{prefix}` (the role may use S3 only on buckets named so) |
| region | `{region}` |
| expires | `{expires}` (after that your key can no longer assume the role) |

This folder holds your access key as profile `sts` (`credentials`, keep it to yourself) and the
region of profiles `sts` and `assumed` (`config`). Point the aws CLI at them, or paste their lines
into `~/.aws/credentials` and `~/.aws/config`:

```sh
cd {folder}
export AWS_SHARED_CREDENTIALS_FILE="$PWD/credentials" AWS_CONFIG_FILE="$PWD/config"
{endpoint}```

## The guide's steps, with your values

```sh
aws sts get-caller-identity --profile sts            # you are {user}
aws s3 ls --profile sts                              # AccessDenied: the user may not use S3
aws sts assume-role --role-arn {role} \
  --role-session-name {session} --profile sts
```

Put the `AccessKeyId`, `SecretAccessKey` and `SessionToken` it prints into the credentials file
as profile `assumed`:

```ini
[assumed]
aws_access_key_id = <AccessKeyId>
aws_secret_access_key = <SecretAccessKey>
aws_session_token = <SessionToken>
```

```sh
aws sts get-caller-identity --profile assumed        # the assumed role
aws s3 mb s3://{prefix}yourname --profile assumed --region {region}
aws s3 ls --profile assumed
aws s3 rb s3://{prefix}yourname --profile assumed --region {region}
```

(`--region`: a region in your shell, `AWS_REGION` as CloudShell sets it, would otherwise win over
the file's.) Your role may use buckets named `{prefix}…` only; the bucket stays until you remove it
or the class ends.

Your key may assume your role only: another student's role answers AccessDenied.
Your instructor removes everything, these files' keys included, with `cargo xtask class cleanup`.

Your lab, each request allowed or denied and what decided it:

{diagram}
"#,
        lab = h.lab,
        diagram = h.diagram,
        user = h.user,
        role = h.role_arn,
        prefix = h.bucket_prefix,
        region = h.region,
        expires = h.expires,
        session = DEFAULT_SESSION_NAME,
        folder = crate::output::shell::quote(h.folder),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_labs_are_padded_and_none_is_a_prefix_of_another() {
        let labs = student_labs("class", 12).unwrap();
        assert_eq!(labs.first().unwrap(), "class-01");
        assert_eq!(labs.last().unwrap(), "class-12");
        for a in &labs {
            for b in &labs {
                assert!(a == b || !b.starts_with(a.as_str()), "{a} is a prefix of {b}");
            }
        }
        assert_eq!(student_labs("c", 120).unwrap()[0], "c-001");
        assert!(student_labs("class", 0).is_err());
        assert!(student_labs("Bad", 3).unwrap_err().to_string().contains("--class"));
        let long = student_labs("abcdefghijklmnopqr", 12).unwrap_err().to_string();
        assert!(long.contains("at most 17 characters"), "{long}");
        assert!(is_student_lab("class", "class-07"));
        assert!(!is_student_lab("class", "class-07x") && !is_student_lab("class", "classroom-01"));
    }

    #[test]
    fn isolation_pairs_cover_every_pair_up_to_ten_then_two_others_each() {
        let small = isolation_pairs(3);
        assert_eq!(small.len(), 6);
        assert!(small.contains(&(2, 0)) && !small.contains(&(1, 1)));
        let large = isolation_pairs(12);
        assert_eq!(large.len(), 24);
        assert!((0..12).all(|i| large.iter().filter(|(a, b)| *a == i && *b != i).count() == 2));
    }

    #[test]
    fn a_handout_has_the_students_own_values() {
        let text = handout_readme(&Handout {
            lab: "class-03",
            user: "sts-machine-user-class-03",
            role_arn: "arn:aws:iam::123456789012:role/sts-stack-aws-prep-class-03-StsRole-X",
            bucket_prefix: "sts-lab-class-03-123456789012-",
            expires: "2026-11-22T22:00:00Z",
            region: "us-east-1",
            endpoint: Some("http://127.0.0.1:5055"),
            folder: "/home/i/class/class-03",
            diagram: "```mermaid\nflowchart LR\n```",
        });
        assert!(text.contains("cd /home/i/class/class-03\n"), "{text}");
        assert!(text.contains("--role-arn arn:aws:iam::123456789012:role/sts-stack-aws-prep-class-03-StsRole-X"));
        assert!(
            text.contains("aws s3 mb s3://sts-lab-class-03-123456789012-yourname --profile assumed --region us-east-1")
        );
        assert!(text.contains("cargo xtask class cleanup"));
        assert!(text.contains("export AWS_ENDPOINT_URL=http://127.0.0.1:5055"));
        assert!(text.contains("2026-11-22T22:00:00Z"));
        assert_eq!(student_names("class-03").unwrap().user_profile, "sts");
    }
}
