//! The emulator's own tests (emulator/test_emulator.py: every layer behaviour over HTTP, on five
//! emulators of its own), run with the project's virtualenv so that `cargo test` covers them.

use crate::common;

#[test]
fn the_emulators_layers_behave_as_aws_documents() {
    common::ensure_installed();
    let script = common::project_root().join("emulator").join("test_emulator.py");
    let mut cmd = std::process::Command::new(common::venv().bin("python"));
    common::clean_env(&mut cmd);
    let out = cmd.arg(&script).output().unwrap();
    let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}
