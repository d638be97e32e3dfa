//! The emulator's own tests (emulator/test_*.py: every layer behaviour over HTTP, on five
//! emulators of their own), run by pytest from the project's virtualenv, so that `cargo test`
//! covers them.

use crate::common;

#[test]
fn the_emulators_layers_behave_as_aws_documents() {
    common::ensure_installed();
    let mut cmd = std::process::Command::new(common::venv().bin("python"));
    common::clean_env(&mut cmd);
    let out = cmd
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(common::project_root().join("emulator"))
        .output()
        .unwrap();
    let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains(" passed") && !text.contains(" failed"), "{text}");
}
