//! What people and scripts see: the shape of each task's lines, `--explain`, `--dry-run` changing
//! nothing, `--json` documents alone on stdout, colour and the spinner only on a terminal, and
//! help that lists every task with an example.

use crate::common;

use crate::common::{TestEmulator, assert_ok, stderr, stdout};
use lab_core::lab;
use serde_json::Value;

/// The lab's whole state, remote and local, to compare before and after.
async fn snapshot(emu: &TestEmulator) -> String {
    let lab = emu.lab(None).await;
    let inv = lab::inventory(&lab).await.unwrap();
    let files = emu.home.files();
    format!(
        "{:?}\n{}\n{}",
        inv.lines(&lab.names),
        std::fs::read_to_string(&files.credentials).unwrap(),
        std::fs::read_to_string(&files.config).unwrap()
    )
}

#[tokio::test]
async fn dry_runs_plan_and_change_nothing() {
    let emu = TestEmulator::start().await;
    let before = snapshot(&emu).await;
    let out = emu.xtask(&["setup", "--dry-run"]);
    assert_ok(&out, "setup --dry-run");
    let text = stdout(&out);
    for needle in [
        "plan for setup (dry run: nothing was changed):",
        "  + IAM user sts-machine-user (tag sts-lab=default)",
        "  + access key for sts-machine-user",
        "  ~ write profile [sts] in ",
        "  + stack sts-stack-aws-prep from infra/template.yaml",
        "  ~ user policy StsAssumePolicy on sts-machine-user",
    ] {
        assert!(text.contains(needle), "{needle:?} in:\n{text}");
    }
    assert_eq!(snapshot(&emu).await, before, "setup --dry-run changed something");

    assert_ok(&emu.xtask(&["setup"]), "setup");
    assert_ok(&emu.xtask(&["assume"]), "assume");
    assert_ok(&emu.xtask(&["verify"]), "verify");
    let made = snapshot(&emu).await;
    let out = emu.xtask(&["cleanup", "--dry-run"]);
    assert_ok(&out, "cleanup --dry-run");
    let text = stdout(&out);
    for needle in [
        "plan for cleanup (dry run: nothing was changed):",
        "  - bucket sts-lab-default-123456789012-verify-",
        "  - stack sts-stack-aws-prep (CREATE_COMPLETE) and with it role sts-stack-aws-prep-StsRole-",
        "  - user policy StsAssumePolicy",
        "  - access key AKIA",
        "  - IAM user sts-machine-user",
        "  - [sts] from ",
        "  - [profile assumed] from ",
    ] {
        assert!(text.contains(needle), "{needle:?} in:\n{text}");
    }
    assert_eq!(snapshot(&emu).await, made, "cleanup --dry-run changed something");
    let out = emu.xtask(&["setup", "--dry-run"]);
    assert!(stdout(&out).contains("  = IAM user sts-machine-user") && stdout(&out).contains("  = access key AKIA"));
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
    assert!(stdout(&emu.xtask(&["cleanup", "--dry-run"])).contains("nothing to delete"));
}

#[tokio::test]
async fn json_is_the_only_thing_on_stdout() {
    let emu = TestEmulator::start().await;
    let status: Value = serde_json::from_slice(&emu.xtask(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["empty"], true);
    assert_eq!(status["user"], Value::Null);

    assert_ok(&emu.xtask(&["setup"]), "setup");
    assert_ok(&emu.xtask(&["assume", "--duration", "900"]), "assume");
    let out = emu.xtask(&["verify", "--json"]);
    assert_ok(&out, "verify --json");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["lab"], "default");
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 12);
    assert!(checks.iter().all(
        |c| c["passed"] == true && c["command"].as_str().unwrap().starts_with("aws ")
            || c["name"].as_str().unwrap().starts_with("proof: ") && c["command"] == "cargo xtask verify"
    ));
    assert!(stderr(&out).contains("✓ admin identity"), "steps go to stderr");

    let out = emu.xtask(&["status", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(status["user"]["name"], "sts-machine-user");
    assert_eq!(status["stack"]["status"], "CREATE_COMPLETE");
    assert_eq!(status["access_keys"].as_array().unwrap().len(), 1);
    assert!(status["access_keys"][0]["id"].as_str().unwrap().contains("****"));
    let bucket = status["buckets"][0].as_str().unwrap();
    assert!(bucket.starts_with("sts-lab-default-123456789012-verify-"), "{bucket}");
    assert_eq!(status["bucket_regions"][bucket], "us-east-1");
    let left = status["assumed_session"]["seconds_left"].as_i64().unwrap();
    assert!((800..=900).contains(&left), "{left}");
    assert_eq!(status["empty"], false);

    // A failing verify still prints one document, and exits 1.
    let files = emu.home.files();
    files
        .remove_profile(lab_core::profiles::awsfiles::FileKind::Credentials, "assumed")
        .await
        .unwrap();
    let out = emu.xtask(&["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["passed"], false);
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
}

#[tokio::test]
async fn lines_have_one_shape_and_no_escape_codes_in_a_pipe() {
    let emu = TestEmulator::start().await;
    let mut all = String::new();
    for args in [
        &["setup", "--explain"][..],
        &["assume", "--explain"],
        &["status"],
        &["verify", "--explain"],
        &["cleanup"],
    ] {
        let out = emu.xtask(args);
        assert_ok(&out, &format!("{args:?}"));
        let text = stdout(&out);
        for line in text
            .lines()
            .filter(|l| l.starts_with('✓') && !l.contains("emulator holds"))
        {
            let timed = line.ends_with(" ms)") || line.ends_with(" s)");
            let verify_row = args[0] == "verify";
            assert!(timed || verify_row, "a step line ends with its time: {line:?}");
        }
        all.push_str(&text);
        all.push_str(&stderr(&out));
    }
    assert!(!all.contains('\x1b'), "no escape code reaches a pipe");
    for needle in [
        "    $ aws iam create-user --user-name sts-machine-user --tags Key=sts-lab,Value=default",
        "    $ aws iam create-access-key --user-name sts-machine-user --output table",
        "    $ aws cloudformation deploy --stack-name sts-stack-aws-prep",
        "    $ aws sts assume-role --role-arn arn:aws:iam::123456789012:role/sts-stack-aws-prep-StsRole-",
        "    $ aws s3 ls --profile sts",
        "||  SecretAccessKey |",
        "  session       profile [assumed]: ",
    ] {
        assert!(all.contains(needle), "{needle:?} in:\n{all}");
    }
}

/// Under a pseudo-terminal: ✓ is green unless NO_COLOR is set.
#[tokio::test]
async fn colour_on_a_terminal_or_when_forced_and_never_with_no_color() {
    let emu = TestEmulator::start().await;
    let run_in_pty = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        common::clean_env(&mut cmd);
        let line = format!("{} status", common::xtask_bin());
        cmd.args(["-qec", &line, "/dev/null"])
            .envs(emu.env())
            .env("HOME", &emu.scratch.0)
            .env("TERM", "xterm")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        cmd.output().unwrap()
    };
    // CLICOLOR_FORCE asks for colour even in a pipe.
    let forced = emu
        .xtask_cmd(&["status"])
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(stdout(&forced).contains("\x1b[32m✓\x1b[0m"), "{:?}", stdout(&forced));
    let coloured = run_in_pty(false);
    assert_ok(&coloured, "status in a pty");
    assert!(
        stdout(&coloured).contains("\x1b[32m✓\x1b[0m"),
        "{:?}",
        stdout(&coloured)
    );
    let plain = run_in_pty(true);
    assert_ok(&plain, "status in a pty with NO_COLOR");
    assert!(!stdout(&plain).contains("\x1b[32m"), "{:?}", stdout(&plain));
}

#[test]
fn help_lists_every_task_and_each_task_has_an_example() {
    let out = std::process::Command::new(common::xtask_bin())
        .arg("--help")
        .output()
        .unwrap();
    assert_ok(&out, "--help");
    let help = stdout(&out);
    for task in [
        "setup", "assume", "verify", "cleanup", "status", "demo", "emulator", "bench",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(task)),
            "{task} in:\n{help}"
        );
        let out = std::process::Command::new(common::xtask_bin())
            .args([task, "--help"])
            .output()
            .unwrap();
        assert_ok(&out, &format!("{task} --help"));
        assert!(stdout(&out).contains("Example"), "{task} --help has an example");
    }
}

/// A profile whose secret is gone cannot be kept: setup makes a new key, so the dry run says so.
#[tokio::test]
async fn a_dry_run_plans_a_new_key_when_the_secret_is_gone() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    let creds = emu.home.files().credentials;
    let text = std::fs::read_to_string(&creds).unwrap();
    // The secret line of [sts] only; the admin's profile keeps its own.
    let mut section = "";
    let mut without_secret = String::new();
    for line in text.lines() {
        if line.starts_with('[') {
            section = line;
        }
        if !(section == "[sts]" && line.starts_with("aws_secret_access_key")) {
            without_secret.push_str(line);
            without_secret.push('\n');
        }
    }
    assert_ne!(without_secret, text);
    std::fs::write(&creds, &without_secret).unwrap();
    let out = emu.xtask(&["setup", "--dry-run"]);
    assert_ok(&out, "setup --dry-run");
    let plan = stdout(&out);
    assert!(plan.contains("  + access key for sts-machine-user"), "{plan}");
    assert!(!plan.contains("  = access key"), "{plan}");
    assert_ok(&emu.xtask(&["setup"]), "setup makes the key the plan said");
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
}

/// `--local` starts the emulator when none runs; its lines go to stderr, so `--json` stays one
/// document on stdout.
#[test]
fn a_started_emulator_keeps_stdout_for_json() {
    common::ensure_installed();
    let scratch = common::Scratch::new("local-json");
    let port = crate::common::free_port().to_string();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(common::xtask_bin());
        common::clean_env(&mut cmd);
        cmd.args(args)
            .env("STS_LAB_EMULATOR_DIR", scratch.0.join("it's here"))
            .env("STS_LAB_EMULATOR_PORT", &port)
            .env("HOME", &scratch.0)
            .output()
            .unwrap()
    };
    let out = run(&["--local", "status", "--json"]);
    let stopped = run(&["emulator", "stop"]);
    assert_ok(&out, "--local status --json");
    assert_ok(&stopped, "emulator stop");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    assert_eq!(doc["empty"], true, "{doc}");
    assert!(stderr(&out).contains("started the emulator"), "{}", stderr(&out));
}

#[test]
fn the_lists_of_lessons_and_challenges_are_json_with_json() {
    for (task, key, least) in [("challenge", "challenges", 6), ("lesson", "lessons", 10)] {
        let mut cmd = std::process::Command::new(common::xtask_bin());
        common::clean_env(&mut cmd);
        let out = cmd.args([task, "--json"]).output().unwrap();
        assert_ok(&out, task);
        let doc: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{task}: {e}: {}", stdout(&out)));
        let list = doc[key].as_array().unwrap();
        assert!(list.len() >= least, "{doc}");
        assert!(
            list.iter().all(|l| l["name"].is_string() && l["summary"].is_string()),
            "{doc}"
        );
    }
}
