//! Tidy checks that run under `cargo test`: file headers, no panicking shortcuts in shipped code,
//! and a README and CI that say what the code does.

use std::fs;
use std::path::{Path, PathBuf};

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for krate in ["lab-core", "xtask"] {
        rust_files(&project_root().join(krate), &mut files);
    }
    assert!(files.len() > 10);
    files
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    for file in all_rust_files() {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//! "),
            "{} must open with a `//!` line",
            file.display()
        );
    }
}

/// Shipped code never unwraps or panics: clippy denies it (the workspace's lints, which every
/// crate takes), and CI runs clippy with `-D warnings`; unit tests in a `tests.rs` of their own
/// are compiled only under `#[cfg(test)]`.
#[test]
fn shipped_code_may_not_unwrap_or_panic() {
    let manifest = fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
    for lint in [
        "unwrap_used",
        "expect_used",
        "panic",
        "dbg_macro",
        "todo",
        "unimplemented",
    ] {
        assert!(manifest.contains(&format!("{lint} = \"deny\"")), "{lint} is not denied");
    }
    for krate in ["lab-core", "xtask"] {
        let own = fs::read_to_string(project_root().join(krate).join("Cargo.toml")).unwrap();
        assert!(
            own.contains("[lints]\nworkspace = true"),
            "{krate} does not take the workspace's lints"
        );
    }
    for file in all_rust_files() {
        let rel = file.strip_prefix(project_root()).unwrap();
        if !rel.starts_with("xtask/tests") && rel.file_name().is_some_and(|n| n == "tests.rs") {
            let parent = fs::read_to_string(file.with_file_name("mod.rs")).unwrap();
            assert!(parent.contains("#[cfg(test)]\nmod tests;"), "{}", rel.display());
        }
    }
}

#[test]
fn readme_names_every_task_and_ci_runs_the_readme_test_command() {
    let readme = fs::read_to_string(project_root().join("README.md")).unwrap();
    for task in ["setup", "assume", "verify", "cleanup", "demo", "emulator"] {
        assert!(
            readme.contains(&format!("cargo xtask {task}")),
            "README does not show `cargo xtask {task}`"
        );
    }
    let ci = fs::read_to_string(project_root().join(".ci/run")).unwrap();
    assert!(readme.contains("cargo test --workspace") && ci.contains("cargo test --workspace"));
    assert!(ci.contains("cargo fmt --check") && ci.contains("cargo clippy --all-targets -- -D warnings"));
}
