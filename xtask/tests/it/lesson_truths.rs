//! What the lessons teach must be exactly true, and what a lab holds is one record: the expiry
//! lesson refuses a session that is still valid by the lab's own condition (AccessDenied, never
//! ExpiredToken), every check names the exact outcome it expects, a lesson brings the session it
//! needs, what a lesson made is in `status`, `cleanup --dry-run`, `sweep --dry-run` and the
//! diagram, `class verify` writes nothing of IAM, `class cleanup` reads the class once, and a class's labs ask the emulator side by side.

use serde_json::Value as Json;

use crate::common::{TestEmulator, assert_ok, emulator_get, stdout};

fn json_of(emu: &TestEmulator, args: &[&str]) -> Json {
    let out = emu.xtask(args);
    assert_ok(&out, &args.join(" "));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn check<'a>(doc: &'a Json, name: &str) -> &'a Json {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no check {name:?} in {doc}"))
}

/// Every check names the exact outcome it expects: `allowed` or an error code, and saw it.
fn exact_outcomes(doc: &Json) {
    for c in doc["checks"].as_array().unwrap() {
        let expected = c["expected"].as_str().unwrap();
        assert!(
            expected == "allowed" || expected.chars().next().is_some_and(char::is_uppercase),
            "{c}"
        );
        let seen = c["seen"].as_str().unwrap();
        assert!(seen == expected || seen.starts_with(&format!("{expected}: ")), "{c}");
        assert_eq!(c["ok"], true, "{c}");
    }
}

#[tokio::test]
async fn the_expiry_lesson_refuses_a_valid_session_by_the_labs_condition_right_after_setup() {
    let emu = TestEmulator::start().await;
    // No assume: the lesson brings the session it needs.
    assert_ok(&emu.xtask(&["setup"]), "setup");
    let out = emu.xtask(&["lesson", "expiry", "--json"]);
    assert_ok(&out, "lesson expiry right after setup");
    let doc: Json = serde_json::from_str(&stdout(&out)).unwrap();
    exact_outcomes(&doc);
    let by_expiry = "DateLessThan aws:CurrentTime";
    let key = check(&doc, "the key assumes the role");
    assert_eq!(key["expected"], "AccessDenied", "{key}");
    assert!(key["why"].as_str().unwrap().contains(by_expiry), "{key}");
    // The session is still valid past the lab's expiry: S3 refuses it by the lab's condition.
    let valid = check(&doc, "the session is still valid");
    assert_eq!(valid["seen"], "allowed", "{valid}");
    let open = check(&doc, "the open session lists the buckets");
    assert!(open["seen"].as_str().unwrap().starts_with("AccessDenied: "), "{open}");
    assert!(open["why"].as_str().unwrap().contains(by_expiry), "{open}");
    let text = crate::common::stderr(&out);
    assert!(text.contains("assumed a session for this lesson"), "{text}");
    // The clock is where it was.
    let clock: Json = serde_json::from_str(&emulator_get(&emu, "/sts-lab/clock")).unwrap();
    assert_eq!(clock["offset"], 0.0, "{clock}");
}

#[tokio::test]
async fn a_lesson_that_needs_an_open_session_assumes_one_itself() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    for lesson in ["revoke-sessions", "auto-refresh"] {
        let out = emu.xtask(&["lesson", lesson, "--json"]);
        assert_ok(&out, &format!("lesson {lesson} right after setup"));
        let doc: Json = serde_json::from_str(&stdout(&out)).unwrap();
        exact_outcomes(&doc);
        assert!(
            crate::common::stderr(&out).contains("assumed a session for this lesson"),
            "{}",
            crate::common::stderr(&out)
        );
        assert_ok(&emu.xtask(&["lesson", lesson, "--undo"]), "undo");
    }
    let doc = json_of(&emu, &["lesson", "auto-refresh", "--json"]);
    let stale = check(&doc, "the static session's keys list the buckets");
    assert_eq!(stale["expected"], "ExpiredToken", "{stale}");
}

#[tokio::test]
async fn what_a_lesson_made_is_in_every_listing_of_the_lab() {
    let emu = TestEmulator::start().await;
    assert_ok(&emu.xtask(&["setup"]), "setup");
    assert_ok(&emu.xtask(&["lesson", "role-chaining"]), "lesson role-chaining");
    let status = json_of(&emu, &["status", "--json"]);
    let lesson = &status["lesson"];
    assert_eq!(lesson["applied"], "role-chaining", "{status}");
    assert_eq!(lesson["chained_role"], "sts-lab-default-chained", "{status}");
    let plan = stdout(&emu.xtask(&["cleanup", "--dry-run"]));
    assert!(plan.contains("- IAM role sts-lab-default-chained"), "{plan}");
    let sweep = json_of(&emu, &["sweep", "--dry-run", "--json"]);
    let holds = sweep["labs"][0]["holds"].to_string();
    assert!(
        holds.contains("sts-lab-default-chained") && holds.contains("lesson role-chaining applied"),
        "{holds}"
    );
    let diagram = stdout(&emu.xtask(&["status", "--diagram"]));
    assert!(
        diagram.contains("lesson role-chaining applied") && diagram.contains("session -- \"sts:AssumeRole"),
        "{diagram}"
    );
    // One lesson at a time, for one lab too: the one applied is named, with its undo.
    let refused = emu.xtask(&["lesson", "mfa"]);
    assert!(!refused.status.success());
    let err = crate::common::stderr(&refused);
    assert!(
        err.contains("lesson role-chaining is applied") && err.contains("lesson role-chaining --undo"),
        "{err}"
    );
    assert_ok(&emu.xtask(&["lesson", "role-chaining", "--undo"]), "undo");
    assert_ok(&emu.xtask(&["lesson", "mfa"]), "lesson mfa");
    let status = json_of(&emu, &["status", "--json"]);
    let serial = "arn:aws:iam::123456789012:mfa/sts-machine-user";
    assert_eq!(status["lesson"]["mfa_device"], serial, "{status}");
    assert!(
        stdout(&emu.xtask(&["cleanup", "--dry-run"])).contains(&format!("- MFA device {serial}")),
        "cleanup --dry-run"
    );
    assert_ok(&emu.xtask(&["cleanup"]), "cleanup");
    let status = json_of(&emu, &["status", "--json"]);
    assert_eq!(status["empty"], true, "{status}");
}

/// IAM actions that change something.
fn iam_writes(stats: &Json) -> Vec<(String, u64)> {
    let writes = [
        "Create",
        "Delete",
        "Put",
        "Update",
        "Tag",
        "Untag",
        "Enable",
        "Deactivate",
        "Attach",
        "Detach",
        "Add",
        "Remove",
        "Set",
        "Upload",
        "Change",
        "Reset",
    ];
    stats["calls"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| {
            let action = k.strip_prefix("iam:")?;
            writes
                .iter()
                .any(|w| action.starts_with(w))
                .then(|| (k.clone(), v.as_u64().unwrap()))
        })
        .collect()
}

#[tokio::test]
async fn class_verify_writes_nothing_of_iam_and_cleanup_reads_the_class_once() {
    let emu = TestEmulator::start().await;
    let out_dir = emu.scratch.0.join("handouts");
    let class = |args: &[&str]| emu.class("ver", &out_dir, args);
    assert_ok(&class(&["setup", "--students", "2"]), "class setup");
    assert_ok(&class(&["lesson", "mfa"]), "class lesson mfa");
    let before: Json = serde_json::from_str(&emulator_get(&emu, "/sts-lab/stats")).unwrap();
    // Without --class, as an instructor types it: the account's one class is found.
    let verify = emu.xtask(&["class", "verify", "--json", "--out", out_dir.to_str().unwrap()]);
    assert_ok(&verify, "class verify");
    let after: Json = serde_json::from_str(&emulator_get(&emu, "/sts-lab/stats")).unwrap();
    assert_eq!(iam_writes(&before), iam_writes(&after), "class verify wrote to IAM");
    // The class is found, and each student's lesson read, in readings of the account's
    // documents (the users' tags are in them), not a GetUser a student.
    let get_user = |s: &Json| s["calls"]["iam:GetUser"].as_u64().unwrap_or(0);
    assert_eq!(get_user(&after), get_user(&before), "class verify asked GetUser");
    let doc: Json = serde_json::from_str(&stdout(&verify)).unwrap();
    let names = doc["students"][0]["checks"].to_string();
    assert!(
        names.contains("lesson mfa: AssumeRole with a code of the device"),
        "{names}"
    );
    // Class cleanup reads the lessons' parts (the MFA devices among them) and the users from the
    // class's one reading, not a lab at a time, and removes them all the same.
    let before: Json = serde_json::from_str(&emulator_get(&emu, "/sts-lab/stats")).unwrap();
    assert_ok(&class(&["cleanup"]), "class cleanup");
    let after: Json = serde_json::from_str(&emulator_get(&emu, "/sts-lab/stats")).unwrap();
    let asked = |action: &str| {
        let n = |s: &Json| s["calls"][format!("iam:{action}")].as_u64().unwrap_or(0);
        n(&after) - n(&before)
    };
    for per_lab in ["GetUser", "ListRoleTags", "ListRolePolicies", "GetPolicy"] {
        assert_eq!(asked(per_lab), 0, "class cleanup asked {per_lab}: {after}");
    }
    assert_eq!(asked("ListVirtualMFADevices"), 1, "{after}");
    assert_eq!(asked("DeleteVirtualMFADevice"), 2, "{after}");
    let devices = emu.admin().await.iam.list_virtual_mfa_devices().send().await.unwrap();
    assert!(devices.virtual_mfa_devices.is_empty(), "{devices:?}");
}

#[tokio::test]
async fn a_classs_labs_ask_the_emulators_clock_side_by_side() {
    // The emulator answers its clock late: labs that ask it one after another never overlap.
    let emu = TestEmulator::start_with(lab_core::emulator::Options {
        realistic: false,
        settings: vec![("STS_LAB_CLOCK_DELAY".to_owned(), "0.3".to_owned())],
        ..Default::default()
    })
    .await;
    let out_dir = emu.scratch.0.join("handouts");
    let class = |args: &[&str]| emu.class("par", &out_dir, args);
    assert_ok(&class(&["setup", "--students", "4", "--jobs", "4"]), "class setup");
    assert_ok(&class(&["verify", "--jobs", "4"]), "class verify");
    let stats: Json = serde_json::from_str(&emulator_get(&emu, "/sts-lab/stats")).unwrap();
    let most = stats["clock_in_flight_max"].as_u64().unwrap();
    assert!(most >= 2, "the clock was never asked by two labs at once: {stats}");
    assert_ok(&class(&["cleanup"]), "class cleanup");
}
