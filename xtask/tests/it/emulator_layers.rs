//! The emulator's own tests (emulator/test_*.py: every layer behaviour over HTTP, on emulators of
//! their own), run by pytest from the project's virtualenv, one pytest a test file, side by side
//! with the other tests, so that `cargo test` covers them.

use crate::common;

/// Runs pytest on `emulator/<file>`; fails with its output unless every test there passed.
fn pytest(file: &str) {
    common::ensure_installed();
    let mut cmd = std::process::Command::new(common::venv().bin("python"));
    common::clean_env(&mut cmd);
    // The emulators the tests start ask the built xtask's evaluator (lab-policy) for decisions.
    cmd.env("STS_LAB_DECIDER", common::xtask_bin());
    let out = cmd
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(common::project_root().join("emulator").join(file))
        .output()
        .unwrap();
    let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains(" passed") && !text.contains(" failed"), "{text}");
}

#[test]
fn authorization_as_aws_documents_it() {
    pytest("test_auth.py");
}

#[test]
fn layers_as_aws_documents_them() {
    pytest("test_layers.py");
}

#[test]
fn lookup_events_as_cloudtrail_answers() {
    pytest("test_lookup.py");
}

#[test]
fn policy_documents_as_iam_reads_them() {
    pytest("test_policy.py");
}

#[test]
fn the_trail_records_what_cloudtrail_records() {
    pytest("test_trail.py");
}

/// Every test file of the emulator is run above: a new one is not forgotten.
#[test]
fn every_emulator_test_file_is_run() {
    let source = std::fs::read_to_string(common::project_root().join("xtask/tests/it/emulator_layers.rs")).unwrap();
    for entry in std::fs::read_dir(common::project_root().join("emulator")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("test_") && name.ends_with(".py") {
            assert!(
                source.contains(&format!("pytest(\"{name}\")")),
                "{name} is not run by cargo test"
            );
        }
    }
}
