//! A newcomer's first hour, walked as a user would: a wait that has a reason (an emulator
//! restarted, its labs gone), hints that paste as printed, `why` asked as a learner asks it,
//! errors in one line, a class found without its name, a handout and its lesson pages a student
//! follows alone, and the README's own first-hour commands run as written.

use std::process::Command;

use serde_json::Value as Json;

use crate::common::{self, TestEmulator, assert_ok, stderr, stdout};

#[tokio::test]
async fn after_a_restart_assume_says_what_is_gone_and_status_names_the_left_profiles() {
    let mut emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    emu.restart().await;
    let out = emu.xtask(&["assume"]);
    assert!(!out.status.success(), "assume after a restart succeeded");
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(
        err.contains("the lab's user sts-machine-user is not in the emulator at")
            && err.contains("make the lab again with `cargo xtask setup`"),
        "{err}"
    );
    // The plain emulator has no propagation: nothing is waited out.
    assert!(
        !text.contains("waiting for") && !err.contains("waiting for"),
        "{text}{err}"
    );
    let status = emu.xtask(&["status"]);
    assert_ok(&status, "status");
    assert!(
        stdout(&status).contains("these profiles name lab default, which the endpoint no longer has"),
        "{}",
        stdout(&status)
    );
    let doc: Json = serde_json::from_str(&stdout(&emu.xtask(&["status", "--json"]))).unwrap();
    assert_eq!(doc["profiles_without_lab"], true, "{doc}");
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
    let doc: Json = serde_json::from_str(&stdout(&emu.xtask(&["status", "--json"]))).unwrap();
    assert_eq!(doc["empty"], true, "{doc}");
}

#[tokio::test]
async fn emulator_stop_says_which_labs_go_with_it() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    assert_ok(&emu.xtask(&["--lab", "b", "setup"]), "setup --lab b");
    let out = emu
        .xtask_cmd(&["emulator", "stop"])
        .env("STS_LAB_EMULATOR_DIR", &emu.home.dir)
        .output()
        .unwrap();
    assert_ok(&out, "emulator stop");
    assert!(
        stdout(&out).contains("the labs it held are gone with it: b, default"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn one_lesson_at_a_time_for_one_lab_too() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["--lab", "one", "setup"]), "setup");
    assert_ok(
        &emu.xtask(&["--lab", "one", "lesson", "external-id"]),
        "lesson external-id",
    );
    let second = emu.xtask(&["--lab", "one", "lesson", "mfa"]);
    assert!(!second.status.success(), "a second lesson was applied");
    let err = stderr(&second);
    assert!(
        err.contains("lesson external-id is applied to lab one")
            && err.contains("`cargo xtask --lab one lesson external-id --undo`"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[tokio::test]
async fn a_hint_carries_the_flags_typed() {
    let emu = TestEmulator::start().await;
    let out = emu.xtask(&["--lab", "t", "--region", "us-east-1", "assume"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("`cargo xtask --lab t --region us-east-1 setup`"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[tokio::test]
async fn why_answers_the_question_a_learner_asks() {
    let emu = TestEmulator::start().await;
    for task in ["setup", "assume"] {
        assert_ok(&emu.xtask(&[task]), task);
    }
    // The operation the aws CLI's error names, not the action a policy names.
    let out = emu.xtask(&["why", "--as", "assumed", "s3:ListBuckets"]);
    assert_ok(&out, "why s3:ListBuckets");
    let text = stdout(&out);
    assert!(
        text.contains("the API operation s3:ListBuckets needs the IAM action s3:ListAllMyBuckets")
            && text.contains("Allow by SeeBucketList"),
        "{text}"
    );
    let json = |args: &[&str]| -> Json {
        let out = emu.xtask(args);
        assert_ok(&out, &args.join(" "));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    // No resource for sts:AssumeRole: the lab's role.
    let doc = json(&["why", "--as", "sts", "sts:AssumeRole", "--json"]);
    assert!(
        doc["resource"]
            .as_str()
            .unwrap()
            .contains(":role/sts-stack-aws-prep-StsRole-"),
        "{doc}"
    );
    assert_eq!(doc["decided_by"]["effect"], "Allow", "{doc}");
    // A bare bucket name: its ARN.
    let bucket = "sts-lab-default-123456789012-mine";
    let doc = json(&["why", "--as", "assumed", "s3:CreateBucket", bucket, "--json"]);
    assert_eq!(doc["resource"], format!("arn:aws:s3:::{bucket}"), "{doc}");
    assert_eq!(doc["decided_by"]["effect"], "Allow", "{doc}");
}

#[tokio::test]
async fn a_missing_profile_is_one_line_with_the_command_that_makes_it() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    let out = emu.xtask(&["why", "--as", "assumed", "s3:ListBuckets"]);
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: profile [assumed] is not in ")
            && err.trim_end().ends_with("make it with `cargo xtask assume`"),
        "{err}"
    );
    // verify says it of the file, not as the endpoint's answer.
    let out = emu.xtask(&["verify", "--json"]);
    let doc: Json = serde_json::from_str(&stdout(&out)).unwrap();
    let row = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "profile assumed is the assumed role")
        .unwrap();
    assert!(
        row["seen"].as_str().unwrap().starts_with("profile [assumed] is not in"),
        "{row}"
    );
    assert!(row["disagreement"].is_null(), "{row}");
}

#[tokio::test]
async fn the_class_is_found_without_being_named_again() {
    let emu = TestEmulator::start().await;
    let dir = emu.scratch.0.join("handouts");
    let out = dir.to_str().unwrap();
    assert_ok(
        &emu.xtask(&["class", "setup", "--class", "t", "--students", "2", "--out", out]),
        "class setup --class t",
    );
    let status = emu.xtask(&["class", "status", "--out", out]);
    assert_ok(&status, "class status without --class");
    assert!(
        stdout(&status).contains("t-01") && stdout(&status).contains("t-02"),
        "{}",
        stdout(&status)
    );
    let other = emu.scratch.0.join("other");
    assert_ok(
        &emu.xtask(&[
            "class",
            "setup",
            "--class",
            "u",
            "--students",
            "1",
            "--out",
            other.to_str().unwrap(),
        ]),
        "class setup --class u",
    );
    let two = emu.xtask(&["class", "status"]);
    assert_eq!(two.status.code(), Some(1), "{}", stdout(&two));
    assert!(
        stderr(&two).contains("2 classes in this account (t, u); name one with --class NAME"),
        "{}",
        stderr(&two)
    );
}

/// The lines of each `sh` block of `text` after `marker`.
fn sh_blocks(text: &str, marker: &str) -> Vec<Vec<String>> {
    let start = text.find(marker).unwrap_or_else(|| panic!("no {marker:?} in {text}"));
    text[start..]
        .split("```sh\n")
        .skip(1)
        .map(|b| {
            b.split("```")
                .next()
                .unwrap_or_default()
                .lines()
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_student_follows_the_mfa_page_alone() {
    let emu = TestEmulator::start().await;
    let dir = emu.scratch.0.join("handouts");
    let class = |args: &[&str]| emu.class("h", &dir, args);
    assert_ok(&class(&["setup", "--students", "1"]), "class setup");
    let handout = dir.join("h-01");
    let readme = std::fs::read_to_string(handout.join("README.md")).unwrap();
    assert!(
        readme.contains("works on the instructor's machine only") && readme.contains("account-wide"),
        "{readme}"
    );
    assert_ok(&class(&["lesson", "mfa"]), "class lesson mfa");
    let page = std::fs::read_to_string(handout.join("lesson-mfa.md")).unwrap();
    let blocks = sh_blocks(&page, "Before the commands");
    let (loading, commands) = (&blocks[0], &blocks[1]);
    let code_line = loading.iter().find(|l| l.starts_with("python3 -c")).unwrap();
    // The student makes a code from the seed in their folder, as the page says.
    let code = Command::new("bash")
        .args(["-c", code_line])
        .current_dir(&handout)
        .output()
        .unwrap();
    assert_ok(&code, "the page's code command");
    let code = stdout(&code).trim().to_owned();
    assert_eq!(code.len(), 6, "{code}");
    let with_code = commands.iter().find(|l| l.contains("--token-code")).unwrap();
    assert!(with_code.contains("--region us-east-1"), "{with_code}");
    let line = with_code.replace("<the code your authenticator shows>", &code);
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    let out = common::student_aws(&emu, &handout, &[], &args);
    assert_ok(&out, "the student's assume-role with a code");
    assert!(stdout(&out).contains("AssumedRoleUser"), "{}", stdout(&out));
}

/// The `sh` blocks of the README's first-hour section, each a list of command lines.
fn first_hour_blocks() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(common::project_root().join("README.md")).unwrap();
    let start = readme.find("## Your first hour").expect("the README has a first hour");
    let end = readme[start + 3..]
        .find("\n## ")
        .map_or(readme.len(), |e| start + 3 + e);
    sh_blocks(&readme[start..end], "## Your first hour")
}

#[test]
fn the_readmes_first_hour_runs_as_written() {
    common::ensure_installed();
    let scratch = common::Scratch::new("first-hour");
    let port = common::free_port().to_string();
    let blocks = first_hour_blocks();
    assert!(blocks.len() >= 2, "{blocks:?}");
    let shell = |line: &str| {
        // `cargo xtask …` is the built binary; the aws CLI is the project's.
        let script = format!("cargo() {{ shift; \"$XTASK\" \"$@\"; }}\n{line}");
        let path = format!(
            "{}:{}",
            common::venv().bin("").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        common::clean_env(&mut cmd);
        cmd.args(["-c", &script])
            .env("XTASK", common::xtask_bin())
            .env("PATH", path)
            .env("HOME", &scratch.0)
            .env("STS_LAB_EMULATOR_DIR", scratch.0.join("emulator"))
            .env("STS_LAB_EMULATOR_PORT", &port)
            .output()
            .unwrap()
    };
    for block in &blocks {
        // One shell a block, as a reader pastes it; a line the README says is refused must be.
        let script = block
            .iter()
            .map(|l| match l.split_once("# AccessDenied") {
                Some((command, _)) => format!(
                    "if {}; then echo 'allowed: {}'; exit 1; fi",
                    command.trim(),
                    command.trim()
                ),
                None => l.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let out = shell(&format!("set -e\n{script}"));
        assert_ok(&out, &format!("the README's block {block:?}"));
    }
    let _ = shell("cargo xtask emulator stop");
}
