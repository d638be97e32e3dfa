//! The STS ladder on the emulator, as a learner takes it: each lesson through the built xtask,
//! every check as expected and said why, the denials the emulator's own (the aws CLI, with the
//! profiles the lessons write, is refused and allowed as the lessons say), `--undo`, and a
//! cleanup after lessons that leaves nothing.

use lab_core::lab;
use lab_core::output::report::Captured;
use serde_json::Value as Json;

use crate::common::{TestEmulator, assert_ok, move_clock, setup_and_assume, stderr, stdout};

fn lesson(emu: &TestEmulator, name: &str) -> Json {
    let out = emu.xtask(&["lesson", name, "--json"]);
    assert_ok(&out, &format!("lesson {name}"));
    let doc: Json = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["lesson"], name);
    let checks = doc["checks"].as_array().unwrap();
    assert!(checks.len() >= 2, "{doc}");
    for check in checks {
        assert_eq!(check["ok"], true, "{check}");
        assert!(check["why"].is_string(), "{check}");
        assert!(
            check["command"].as_str().unwrap().starts_with("aws ")
                || check["command"].as_str().unwrap().starts_with("cargo xtask"),
            "{check}"
        );
    }
    doc
}

#[tokio::test]
async fn every_lesson_passes_its_checks_undoes_and_leaves_nothing() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    setup_and_assume(&lab).await;
    let listed = emu.xtask(&["lesson"]);
    assert_ok(&listed, "lesson");
    for name in lab_core::lessons::Lesson::all().map(|l| l.name()) {
        assert!(stdout(&listed).contains(name), "{}", stdout(&listed));
        // Each lesson starts from the lab as setup left it, with an open session.
        assert_ok(&emu.xtask(&["assume"]), "assume");
        let doc = lesson(&emu, name);
        let expected: Vec<&str> = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["expected"].as_str().unwrap())
            .collect();
        assert!(expected.iter().any(|e| *e != "allowed"), "{name}: {doc}");
        assert_ok(
            &emu.xtask(&["lesson", name, "--undo"]),
            &format!("lesson {name} --undo"),
        );
    }
    // After every undo the seed works again, as setup left it.
    assert_ok(&emu.xtask(&["assume"]), "assume after the lessons");
    assert!(crate::common::all_checks_pass(&lab).await);

    // external-id through the aws CLI: refused without the id, allowed through the lesson's profile.
    lesson(&emu, "external-id");
    let role = lab.role_arn().await.unwrap();
    let out = emu.aws(&[
        "sts",
        "assume-role",
        "--profile",
        "sts",
        "--role-arn",
        &role,
        "--role-session-name",
        "cli",
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("AccessDenied"),
        "{}",
        stderr(&out)
    );
    let out = emu.aws(&["sts", "get-caller-identity", "--profile", "assumed-external-id"]);
    assert_ok(&out, "the aws CLI with profile assumed-external-id");
    assert!(stdout(&out).contains(":assumed-role/"), "{}", stdout(&out));
    assert_ok(
        &emu.xtask(&["lesson", "external-id", "--undo"]),
        "lesson external-id --undo",
    );
    // revoke-sessions left in place: cleanup must still delete the role (its extra policy first).
    assert_ok(&emu.xtask(&["assume"]), "assume");
    lesson(&emu, "revoke-sessions");
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
    assert!(lab::inventory(&lab).await.unwrap().is_empty());
    let config = std::fs::read_to_string(emu.home.files().config).unwrap_or_default();
    assert!(
        !config.contains("assumed-external-id") && !config.contains("assumed-auto"),
        "{config}"
    );
    let roles = lab_core::ops::iam::roles_named(&lab.admin.iam, "sts-lab-")
        .await
        .unwrap();
    assert!(roles.is_empty(), "{roles:?}");
}

#[tokio::test]
async fn an_unknown_lesson_says_which_there_are() {
    let emu = TestEmulator::start().await;
    let out = emu.xtask(&["lesson", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("the lessons are external-id, session-policy"), "{err}");
}

#[tokio::test]
async fn a_class_takes_a_lesson_with_a_page_each_and_class_verify_checks_it() {
    let emu = TestEmulator::start().await;
    let out_dir = emu.scratch.0.join("handouts");
    let class = |args: &[&str]| emu.class("les", &out_dir, args);
    assert_ok(&class(&["setup", "--students", "2"]), "class setup");
    let readme = std::fs::read_to_string(out_dir.join("les-01/README.md")).unwrap();
    assert!(
        readme.contains("```mermaid") && readme.contains("sts:AssumeRole · allowed · Allow by AssumeTheLabRoleOnly"),
        "{readme}"
    );
    assert_ok(&class(&["lesson", "external-id"]), "class lesson external-id");
    for student in ["les-01", "les-02"] {
        let page = std::fs::read_to_string(out_dir.join(student).join("lesson-external-id.md")).unwrap();
        assert!(
            page.contains("# Lesson external-id")
                && page.contains("| AssumeRole without an ExternalId | AccessDenied | AccessDenied |"),
            "{page}"
        );
        assert!(page.contains("```mermaid"), "{page}");
        // The student's own aws CLI, with the handout's files: the lesson's profile works as is.
        let out = crate::common::student_aws(
            &emu,
            &out_dir.join(student),
            &[],
            &["sts", "get-caller-identity", "--profile", "assumed-external-id"],
        );
        assert_ok(&out, "the student's aws CLI with profile assumed-external-id");
    }
    // One lesson at a time.
    let second = class(&["lesson", "mfa"]);
    assert!(!second.status.success(), "a second lesson was applied");
    // The command said carries the class and folder typed: it pastes as printed.
    let undo = format!(
        "lesson external-id is applied; run `cargo xtask class lesson external-id --undo --class les --out {}` first",
        out_dir.display()
    );
    assert!(stdout(&second).contains(&undo), "{}", stdout(&second));
    let verify = class(&["verify", "--json"]);
    assert_ok(&verify, "class verify with the lesson");
    let doc: Json = serde_json::from_str(&stdout(&verify)).unwrap();
    let names: Vec<&str> = doc["students"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("lesson external-id: ")), "{names:?}");
    assert_ok(&class(&["lesson", "external-id", "--undo"]), "class lesson --undo");
    assert!(!out_dir.join("les-01/lesson-external-id.md").exists());
    assert_ok(&class(&["verify"]), "class verify after the undo");
    assert_ok(&class(&["cleanup"]), "class cleanup");
    let users = crate::common::user_names(&emu.admin().await).await;
    assert!(users.iter().all(|u| !u.contains("les-")), "{users:?}");
}

#[tokio::test]
async fn auto_refresh_keeps_the_aws_cli_working_after_the_static_session_ends() {
    let emu = TestEmulator::start().await;
    let lab = emu.lab(None).await;
    setup_and_assume(&lab).await;
    lesson(&emu, "auto-refresh");
    move_clock(&emu, "+2h");
    let old = emu.aws(&["s3", "ls", "--profile", "assumed"]);
    assert!(
        !old.status.success() && stderr(&old).contains("ExpiredToken"),
        "{}",
        stderr(&old)
    );
    let auto = emu.aws(&["sts", "get-caller-identity", "--profile", "assumed-auto"]);
    assert_ok(&auto, "the aws CLI with profile assumed-auto after two hours");
    assert!(stdout(&auto).contains("/auto-refresh"), "{}", stdout(&auto));
    move_clock(&emu, "now");
    assert_ok(&emu.xtask(&["lesson", "auto-refresh", "--undo"]), "undo");
    lab::cleanup(&lab, &Captured::default()).await.unwrap();
}
