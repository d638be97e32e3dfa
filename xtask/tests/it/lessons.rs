//! The STS ladder on the emulator, as a learner takes it: each lesson through the built xtask,
//! every check as expected and said why, the denials the emulator's own (the aws CLI, with the
//! profiles the lessons write, is refused and allowed as the lessons say), `--undo`, and a
//! cleanup after lessons that leaves nothing.

use lab_core::lab;
use lab_core::output::report::Captured;
use serde_json::Value as Json;

use crate::common::{TestEmulator, assert_ok, setup_and_assume, stderr, stdout};

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
    for name in lab_core::lessons::Lesson::ALL.map(|l| l.name()) {
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
        assert!(expected.contains(&"deny"), "{name}: {doc}");
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
    lesson(&emu, "role-chaining");
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
